// Attacks on what the daemon may touch, each made for real against the testbed and each test
// named after what it prevents (issue "Safety first", docs/security.md): objects and namespaces
// forged to look like the daemon's, annotations a tenant writes, host objects that must stay on
// the host, a second instance on the same host, and the ownership record's proof that makes the
// difference. The daemon runs as a real process; "nothing happens" windows say so in their names.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::configMap;
using bisync::testing::DaemonProcess;
using bisync::testing::describe;
using bisync::testing::holdsThroughout;
using bisync::testing::kManagedBy;
using bisync::testing::kReadyLine;
using bisync::testing::lookup;
using bisync::testing::ScopedNamespace;
using bisync::testing::secret;
using bisync::testing::Side;
using bisync::testing::StringMap;
using bisync::testing::stringMapAt;
using bisync::testing::SyncScene;
using bisync::testing::viewOf;
using bisync::testing::Views;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

constexpr auto kQuietWindow = 5s;

// A ConfigMap `ns`/`name` dressed up as the daemon's copy of source `sourceNs`/`sourceName`:
// every origin label and annotation of `cluster`, consistent with each other.
kube::Json forgedCopy(const std::string& ns, const std::string& name, const std::string& cluster,
                      const std::string& sourceNs, const std::string& sourceName,
                      const std::string& sourceUid) {
  kube::Json object = configMap(ns, name, {{"k", "forged"}});
  const auto set = [&object](const std::string& pointer, const std::string& value) {
    kube::JsonPointer(pointer.c_str()).Set(object, value.c_str());
  };
  set("/metadata/labels/kube-bisync.io~1managed-by", cluster);
  set("/metadata/labels/kube-bisync.io~1source-namespace", sourceNs);
  set("/metadata/labels/kube-bisync.io~1source-name", sourceName);
  set("/metadata/annotations/kube-bisync.io~1source-cluster", cluster);
  set("/metadata/annotations/kube-bisync.io~1source-namespace", sourceNs);
  set("/metadata/annotations/kube-bisync.io~1source-name", sourceName);
  set("/metadata/annotations/kube-bisync.io~1source-uid", sourceUid);
  return object;
}

// The object `ns`/`name` of `resource` on `side` (nullopt when absent or unreadable; `seen`
// says which).
std::optional<kube::Json> getObject(SyncScene& scene, Side side, const kube::ResourceInfo& resource,
                                    const std::string& ns, const std::string& name,
                                    std::string& seen) {
  auto object = scene.api().run(scene.api().client(side).get(resource, ns, name));
  if (!object) {
    seen += " " + ns + "/" + name + ": " + object.error().describe() + ";";
    return std::nullopt;
  }
  seen += " " + ns + "/" + name + ": " + describe(viewOf(*object)) + ";";
  return std::move(*object);
}

// True when `ns`/`name` is gone from `side` (a failed read is not "gone").
bool gone(SyncScene& scene, Side side, const kube::ResourceInfo& resource, const std::string& ns,
          const std::string& name, std::string& seen) {
  auto object = scene.api().run(scene.api().client(side).get(resource, ns, name));
  seen += " " + ns + "/" + name + ": " + (object ? "present" : object.error().describe()) + ";";
  return !object && object.error().isNotFound();
}

// True while `ns`/`name` on the target is exactly the version `resourceVersion`.
bool unchanged(SyncScene& scene, const kube::ResourceInfo& resource, const std::string& ns,
               const std::string& name, const std::string& resourceVersion, std::string& seen) {
  auto object = getObject(scene, Side::Target, resource, ns, name, seen);
  return object && kube::resourceVersionOf(*object) == resourceVersion;
}

// The daemon's flags for `scene`, syncing only source namespace `ns`.
std::vector<std::string> argsFor(const SyncScene& scene, const std::string& ns,
                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = scene.daemonArgs(extra);
  const auto flag = std::find(args.begin(), args.end(), "--namespaces");
  *(flag + 1) = ns;
  return args;
}

// A scene whose daemon runs with --policies: `policies` maps file names to SyncPolicy text.
class PolicyScene : public SyncScene {
 public:
  PolicyScene(std::string_view prefix,
              const std::vector<std::pair<std::string, std::string>>& files)
      : SyncScene(prefix), dir_(std::filesystem::temp_directory_path(), "policies-") {
    for (const auto& [file, text] : files) std::ofstream(dir_.path() / file) << text;
  }
  bisync::testing::DaemonOptions daemon() const {
    return {BISYNC_DAEMON_BINARY, daemonArgs({"--policies", dir_.path().string()})};
  }

 private:
  bisync::testing::TempDir dir_;
};

// A bidirectional policy for `kind` (ConfigMap or Secret) with createOnSource: content from the
// source, labels shared (newest wins).
std::string createOnSourcePolicy(const std::string& kind) {
  const std::string content = kind == "Secret" ? "  - {path: /type, owner: source}\n"
                                                 "  - {path: /data, owner: source}\n"
                                               : "  - {path: /data, owner: source}\n";
  return "apiVersion: kube-bisync.io/v1alpha1\nkind: SyncPolicy\n"
         "resource: {group: \"\", version: v1, kind: " +
         kind +
         "}\n"
         "direction: bidirectional\ncreateOnSource: true\nfields:\n" +
         content +
         "  - {path: /metadata/labels/*, owner: both, onConflict: newest-wins}\n"
         "  - {path: /metadata/annotations/*, owner: source}\n";
}

// `object` alone, for tryCreateAll (documents cannot be copied into an initializer list).
std::vector<kube::Json> only(kube::Json object) {
  std::vector<kube::Json> objects;
  objects.push_back(std::move(object));
  return objects;
}

#define REQUIRE_READY(daemon) REQUIRE((daemon).waitForLog(kReadyLine, 60s))

}  // namespace

TEST_CASE("a host object forged to look like a copy, outside our namespaces, is never deleted",
          "[ownership]") {
  SyncScene scene("forge");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const auto created = scene.tryCreateAll(cms, only(configMap(scene.ns(), "victim", {{"k", "v"}})));
  REQUIRE(created);
  // A host user's namespace, and in it an object carrying the origin metadata of the daemon's
  // copy of "victim", down to the source uid.
  ScopedNamespace host(scene.api().loop(), scene.api().target(), "host");
  const std::string uid = created->at("victim").uid;
  auto forged = scene.tryCreate(
      Side::Target, cms,
      forgedCopy(host.name(), "victim", scene.cluster(), scene.ns(), "victim", uid));
  REQUIRE(forged);
  const std::string forgedVersion(kube::resourceVersionOf(*forged));

  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE_READY(daemon);
  // Ready means the initial sync is done: the namespace it had to create first included.
  std::string atReady;
  CHECK(getObject(scene, Side::Target, cms, scene.targetNs(), "victim", atReady));
  INFO(atReady);
  REQUIRE(waitForCopies(daemon, scene, cms, *created, 30s));
  // The source goes: its real copy goes, the forged one stays.
  REQUIRE(scene.tryRemove(cms, scene.ns(), "victim"));
  REQUIRE(waitLogged(daemon, "the real copy is deleted", 30s, [&](std::string& seen) {
    return gone(scene, Side::Target, cms, scene.targetNs(), "victim", seen);
  }));
  // A restart garbage-collects copies whose source is gone: it sees only namespaces of ours.
  REQUIRE(daemon.terminate() == "exited with status 0");
  daemon.start();
  REQUIRE_READY(daemon);
  CHECK(holdsThroughout("quiet window: the forged object keeps its resourceVersion", kQuietWindow,
                        [&](std::string& seen) {
                          return unchanged(scene, cms, host.name(), "victim", forgedVersion, seen);
                        }));
  CHECK(daemon.countLog(host.name()) == 0);  // never even looked at
}

TEST_CASE(
    "a tenant secret never lands in a host namespace we did not create, even if it carries our "
    "label",
    "[ownership]") {
  SyncScene scene("squat");
  const kube::ResourceInfo secrets = kube::resources::secrets();
  // A host user takes the target namespace's name first and dresses it up as the daemon's.
  REQUIRE(scene.tryCreateTargetNamespace(scene.targetNs(), false));
  const std::string labels = std::string(R"({"metadata":{"labels":{")") + kManagedBy + R"(":")" +
                             scene.cluster() + R"(","kube-bisync.io/source-namespace":")" +
                             scene.ns() + R"("},"annotations":{"kube-bisync.io/source-cluster":")" +
                             scene.cluster() + R"(","kube-bisync.io/source-namespace":")" +
                             scene.ns() + R"("}}})";
  REQUIRE(scene.api().run(scene.api().target().patch(
      kube::resources::namespaces(), "", scene.targetNs(), kube::PatchType::Merge, labels)));
  REQUIRE(scene.tryCreate(Side::Source, secrets,
                          secret(scene.ns(), "db-password", "Opaque", {{"password", "hunter2"}})));

  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE_READY(daemon);
  REQUIRE(
      waitLogged(daemon, "a NameClash Event on the source namespace", 30s, [&](std::string& seen) {
        return scene.countEvents(Side::Source, "default", "NameClash", scene.ns(), seen) > 0;
      }));
  CHECK(holdsThroughout("quiet window: no secret lands in the squatted namespace", kQuietWindow,
                        [&](std::string& seen) {
                          auto listed = scene.list(Side::Target, secrets, scene.targetNs(), seen);
                          if (!listed) return false;
                          seen = std::to_string(listed->size()) + " secret(s) there";
                          return !listed->contains("db-password");
                        }));
  CHECK(daemon.countLog("was not created by " + scene.cluster()) >= 1);
  CHECK(daemon.log().find("hunter2") == std::string::npos);
}

TEST_CASE("narrowing --namespaces deletes our copies but never a host object we do not own",
          "[ownership]") {
  SyncScene scene("narrow", 3);
  const kube::ResourceInfo cms = kube::resources::configMaps();
  std::vector<Views> sources;
  for (std::size_t i = 0; i < 3; ++i) {
    auto made = scene.tryCreateAll(cms, bisync::testing::numberedConfigMaps(scene.ns(i), 3, "v"));
    REQUIRE(made);
    sources.push_back(*made);
  }
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE_READY(daemon);
  for (std::size_t i = 0; i < 3; ++i)
    REQUIRE(waitForCopies(daemon, scene, cms, sources[i], 30s, i));
  // In the daemon's namespace 1, a host user's object, and one forged as the copy of a source
  // from namespace 0 (consistent labels, but it is not where that source maps to).
  auto hostOwned = scene.tryCreate(Side::Target, cms,
                                   configMap(scene.targetNs(1), "host-owned", {{"k", "host"}}));
  REQUIRE(hostOwned);
  const std::string victimUid = sources[0].at("cm-000").uid;
  auto forged = scene.tryCreate(Side::Target, cms,
                                forgedCopy(scene.targetNs(1), "misplaced", scene.cluster(),
                                           scene.ns(0), "cm-000", victimUid));
  REQUIRE(forged);

  REQUIRE(daemon.terminate() == "exited with status 0");
  DaemonProcess narrowed(scene.testbed(), {BISYNC_DAEMON_BINARY, argsFor(scene, scene.ns(0))});
  REQUIRE_READY(narrowed);
  // Our copies in namespaces 1 and 2 go; namespace 2 held nothing else, so it goes too.
  REQUIRE(waitLogged(narrowed, "the copies in the dropped namespaces are deleted", 60s,
                     [&](std::string& seen) {
                       for (std::size_t i = 1; i < 3; ++i) {
                         for (const auto& [name, view] : sources[i]) {
                           if (!gone(scene, Side::Target, cms, scene.targetNs(i), name, seen)) {
                             return false;
                           }
                         }
                       }
                       return true;
                     }));
  REQUIRE(waitLogged(narrowed, "namespace 2, empty of anything else, is deleted", 60s,
                     [&](std::string& seen) {
                       auto ns = getObject(scene, Side::Target, kube::resources::namespaces(), "",
                                           scene.targetNs(2), seen);
                       return !ns || kube::at(*ns, "/metadata/deletionTimestamp") != nullptr;
                     }));
  // Namespace 1 is kept, and says why.
  REQUIRE(
      waitLogged(narrowed, "a NamespaceKept Event about namespace 1", 30s, [&](std::string& seen) {
        return scene.countEvents(Side::Target, "default", "NamespaceKept", scene.targetNs(1),
                                 seen) > 0;
      }));
  std::string seen;
  auto kept =
      getObject(scene, Side::Target, kube::resources::namespaces(), "", scene.targetNs(1), seen);
  REQUIRE(kept);
  CHECK(kube::at(*kept, "/metadata/deletionTimestamp") == nullptr);
  CHECK(narrowed.countLog("configmaps/host-owned") >= 1);
  // The host's objects are as they were; namespace 0 is synced as before.
  CHECK(unchanged(scene, cms, scene.targetNs(1), "host-owned",
                  std::string(kube::resourceVersionOf(*hostOwned)), seen));
  CHECK(unchanged(scene, cms, scene.targetNs(1), "misplaced",
                  std::string(kube::resourceVersionOf(*forged)), seen));
  INFO(seen);
  CHECK(waitForCopies(narrowed, scene, cms, sources[0], 10s, 0));
}

TEST_CASE("a created-from-target annotation written by the tenant does not adopt a host object",
          "[ownership]") {
  PolicyScene scene("adopt", {{"configmaps.yaml", createOnSourcePolicy("ConfigMap")}});
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const auto anchor = scene.tryCreateAll(cms, only(configMap(scene.ns(), "anchor", {{"k", "v"}})));
  REQUIRE(anchor);
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE(waitForCopies(daemon, scene, cms, *anchor, 30s));
  // A host controller distributes a ConfigMap into every namespace, the daemon's included.
  auto host = scene.tryCreate(Side::Target, cms,
                              configMap(scene.targetNs(), "registry", {{"url", "host.example"}}));
  REQUIRE(host);
  // The tenant writes an object of that name claiming it was copied up from the host.
  kube::Json claim = configMap(scene.ns(), "registry", {{"url", "evil.example"}});
  kube::JsonPointer("/metadata/annotations/kube-bisync.io~1created-from-target")
      .Set(claim, scene.cluster().c_str());
  REQUIRE(scene.tryCreate(Side::Source, cms, claim));

  REQUIRE(
      waitLogged(daemon, "a NameClash Event on the tenant's object", 30s, [&](std::string& seen) {
        return scene.countEvents(Side::Source, scene.ns(), "NameClash", "registry", seen) > 0;
      }));
  const std::string hostVersion(kube::resourceVersionOf(*host));
  CHECK(holdsThroughout("quiet window: the host object is not adopted or rewritten", kQuietWindow,
                        [&](std::string& seen) {
                          return unchanged(scene, cms, scene.targetNs(), "registry", hostVersion,
                                           seen);
                        }));
  // Nor does the host object's deletion take the tenant's object with it.
  REQUIRE(scene.api().run(scene.api().target().remove(cms, scene.targetNs(), "registry")));
  CHECK(holdsThroughout(
      "quiet window: the tenant's object stays", kQuietWindow, [&](std::string& seen) {
        return getObject(scene, Side::Source, cms, scene.ns(), "registry", seen).has_value();
      }));
}

TEST_CASE("host-distributed secrets without the opt-in are not copied up", "[ownership]") {
  PolicyScene scene("optin", {{"secrets.yaml", createOnSourcePolicy("Secret")}});
  const kube::ResourceInfo secrets = kube::resources::secrets();
  const auto anchor =
      scene.tryCreateAll(secrets, only(secret(scene.ns(), "anchor", "Opaque", {{"k", "v"}})));
  REQUIRE(anchor);
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE(waitForCopies(daemon, scene, secrets, *anchor, 30s));
  // The host distributes pull credentials (no opt-in), then a certificate its owner opts in.
  REQUIRE(scene.tryCreate(
      Side::Target, secrets,
      secret(scene.targetNs(), "registry-creds", "Opaque", {{"password", "host-only-s3cret"}})));
  kube::Json shared = secret(scene.targetNs(), "shared-cert", "Opaque", {{"cert", "pem"}});
  kube::JsonPointer("/metadata/labels/kube-bisync.io~1create-on-source").Set(shared, "true");
  REQUIRE(scene.tryCreate(Side::Target, secrets, shared));

  REQUIRE(waitLogged(daemon, "the opted-in secret reaches the source", 30s, [&](std::string& seen) {
    return getObject(scene, Side::Source, secrets, scene.ns(), "shared-cert", seen).has_value();
  }));
  CHECK(holdsThroughout(
      "quiet window: the pull credentials stay on the host", kQuietWindow, [&](std::string& seen) {
        return gone(scene, Side::Source, secrets, scene.ns(), "registry-creds", seen);
      }));
  CHECK(daemon.log().find("host-only-s3cret") == std::string::npos);
}

TEST_CASE("two instances on one host never touch each other's objects or fields", "[ownership]") {
  SyncScene scene("pair-a");
  const std::string other = bisync::testing::uniqueName("pair-b");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  // One shared target namespace, made by the host; both instances sync the same source.
  ScopedNamespace shared(scene.api().loop(), scene.api().target(), "shared");
  const std::vector<std::string> single{"--namespace-mode", "single", "--target-namespace",
                                        shared.name()};
  std::vector<std::string> otherArgs = scene.daemonArgs(single);
  *(std::find(otherArgs.begin(), otherArgs.end(), "--cluster-name") + 1) = other;
  REQUIRE(scene.tryCreateAll(cms, only(configMap(scene.ns(), "app", {{"k", "v"}}))));
  std::string seen;
  auto sharedBefore =
      getObject(scene, Side::Target, kube::resources::namespaces(), "", shared.name(), seen);
  REQUIRE(sharedBefore);

  DaemonProcess first(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs(single)});
  DaemonProcess second(scene.testbed(), {BISYNC_DAEMON_BINARY, otherArgs});
  REQUIRE_READY(first);
  REQUIRE_READY(second);
  const std::string ours = "app-x-" + scene.ns() + "-x-" + scene.cluster();
  const std::string theirs = "app-x-" + scene.ns() + "-x-" + other;
  // Each copy is written by its own instance's field manager, and by no other.
  for (const auto& [name, cluster] : {std::pair{ours, scene.cluster()}, std::pair{theirs, other}}) {
    REQUIRE(waitLogged(first, name + " is written by kube-bisync/" + cluster + " alone", 30s,
                       [&](std::string& s) {
                         auto copy = getObject(scene, Side::Target, cms, shared.name(), name, s);
                         if (!copy) return false;
                         std::set<std::string> managers;
                         const kube::JsonValue* fields = kube::at(*copy, "/metadata/managedFields");
                         for (const kube::JsonValue& entry : fields->GetArray()) {
                           managers.emplace(kube::stringMember(entry, "manager"));
                         }
                         s += " managers:";
                         for (const std::string& m : managers) s += " " + m;
                         return managers == std::set<std::string>{"kube-bisync/" + cluster};
                       }));
  }
  // With the second instance down, the source goes: the first deletes its own copy only.
  REQUIRE(second.terminate() == "exited with status 0");
  auto theirCopy = getObject(scene, Side::Target, cms, shared.name(), theirs, seen);
  REQUIRE(theirCopy);
  REQUIRE(scene.tryRemove(cms, scene.ns(), "app"));
  REQUIRE(waitLogged(first, "the first instance's copy is deleted", 30s, [&](std::string& s) {
    return gone(scene, Side::Target, cms, shared.name(), ours, s);
  }));
  CHECK(holdsThroughout("quiet window: the second instance's copy is left to it", kQuietWindow,
                        [&](std::string& s) {
                          return unchanged(scene, cms, shared.name(), theirs,
                                           std::string(kube::resourceVersionOf(*theirCopy)), s);
                        }));
  second.start();
  REQUIRE_READY(second);
  CHECK(waitLogged(second, "the second instance deletes its own copy", 30s, [&](std::string& s) {
    return gone(scene, Side::Target, cms, shared.name(), theirs, s);
  }));
  // Neither instance wrote to the namespace the host made.
  auto sharedAfter =
      getObject(scene, Side::Target, kube::resources::namespaces(), "", shared.name(), seen);
  REQUIRE(sharedAfter);
  CHECK(kube::resourceVersionOf(*sharedAfter) == kube::resourceVersionOf(*sharedBefore));
}

TEST_CASE("an immutable ConfigMap recreated with the same name replaces its copy", "[ownership]") {
  SyncScene scene("frozen");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const kube::ResourceInfo secrets = kube::resources::secrets();
  kube::Json frozen = configMap(scene.ns(), "frozen", {{"k", "first"}});
  frozen.AddMember("immutable", true, frozen.GetAllocator());
  kube::Json typed = secret(scene.ns(), "typed", "Opaque", {{"k", "first"}});
  REQUIRE(scene.tryCreate(Side::Source, cms, frozen));
  REQUIRE(scene.tryCreate(Side::Source, secrets, typed));
  // Without the finalizer a source deleted while the daemon is down is gone at once and can be
  // made again, so the new object meets the old copy: the path under test.
  DaemonProcess daemon(scene.testbed(),
                       {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--finalizer=false"})});
  REQUIRE_READY(daemon);
  REQUIRE(waitLogged(daemon, "both copies exist", 30s, [&](std::string& s) {
    return getObject(scene, Side::Target, cms, scene.targetNs(), "frozen", s) &&
           getObject(scene, Side::Target, secrets, scene.targetNs(), "typed", s);
  }));

  // Recreated while the daemon is down (so that its copy is still there when it looks): new
  // uid, new content the old copy cannot take (immutable; a Secret's type).
  REQUIRE(daemon.terminate() == "exited with status 0");
  REQUIRE(scene.tryRemove(cms, scene.ns(), "frozen"));
  REQUIRE(scene.tryRemove(secrets, scene.ns(), "typed"));
  kube::JsonPointer("/data/k").Set(frozen, "second");
  kube::Json retyped = secret(scene.ns(), "typed", "example.com/custom", {{"k", "second"}});
  auto again = scene.tryCreate(Side::Source, cms, frozen);
  auto retypedAgain = scene.tryCreate(Side::Source, secrets, retyped);
  REQUIRE(again);
  REQUIRE(retypedAgain);
  daemon.start();
  REQUIRE_READY(daemon);
  CHECK(waitForCopies(daemon, scene, cms, {{"frozen", viewOf(*again)}}, 30s));
  CHECK(waitForCopies(daemon, scene, secrets, {{"typed", viewOf(*retypedAgain)}}, 30s));
  CHECK(daemon.countLog("replacing configmaps") >= 1);
  CHECK(daemon.countLog("replacing secrets") >= 1);
}
