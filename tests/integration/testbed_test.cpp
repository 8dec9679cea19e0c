// The testbed itself (tests/support/testbed.hpp): two real API servers that store separately,
// authenticate the testbed's users, and can be stopped, paused and compacted on demand, each
// with a controller manager that finalizes deleted namespaces. Checked with kubectl and plain
// HTTP, independently of the project's client, plus tests that use the client fixture.
#include <chrono>
#include <exception>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/process.hpp"
#include "tests/support/testbed.hpp"
#include "tests/support/wait.hpp"

using namespace std::chrono_literals;
using bisync::testing::Auth;
using bisync::testing::CommandResult;
using bisync::testing::httpGet;
using bisync::testing::ProbeResult;
using bisync::testing::sharedTestbed;
using bisync::testing::Side;
using bisync::testing::Testbed;
using bisync::testing::uniqueName;
using bisync::testing::waitFor;

namespace {

ProbeResult getAs(Side side, const std::string& path, const std::string& token,
                  std::chrono::milliseconds timeout = 2s) {
  const auto& info = sharedTestbed().server(side);
  return httpGet(
      {.url = info.url + path, .caFile = info.caFile, .bearerToken = token, .timeout = timeout});
}

ProbeResult adminGet(Side side, const std::string& path, std::chrono::milliseconds timeout = 2s) {
  return getAs(side, path, sharedTestbed().users().adminToken, timeout);
}

std::string describe(const ProbeResult& r) {
  return r.status == 0 ? "no answer: " + r.error : std::to_string(r.status) + " " + r.body;
}

bool isReady(Side side, std::string& seen) {
  const ProbeResult r = adminGet(side, "/readyz", 1s);
  seen = describe(r);
  return r.status == 200;
}

// kubectl with a kubeconfig for `auth` (written into the testbed's folder).
CommandResult kubectlAs(Side side, Auth auth, const std::vector<std::string>& args) {
  Testbed& testbed = sharedTestbed();
  const auto path = testbed.dir() / (std::string(toString(side)) + "-auth-" +
                                     std::to_string(static_cast<int>(auth)) + ".kubeconfig");
  testbed.writeKubeconfig(side, auth, path);
  std::vector<std::string> argv = {"kubectl", "--kubeconfig=" + path.string(),
                                   "--cache-dir=" + (testbed.dir() / "kubectl-cache").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return bisync::testing::runCommand(argv);
}

// Leaves the server running whatever the test did to it, so tests stay independent.
struct KeepsRunning {
  Side side;
  ~KeepsRunning() {
    try {
      sharedTestbed().resume(side);
      sharedTestbed().start(side);
    } catch (const std::exception& e) {
      std::cerr << "could not bring " << toString(side) << " back: " << e.what() << "\n";
    }
  }
};

// Deletes a namespace made with kubectl at scope end, without waiting for the controller
// manager to finalize it.
struct KubectlNamespace {
  Side side;
  std::string name = uniqueName("it-testbed");
  ~KubectlNamespace() {
    sharedTestbed().kubectl(side,
                            {"delete", "namespace", name, "--wait=false", "--ignore-not-found"});
  }
};

}  // namespace

TEST_CASE("both API servers get ready and answer the admin", "[testbed]") {
  for (Side side : {Side::Source, Side::Target}) {
    INFO(toString(side) << " at " << sharedTestbed().server(side).url);
    std::string seen;
    CHECK(isReady(side, seen));
    INFO(seen);
    const CommandResult version = sharedTestbed().kubectl(side, {"get", "--raw", "/version"});
    REQUIRE(version.ok());
    auto document = bisync::kube::parseJson(version.out, "/version");
    REQUIRE(document);
    CHECK(bisync::kube::stringMember(*document, "gitVersion").starts_with("v1.20"));
  }
  CHECK(sharedTestbed().server(Side::Source).url != sharedTestbed().server(Side::Target).url);
}

TEST_CASE("an object created on the source does not exist on the target", "[testbed]") {
  Testbed& testbed = sharedTestbed();
  KubectlNamespace ns{Side::Source};
  const CommandResult created = testbed.kubectl(Side::Source, {"create", "namespace", ns.name});
  REQUIRE(created.ok());
  CHECK(testbed.kubectl(Side::Source, {"get", "namespace", ns.name}).ok());
  const CommandResult onTarget = testbed.kubectl(Side::Target, {"get", "namespace", ns.name});
  INFO(onTarget.summary());
  CHECK_FALSE(onTarget.ok());
  CHECK(onTarget.err.find("NotFound") != std::string::npos);
}

TEST_CASE("the viewer is authenticated without grants; token file and certificate are admin",
          "[testbed][auth]") {
  const CommandResult viewer = kubectlAs(Side::Source, Auth::ViewerToken, {"get", "namespaces"});
  INFO(viewer.summary());
  CHECK_FALSE(viewer.ok());
  CHECK(viewer.err.find("User \"viewer\" cannot list resource \"namespaces\"") !=
        std::string::npos);
  for (Auth auth : {Auth::AdminTokenFile, Auth::ClientCert}) {
    for (Side side : {Side::Source, Side::Target}) {
      const CommandResult can = kubectlAs(side, auth, {"auth", "can-i", "*", "*"});
      INFO(toString(side) << " auth " << static_cast<int>(auth) << ": " << can.summary());
      CHECK(can.ok());
      CHECK(can.out == "yes\n");
    }
  }
  const ProbeResult stranger = getAs(Side::Target, "/api/v1/namespaces", "not-a-known-token");
  INFO(describe(stranger));
  CHECK(stranger.status == 401);
}

TEST_CASE("a stopped side is down while the other serves; it restarts on its port with its data",
          "[testbed][outage]") {
  Testbed& testbed = sharedTestbed();
  KeepsRunning guard{Side::Source};
  KubectlNamespace ns{Side::Source};
  REQUIRE(testbed.kubectl(Side::Source, {"create", "namespace", ns.name}).ok());
  const std::string url = testbed.server(Side::Source).url;

  testbed.stop(Side::Source);
  CHECK_FALSE(testbed.running(Side::Source));
  const ProbeResult down = adminGet(Side::Source, "/readyz");
  INFO(describe(down));
  CHECK(down.status == 0);
  std::string seen;
  CHECK(isReady(Side::Target, seen));
  CHECK(testbed.kubectl(Side::Target, {"get", "namespace", "default"}).ok());

  testbed.start(Side::Source);
  CHECK(testbed.running(Side::Source));
  CHECK(testbed.server(Side::Source).url == url);
  // Same serving certificate (the kubeconfig's CA still verifies it) and the same etcd prefix.
  const CommandResult after = testbed.kubectl(Side::Source, {"get", "namespace", ns.name});
  INFO(after.summary());
  CHECK(after.ok());
}

TEST_CASE("a paused server answers nothing until it is resumed", "[testbed][outage]") {
  Testbed& testbed = sharedTestbed();
  KeepsRunning guard{Side::Target};
  testbed.pause(Side::Target);
  const ProbeResult paused = adminGet(Side::Target, "/readyz", 1s);
  INFO(describe(paused));
  CHECK(paused.status == 0);
  std::string seen;
  CHECK(isReady(Side::Source, seen));
  testbed.resume(Side::Target);
  REQUIRE(waitFor("target answers /readyz after SIGCONT", 10s,
                  [](std::string& s) { return isReady(Side::Target, s); }));
}

TEST_CASE("an outage in the background takes a server down and brings it back",
          "[testbed][outage]") {
  Testbed& testbed = sharedTestbed();
  KeepsRunning guard{Side::Target};
  auto outage = testbed.outageInBackground(Side::Target, 2s);
  REQUIRE(waitFor(
      "target is down", 10s, [](std::string& s) { return !isReady(Side::Target, s); }, 50ms));
  REQUIRE(outage.wait_for(60s) == std::future_status::ready);
  outage.get();
  std::string seen;
  CHECK(isReady(Side::Target, seen));
  INFO(seen);
}

TEST_CASE("compacting etcd makes older resourceVersions 410 Gone", "[testbed][etcd]") {
  Testbed& testbed = sharedTestbed();
  const ProbeResult list = adminGet(Side::Source, "/api/v1/namespaces");
  REQUIRE(list.status == 200);
  auto document = bisync::kube::parseJson(list.body, "namespace list");
  REQUIRE(document);
  const std::string old(bisync::kube::stringAt(*document, "/metadata/resourceVersion"));
  REQUIRE_FALSE(old.empty());
  KubectlNamespace ns{Side::Source};  // a write, so the list's version is no longer the newest
  REQUIRE(testbed.kubectl(Side::Source, {"create", "namespace", ns.name}).ok());

  const std::int64_t revision = testbed.compactEtcd();
  CHECK(revision > std::stoll(old));
  // An Exact list is served by etcd even with the watch cache on.
  const std::string exact = "/api/v1/namespaces?resourceVersionMatch=Exact&resourceVersion=";
  const ProbeResult gone = adminGet(Side::Source, exact + old);
  INFO(describe(gone));
  CHECK(gone.status == 410);
  const ProbeResult current = adminGet(Side::Source, exact + std::to_string(revision));
  INFO(describe(current));
  CHECK(current.status == 200);
  CHECK(testbed.compactEtcd() >= revision);  // again, maybe with nothing new: not an error
}

TEST_CASE("the servers recover after etcd stops and starts again", "[testbed][etcd]") {
  Testbed& testbed = sharedTestbed();
  testbed.stopEtcd();
  CHECK(waitFor("source reports etcd unready", 30s,
                [](std::string& s) { return !isReady(Side::Source, s); }));
  testbed.startEtcd();
  for (Side side : {Side::Source, Side::Target}) {
    CHECK(waitFor(std::string(toString(side)) + " is ready again", 60s,
                  [side](std::string& s) { return isReady(side, s); }));
  }
}

TEST_CASE("the kube fixture's clients create and delete scoped namespaces", "[testbed][client]") {
  namespace kube = bisync::kube;
  bisync::testing::KubeFixture fixture;
  std::string name;
  {
    auto ns = fixture.makeNamespace(Side::Source, "fixture");
    name = ns.name();
    auto onSource = fixture.run(fixture.source().get(kube::resources::namespaces(), "", name));
    INFO((onSource ? "found" : onSource.error().describe()));
    CHECK(onSource);
    auto onTarget = fixture.run(fixture.target().get(kube::resources::namespaces(), "", name));
    REQUIRE_FALSE(onTarget);
    CHECK(onTarget.error().isNotFound());
  }
  auto after = fixture.run(fixture.source().get(kube::resources::namespaces(), "", name));
  const bool deleting = !after ? after.error().isNotFound()
                               : bisync::kube::stringAt(*after, "/status/phase") == "Terminating";
  INFO((after ? bisync::kube::toJson(*after) : after.error().describe()));
  CHECK(deleting);
}

TEST_CASE("a deleted namespace is finalized and disappears on both sides",
          "[testbed][controller-manager]") {
  namespace kube = bisync::kube;
  bisync::testing::KubeFixture fixture;
  Testbed& testbed = fixture.testbed();
  const kube::ResourceInfo namespaces = kube::resources::namespaces();
  const kube::ResourceInfo configMaps = kube::resources::configMaps();
  const std::string name = uniqueName("it-finalize");
  for (Side side : {Side::Source, Side::Target}) {
    INFO(toString(side) << " namespace " << name);
    REQUIRE(testbed.controllerManagerRunning(side));
    kube::Client& client = fixture.client(side);
    auto created =
        fixture.run(client.create(namespaces, "", bisync::testing::namespaceObject(name)));
    INFO((created ? "created" : created.error().describe()));
    REQUIRE(created);
    // Content, so that the namespace controller has something to delete before it finalizes.
    auto content = fixture.run(client.create(
        configMaps, name, bisync::testing::configMapObject(name, "content", "key", "1")));
    INFO((content ? "created" : content.error().describe()));
    REQUIRE(content);
  }
  for (Side side : {Side::Source, Side::Target}) {
    auto removed = fixture.run(fixture.client(side).remove(namespaces, "", name));
    INFO(toString(side) << ": " << (removed ? "deleted" : removed.error().describe()));
    REQUIRE(removed);
  }
  for (Side side : {Side::Source, Side::Target}) {
    kube::Client& client = fixture.client(side);
    const auto gone = waitFor(
        std::string(toString(side)) + " namespace " + name + " is gone", 60s,
        [&](std::string& seen) {
          auto got = fixture.run(client.get(namespaces, "", name));
          if (got) {
            seen = "still there: " + kube::toJson(*got);
            return false;
          }
          seen = got.error().describe();
          return got.error().isNotFound();
        },
        250ms);
    INFO("--- controller manager log (tail) ---\n" << testbed.controllerManagerLogTail(side));
    REQUIRE(gone);
    auto configMap = fixture.run(client.get(configMaps, name, "content"));
    INFO((configMap ? kube::toJson(*configMap) : configMap.error().describe()));
    REQUIRE_FALSE(configMap);
    CHECK(configMap.error().isNotFound());
  }
}
