// The testbed itself (tests/support/testbed.hpp): two real API servers that store separately,
// authenticate the testbed's users, and can be stopped, paused and compacted on demand, each
// with a controller manager that finalizes deleted namespaces. Checked with kubectl and plain
// HTTP, independently of the project's client, plus tests that use the client fixture. The
// workload pieces (the target's kube-scheduler, the source's virtual-cluster controllers, the
// NodeSimulator) run on a second testbed of their own (kWorkloadFeatures).
#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/node_simulator.hpp"
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

// The workload pieces (kWorkloadFeatures: the target's kube-scheduler, the source's
// virtual-cluster controllers) with a NodeSimulator, on a testbed of their own.
namespace {

namespace kube = bisync::kube;
using bisync::testing::kWorkloadFeatures;
using bisync::testing::LoopClient;
using bisync::testing::LoopThread;
using bisync::testing::NodeSimulator;
using bisync::testing::NodeSimulatorOptions;
using bisync::testing::ScopedNamespace;

kube::Json parsed(std::string_view text) {
  auto json = kube::parseJson(text, "test object");
  REQUIRE(json);
  return std::move(*json);
}

void setName(kube::Json& object, const std::string& ns, const std::string& name) {
  kube::JsonPointer("/metadata/name").Set(object, name);
  kube::JsonPointer("/metadata/namespace").Set(object, ns);
}

kube::Json podObject(const std::string& ns, const std::string& name) {
  kube::Json pod = parsed(R"({"apiVersion": "v1", "kind": "Pod",
      "spec": {"containers": [{"name": "web", "image": "nginx:1.19"},
                              {"name": "sidecar", "image": "busybox:1.32"}]}})");
  setName(pod, ns, name);
  return pod;
}

kube::ResourceInfo pods() {
  return {.group = "",
          .version = "v1",
          .resource = "pods",
          .kind = "Pod",
          .namespaced = true,
          .statusSubresource = true};
}

// A source and a target client of the workload testbed.
struct WorkloadScene {
  bisync::testing::Testbed& bed = bisync::testing::sharedTestbed(kWorkloadFeatures);
  LoopThread loop;
  LoopClient source{loop, bed.restConfig(Side::Source)};
  LoopClient target{loop, bed.restConfig(Side::Target)};

  std::optional<kube::Json> get(LoopClient& client, const kube::ResourceInfo& resource,
                                const std::string& ns, const std::string& name, std::string& seen) {
    auto got = client.run(client->get(resource, ns, name));
    seen = got ? kube::toJson(*got) : got.error().describe();
    return got ? std::optional<kube::Json>(std::move(*got)) : std::nullopt;
  }
};

bool hasCondition(const kube::JsonValue& object, std::string_view type, std::string_view status) {
  const kube::JsonValue* conditions = kube::at(object, "/status/conditions");
  if (conditions == nullptr || !conditions->IsArray()) return false;
  for (const kube::JsonValue& c : conditions->GetArray()) {
    if (kube::stringMember(c, "type") == type) return kube::stringMember(c, "status") == status;
  }
  return false;
}

std::string conditionField(const kube::JsonValue& node, std::string_view type,
                           std::string_view field) {
  const kube::JsonValue* conditions = kube::at(node, "/status/conditions");
  if (conditions == nullptr || !conditions->IsArray()) return {};
  for (const kube::JsonValue& c : conditions->GetArray()) {
    if (kube::stringMember(c, "type") == type) return std::string(kube::stringMember(c, field));
  }
  return {};
}

// The Pod `name` once it runs on one of `nodes` with a pod IP.
kube::Json waitRunning(WorkloadScene& scene, const NodeSimulator& nodes, const std::string& ns,
                       const std::string& name) {
  const kube::ResourceInfo resource = pods();
  std::optional<kube::Json> running;
  REQUIRE(waitFor(name + " runs on a simulated node with a pod IP", 30s, [&](std::string& seen) {
    running = scene.get(scene.target, resource, ns, name, seen);
    if (!running) return false;
    const auto& names = nodes.nodeNames();
    const std::string node(kube::stringAt(*running, "/spec/nodeName"));
    return std::find(names.begin(), names.end(), node) != names.end() &&
           kube::stringAt(*running, "/status/phase") == "Running" &&
           !kube::stringAt(*running, "/status/podIP").empty();
  }));
  return std::move(*running);
}

}  // namespace

TEST_CASE("a target Pod is scheduled by kube-scheduler onto a simulated node and runs",
          "[testbed][workloads][scheduler]") {
  WorkloadScene scene;
  REQUIRE(scene.bed.schedulerRunning());
  NodeSimulator nodes(scene.bed, NodeSimulatorOptions{.nodes = 2, .namePrefix = "tb-run-"});
  nodes.start();
  REQUIRE(nodes.nodeNames() == std::vector<std::string>{"tb-run-1", "tb-run-2"});
  const kube::ResourceInfo nodeResource{
      .group = "", .version = "v1", .resource = "nodes", .kind = "Node", .namespaced = false};
  for (const std::string& name : nodes.nodeNames()) {
    std::string seen;
    CHECK(scene.get(scene.target, nodeResource, "", name, seen));
  }
  ScopedNamespace ns(scene.loop, *scene.target, "it-run");
  const kube::Json pod = podObject(ns.name(), "web");
  const kube::ResourceInfo resource = pods();
  auto created = scene.target.run(scene.target->create(resource, ns.name(), pod));
  REQUIRE(created);

  const kube::Json running = waitRunning(scene, nodes, ns.name(), "web");
  INFO(kube::toJson(running));
  CHECK(kube::stringAt(running, "/status/podIP") == nodes.podIP(ns.name(), "web"));
  CHECK(kube::stringAt(running, "/status/podIPs/0/ip") == nodes.podIP(ns.name(), "web"));
  CHECK(kube::stringAt(running, "/status/hostIP").starts_with("10.0.0."));
  CHECK(kube::stringAt(running, "/status/qosClass") == "BestEffort");
  for (std::string_view type : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
    CHECK(hasCondition(running, type, "True"));
  }
  const kube::JsonValue* statuses = kube::at(running, "/status/containerStatuses");
  REQUIRE(statuses != nullptr);
  REQUIRE(statuses->Size() == 2);
  for (const kube::JsonValue& status : statuses->GetArray()) {
    CHECK(status["ready"].GetBool());
    CHECK(kube::at(status, "/state/running/startedAt") != nullptr);
    CHECK(kube::stringMember(status, "containerID").starts_with("containerd://"));
    CHECK(!kube::stringMember(status, "imageID").empty());
  }
  CHECK(nodes.podStatusWrites(std::string(kube::stringAt(running, "/spec/nodeName"))) == 1);

  // The scheduler's Scheduled Event and the simulated kubelet's Started Events, about this Pod.
  const kube::ResourceInfo events = kube::resources::events();
  REQUIRE(waitFor("Scheduled and Started Events about the Pod", 10s, [&](std::string& seen) {
    auto listed = scene.target.run(scene.target->list(events, ns.name()));
    if (!listed) return false;
    std::set<std::string> reasons;
    for (const kube::JsonValue& event : listed->items().GetArray()) {
      if (kube::stringAt(event, "/involvedObject/uid") == kube::uidOf(running)) {
        reasons.insert(std::string(kube::stringMember(event, "reason")));
      }
    }
    seen = std::to_string(reasons.size()) + " reasons";
    return reasons.contains("Scheduled") && reasons.contains("Started") &&
           reasons.contains("Pulled");
  }));
}

TEST_CASE("simulated heartbeats renew the node Lease and lastHeartbeatTime only",
          "[testbed][workloads][heartbeat]") {
  WorkloadScene scene;
  NodeSimulator nodes(
      scene.bed,
      NodeSimulatorOptions{.nodes = 1, .namePrefix = "tb-beat-", .heartbeatInterval = 1000ms});
  nodes.start();
  const std::string name = nodes.nodeNames().front();
  const kube::ResourceInfo nodeResource{
      .group = "", .version = "v1", .resource = "nodes", .kind = "Node", .namespaced = false};
  const kube::ResourceInfo leaseResource{
      .group = "coordination.k8s.io", .version = "v1", .resource = "leases", .kind = "Lease"};
  std::string seen;
  const auto node = scene.get(scene.target, nodeResource, "", name, seen);
  const auto lease = scene.get(scene.target, leaseResource, "kube-node-lease", name, seen);
  REQUIRE(node);
  REQUIRE(lease);
  CHECK(kube::at(*node, "/spec/taints") == nullptr);  // schedulable: not-ready taint removed
  CHECK(kube::stringAt(*node, "/metadata/labels/kubernetes.io~1hostname") == name);
  CHECK(kube::stringAt(*node, "/status/addresses/0/type") == "InternalIP");
  CHECK(kube::stringAt(*node, "/status/capacity/pods") == "110");
  CHECK(hasCondition(*node, "Ready", "True"));
  const std::string heartbeat = conditionField(*node, "Ready", "lastHeartbeatTime");
  const std::string transition = conditionField(*node, "Ready", "lastTransitionTime");
  const std::string renew(kube::stringAt(*lease, "/spec/renewTime"));
  const std::uint64_t writes = nodes.nodeStatusWrites(name);

  REQUIRE(waitFor("a new lastHeartbeatTime and Lease renewTime", 5s, [&](std::string& s) {
    const auto now = scene.get(scene.target, nodeResource, "", name, s);
    const auto nowLease = scene.get(scene.target, leaseResource, "kube-node-lease", name, s);
    return now && nowLease && conditionField(*now, "Ready", "lastHeartbeatTime") != heartbeat &&
           kube::stringAt(*nowLease, "/spec/renewTime") != renew;
  }));
  const auto after = scene.get(scene.target, nodeResource, "", name, seen);
  REQUIRE(after);
  CHECK(conditionField(*after, "Ready", "lastTransitionTime") == transition);
  CHECK(conditionField(*after, "Ready", "status") == "True");
  CHECK(nodes.nodeStatusWrites(name) > writes);

  nodes.setNodeReady(name, false);
  const auto notReady = scene.get(scene.target, nodeResource, "", name, seen);
  REQUIRE(notReady);
  CHECK(hasCondition(*notReady, "Ready", "False"));
}

TEST_CASE("an evicted Pod is deleted after the grace the simulator saw; a failed Pod is Failed",
          "[testbed][workloads][eviction]") {
  WorkloadScene scene;
  NodeSimulator nodes(scene.bed, NodeSimulatorOptions{.nodes = 1, .namePrefix = "tb-evict-"});
  nodes.start();
  ScopedNamespace ns(scene.loop, *scene.target, "it-evict");
  const kube::ResourceInfo resource = pods();
  for (const std::string name : {"evicted", "failed"}) {
    const kube::Json pod = podObject(ns.name(), name);
    REQUIRE(scene.target.run(scene.target->create(resource, ns.name(), pod)));
  }
  const kube::Json running = waitRunning(scene, nodes, ns.name(), "evicted");
  waitRunning(scene, nodes, ns.name(), "failed");

  nodes.evictPod(ns.name(), "evicted");
  REQUIRE(waitFor("the evicted Pod is gone", 10s, [&](std::string& seen) {
    auto got = scene.target.run(scene.target->get(resource, ns.name(), "evicted"));
    seen = got ? std::string(kube::stringAt(*got, "/metadata/deletionTimestamp"))
               : got.error().describe();
    return !got && got.error().isNotFound();
  }));
  CHECK(nodes.observedGracePeriod(ns.name(), "evicted") == 30);  // terminationGracePeriodSeconds

  nodes.failPod(ns.name(), "failed", "OOMKilled", "simulated: out of memory");
  std::string seen;
  const auto failed = scene.get(scene.target, resource, ns.name(), "failed", seen);
  REQUIRE(failed);
  INFO(seen);
  CHECK(kube::stringAt(*failed, "/status/phase") == "Failed");
  CHECK(kube::stringAt(*failed, "/status/reason") == "OOMKilled");
  CHECK(hasCondition(*failed, "Ready", "False"));
  CHECK(kube::at(*failed, "/status/containerStatuses/0/state/terminated") != nullptr);
  // Deleted (no kubelet on the target would finish it) before the simulator stops.
  REQUIRE(scene.target.run(scene.target->remove(resource, ns.name(), "failed")));
  REQUIRE(waitFor("the failed Pod is gone", 10s, [&](std::string& s) {
    auto got = scene.target.run(scene.target->get(resource, ns.name(), "failed"));
    s = got ? "still there" : got.error().describe();
    return !got && got.error().isNotFound();
  }));
}

TEST_CASE("a source Deployment of 2 replicas gets 2 Pending Pods from the real controllers",
          "[testbed][workloads][virtual-cluster]") {
  WorkloadScene scene;
  ScopedNamespace ns(scene.loop, *scene.source, "it-deploy");
  // The ServiceAccount admission plugin refuses Pods until the account and its token exist.
  scene.bed.waitForDefaultServiceAccount(Side::Source, ns.name());
  kube::Json deployment = parsed(R"({"apiVersion": "apps/v1", "kind": "Deployment",
      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx:1.19"}]}}}})");
  setName(deployment, ns.name(), "web");
  const kube::ResourceInfo deployments{
      .group = "apps", .version = "v1", .resource = "deployments", .kind = "Deployment"};
  auto created = scene.source.run(scene.source->create(deployments, ns.name(), deployment));
  INFO((created ? "created" : created.error().describe()));
  REQUIRE(created);

  const kube::ResourceInfo resource = pods();
  std::optional<kube::ListResult> listed;
  REQUIRE(waitFor("2 Pods of the Deployment", 20s, [&](std::string& seen) {
    auto got = scene.source.run(scene.source->list(resource, ns.name()));
    seen = got ? std::to_string(got->items().Size()) + " Pods" : got.error().describe();
    if (got && got->items().Size() == 2) listed = std::move(*got);
    return listed.has_value();
  }));
  for (const kube::JsonValue& pod : listed->items().GetArray()) {
    INFO(kube::toJson(pod));
    CHECK(kube::stringAt(pod, "/metadata/ownerReferences/0/kind") == "ReplicaSet");
    CHECK(kube::stringAt(pod, "/spec/nodeName").empty());  // no scheduler on the source
    CHECK(kube::stringAt(pod, "/status/phase") == "Pending");
    CHECK(kube::stringAt(pod, "/spec/serviceAccountName") == "default");
    CHECK(kube::stringAt(pod, "/spec/volumes/0/secret/secretName").starts_with("default-token-"));
  }
}

TEST_CASE("a source TokenRequest token authenticates on the source and not on the target",
          "[testbed][workloads][tokens]") {
  WorkloadScene scene;
  ScopedNamespace ns(scene.loop, *scene.source, "it-token");
  scene.bed.waitForDefaultServiceAccount(Side::Source, ns.name());
  const kube::ResourceInfo tokenRequests{.group = "",
                                         .version = "v1",
                                         .resource = "serviceaccounts/default/token",
                                         .kind = "TokenRequest"};
  const kube::Json request = parsed(R"({"apiVersion": "authentication.k8s.io/v1",
      "kind": "TokenRequest", "spec": {"expirationSeconds": 600}})");
  auto issued = scene.source.run(scene.source->create(tokenRequests, ns.name(), request));
  INFO((issued ? "issued" : issued.error().describe()));
  REQUIRE(issued);
  const std::string token(kube::stringAt(*issued, "/status/token"));
  REQUIRE(!token.empty());

  const kube::ResourceInfo tokenReviews{.group = "authentication.k8s.io",
                                        .version = "v1",
                                        .resource = "tokenreviews",
                                        .kind = "TokenReview",
                                        .namespaced = false};
  kube::Json review = parsed(R"({"apiVersion": "authentication.k8s.io/v1",
      "kind": "TokenReview", "spec": {}})");
  kube::JsonPointer("/spec/token").Set(review, token);
  for (Side side : {Side::Source, Side::Target}) {
    LoopClient& client = side == Side::Source ? scene.source : scene.target;
    auto reviewed = client.run(client->create(tokenReviews, "", review));
    REQUIRE(reviewed);
    INFO(toString(side) << ": " << kube::toJson(*reviewed));
    const kube::JsonValue* authenticated = kube::at(*reviewed, "/status/authenticated");
    const bool yes =
        authenticated != nullptr && authenticated->IsBool() && authenticated->GetBool();
    CHECK(yes == (side == Side::Source));
    if (side == Side::Source) {
      CHECK(kube::stringAt(*reviewed, "/status/user/username") ==
            "system:serviceaccount:" + ns.name() + ":default");
    }
  }
  for (Side side : {Side::Source, Side::Target}) {
    const auto& info = scene.bed.server(side);
    const ProbeResult discovery =
        httpGet({.url = info.url + "/api", .caFile = info.caFile, .bearerToken = token});
    INFO(toString(side) << ": " << describe(discovery));
    CHECK(discovery.status == (side == Side::Source ? 200 : 401));
  }
}
