// The production-controller drills of docs/operations.md ("Failure drills"), one test case per
// drill, each named after it, all against the real testbed with the real kube-bisync daemon as a
// child process: leader election and failover, finalizer-guarded deletion, limits, target
// namespace lifecycle, disabling a kind, permission failures, and the least-privilege RBAC of
// examples/deploy. Waits poll with a deadline; what must not happen is checked over a window
// whose name says so.
//
// Each group of drills keeps its helpers in a namespace of its own.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Drift and namespace lifecycle drills, limits.
namespace limit_drills {}  // namespace limit_drills

// ---------------------------------------------------------------------------------------------
// Finalizer-guarded deletion, recreation, direction none.
namespace finalizer_drills {

namespace kube = bisync::kube;
using bisync::testing::CommandResult;
using bisync::testing::configMap;
using bisync::testing::DaemonOptions;
using bisync::testing::DaemonProcess;
using bisync::testing::holdsThroughout;
using bisync::testing::kReadyLine;
using bisync::testing::kSourceUid;
using bisync::testing::lookup;
using bisync::testing::Side;
using bisync::testing::StringMap;
using bisync::testing::stringMapAt;
using bisync::testing::TempDir;
using bisync::testing::viewOf;
using bisync::testing::Views;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;

constexpr const char* kFinalizer = "kube-bisync.io/cleanup";
// The tests' own finalizer: it holds a target copy in Terminating until the test lets it go.
constexpr const char* kHold = "drills.example.com/hold";
constexpr const char* kSyncStatus = "kube-bisync.io/sync-status";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> finalizersOf(const kube::JsonValue& object) {
  std::vector<std::string> names;
  const kube::JsonValue* list = kube::at(object, "/metadata/finalizers");
  if (list == nullptr || !list->IsArray()) return names;
  for (const kube::JsonValue& entry : list->GetArray()) {
    if (entry.IsString()) names.emplace_back(kube::stringView(entry));
  }
  return names;
}

bool hasFinalizer(const kube::JsonValue& object, const std::string& name) {
  const std::vector<std::string> names = finalizersOf(object);
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool terminating(const kube::JsonValue& object) {
  return kube::at(object, "/metadata/deletionTimestamp") != nullptr;
}

// A SyncScene of ConfigMaps whose objects are looked at by name, with kubectl in the scene's
// namespaces. At the end every finalizer left on its ConfigMaps (ours, the tests' own) is taken
// off, so that its namespaces can go once the daemon is gone.
class FinalizerScene : public bisync::testing::SyncScene {
 public:
  explicit FinalizerScene(std::string_view prefix) : SyncScene(prefix) {}
  ~FinalizerScene() {
    for (const Side side : {Side::Source, Side::Target}) {
      const std::string ns = side == Side::Source ? this->ns() : targetNs();
      auto listed = api().run(api().client(side).list(kube::resources::configMaps(), ns));
      if (!listed) continue;
      for (const kube::JsonValue& item : listed->items().GetArray()) {
        if (finalizersOf(item).empty()) continue;
        testbed().kubectl(side, {"-n", ns, "patch", "configmap", std::string(kube::nameOf(item)),
                                 "--type", "merge", "-p", R"({"metadata":{"finalizers":null}})"});
      }
    }
  }

  void create(const std::string& name, const StringMap& data) {
    auto created =
        tryCreate(Side::Source, kube::resources::configMaps(), configMap(ns(), name, data));
    INFO((created ? std::string("created") : created.error().describe()));
    REQUIRE(created);
  }

  CommandResult kubectl(Side side, std::vector<std::string> args) {
    args.insert(args.begin(), {"-n", side == Side::Source ? ns() : targetNs()});
    const CommandResult result = testbed().kubectl(side, args);
    INFO("kubectl " << args.at(2) << " on the " << (side == Side::Source ? "source" : "target")
                    << ": " << result.summary());
    REQUIRE(result.ok());
    return result;
  }

  // The ConfigMap `name` on `side`; nullopt when absent or unreadable (`seen` says which).
  std::optional<kube::Json> get(Side side, const std::string& name, std::string& seen) {
    const std::string where = side == Side::Source ? ns() : targetNs();
    auto object = api().run(api().client(side).get(kube::resources::configMaps(), where, name));
    if (!object) {
      seen += " " + where + "/" + name + ": " + object.error().describe() + ";";
      return std::nullopt;
    }
    seen += " " + where + "/" + name + ": uid " + std::string(kube::uidOf(*object)) +
            (terminating(*object) ? " terminating" : "") + " finalizers [";
    for (const std::string& finalizer : finalizersOf(*object)) seen += finalizer + " ";
    seen += "];";
    return std::move(*object);
  }

  bool gone(Side side, const std::string& name, std::string& seen) {
    const std::string where = side == Side::Source ? ns() : targetNs();
    auto object = api().run(api().client(side).get(kube::resources::configMaps(), where, name));
    seen += " " + where + "/" + name + ": " + (object ? "still there" : object.error().describe()) +
            ";";
    return !object && object.error().isNotFound();
  }

  kube::Json require(Side side, const std::string& name) {
    std::string seen;
    std::optional<kube::Json> object = get(side, name, seen);
    INFO(seen);
    REQUIRE(object);
    return std::move(*object);
  }

  // The messages of the Events with `reason` about the source ConfigMap `name`.
  std::vector<std::string> events(const std::string& reason, const std::string& name,
                                  std::string& seen) {
    auto listed = api().run(api().client(Side::Source).list(kube::resources::events(), ns()));
    std::vector<std::string> found;
    if (!listed) {
      seen += " events: " + listed.error().describe() + ";";
      return found;
    }
    for (const kube::JsonValue& item : listed->items().GetArray()) {
      if (kube::stringAt(item, "/reason") != reason ||
          kube::stringAt(item, "/involvedObject/name") != name ||
          kube::stringAt(item, "/type") != "Warning") {
        continue;
      }
      found.emplace_back(kube::stringAt(item, "/message"));
      seen += " [" + reason + ": " + found.back() + "]";
    }
    return found;
  }
};

// Starts `daemon`'s wait: ready, the copies of `names` correct, our finalizer on each source.
void waitGuarded(DaemonProcess& daemon, FinalizerScene& scene,
                 const std::vector<std::string>& names) {
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  Views sources;
  for (const std::string& name : names) sources[name] = viewOf(scene.require(Side::Source, name));
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 30s));
  REQUIRE(
      waitLogged(daemon, "our finalizer on every synced source object", 30s, [&](std::string& s) {
        for (const std::string& name : names) {
          const auto source = scene.get(Side::Source, name, s);
          if (!source || !hasFinalizer(*source, kFinalizer)) return false;
        }
        return true;
      }));
}

// The source `name` is being deleted, still there with our finalizer; its copy still there.
bool heldBack(FinalizerScene& scene, const std::string& name, std::string& s) {
  const auto source = scene.get(Side::Source, name, s);
  const auto copy = scene.get(Side::Target, name, s);
  return source && terminating(*source) && hasFinalizer(*source, kFinalizer) && copy;
}

TEST_CASE("deleting a source object waits for its target copy to be deleted through the finalizer",
          "[lifecycle][finalizer]") {
  FinalizerScene scene("fin");
  scene.create("guarded", {{"k", "v"}});
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  waitGuarded(daemon, scene, {"guarded"});
  CHECK(finalizersOf(scene.require(Side::Source, "guarded")) ==
        std::vector<std::string>{kFinalizer});

  // The host holds the copy with a finalizer of its own: its deletion waits for the host.
  scene.kubectl(Side::Target, {"patch", "configmap", "guarded", "--type", "merge", "-p",
                               std::string(R"({"metadata":{"finalizers":[")") + kHold + "\"]}}"});
  scene.kubectl(Side::Source, {"delete", "configmap", "guarded", "--wait=false"});
  REQUIRE(waitLogged(daemon, "the syncer deleted the copy (terminating, held by the host)", 30s,
                     [&](std::string& s) {
                       const auto copy = scene.get(Side::Target, "guarded", s);
                       return copy && terminating(*copy);
                     }));
  CHECK(holdsThroughout(
      "hold window: the source stays terminating with our finalizer while its copy exists", 3s,
      [&](std::string& s) { return heldBack(scene, "guarded", s); }));

  // The host lets its copy go: then, and only then, the source goes.
  scene.kubectl(Side::Target, {"patch", "configmap", "guarded", "--type", "merge", "-p",
                               R"({"metadata":{"finalizers":null}})"});
  REQUIRE(waitLogged(daemon, "the copy and then the source gone", 30s, [&](std::string& s) {
    return scene.gone(Side::Target, "guarded", s) && scene.gone(Side::Source, "guarded", s);
  }));
}

TEST_CASE("a source object deleted and recreated with the same name gets a copy with the new uid",
          "[lifecycle][finalizer]") {
  FinalizerScene scene("reborn");
  scene.create("phoenix", {{"k", "first"}});
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  waitGuarded(daemon, scene, {"phoenix"});
  const std::string oldSource(kube::uidOf(scene.require(Side::Source, "phoenix")));
  const kube::Json oldCopy = scene.require(Side::Target, "phoenix");
  CHECK(lookup(stringMapAt(oldCopy, "/metadata/annotations"), kSourceUid) == oldSource);

  // kubectl waits until the object is gone, which our finalizer holds until the copy is.
  scene.kubectl(Side::Source, {"delete", "configmap", "phoenix", "--timeout=30s"});
  scene.create("phoenix", {{"k", "second"}});
  const kube::Json reborn = scene.require(Side::Source, "phoenix");
  const std::string newSource(kube::uidOf(reborn));
  REQUIRE(newSource != oldSource);

  std::string copyUid;
  REQUIRE(waitLogged(daemon, "a copy naming the new uid " + newSource, 30s, [&](std::string& s) {
    const auto copy = scene.get(Side::Target, "phoenix", s);
    if (!copy || terminating(*copy)) return false;
    const StringMap annotations = stringMapAt(*copy, "/metadata/annotations");
    s += " source-uid " + lookup(annotations, kSourceUid) + " data " +
         bisync::testing::describe(stringMapAt(*copy, "/data"));
    copyUid = std::string(kube::uidOf(*copy));
    return lookup(annotations, kSourceUid) == newSource &&
           lookup(stringMapAt(*copy, "/data"), "k") == "second";
  }));
  CHECK(copyUid != std::string(kube::uidOf(oldCopy)));  // the old copy went with its source
  waitGuarded(daemon, scene, {"phoenix"});
}

// policies/defaults/configmaps.yaml with direction none.
constexpr const char* kNonePolicy = R"(apiVersion: kube-bisync.io/v1alpha1
kind: SyncPolicy
resource: {group: "", version: v1, kind: ConfigMap}
direction: none
fields:
  - path: /data
    owner: source
)";

TEST_CASE(
    "setting a kind's direction to none deletes its managed copies and removes the finalizers",
    "[lifecycle][finalizer]") {
  FinalizerScene scene("none");
  scene.create("one", {{"k", "1"}});
  scene.create("two", {{"k", "2"}});
  std::optional<DaemonProcess> daemon;
  daemon.emplace(scene.testbed(), DaemonOptions{BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  waitGuarded(*daemon, scene, {"one", "two"});
  // The host's own object beside the copies: not the syncer's to touch, whatever it syncs.
  auto hosted = scene.tryCreate(Side::Target, kube::resources::configMaps(),
                                configMap(scene.targetNs(), "host-own", {{"h", "1"}}));
  INFO((hosted ? std::string("created") : hosted.error().describe()));
  REQUIRE(hosted);

  REQUIRE(daemon->terminate() == "exited with status 0");
  const TempDir policies(std::filesystem::temp_directory_path(), "policies-");
  std::ofstream(policies.path() / "configmaps.yaml") << kNonePolicy;
  daemon.emplace(scene.testbed(),
                 DaemonOptions{BISYNC_DAEMON_BINARY,
                               scene.daemonArgs({"--policies", policies.path().string()})});
  REQUIRE(daemon->waitForLog(kReadyLine, 60s));
  const auto converged = [&](std::string& s) {
    for (const std::string name : {"one", "two"}) {
      const auto source = scene.get(Side::Source, name, s);
      if (!scene.gone(Side::Target, name, s) || !source || terminating(*source) ||
          !finalizersOf(*source).empty()) {
        return false;
      }
    }
    return true;
  };
  REQUIRE(
      waitLogged(*daemon, "copies deleted, sources kept without our finalizer", 30s, converged));
  CHECK(holdsThroughout("quiet window: under direction none no copy comes back", 2s, converged));
  const kube::Json host = scene.require(Side::Target, "host-own");
  CHECK(kube::uidOf(host) == kube::uidOf(*hosted));
  CHECK(kube::resourceVersionOf(host) == kube::resourceVersionOf(*hosted));
}

// A ClusterRole on the target with what the syncer needs there, bound to the testbed's user
// "viewer" (who has no other grant); deleted with the scope.
class ViewerSyncerRole {
 public:
  explicit ViewerSyncerRole(FinalizerScene& scene)
      : scene_(scene),
        name_(scene.cluster() + "-syncer"),
        dir_(std::filesystem::temp_directory_path(), "rbac-") {}
  ~ViewerSyncerRole() {
    scene_.testbed().kubectl(Side::Target, {"delete", "clusterrolebinding,clusterrole", name_,
                                            "--ignore-not-found", "--wait=false"});
  }
  ViewerSyncerRole(const ViewerSyncerRole&) = delete;
  ViewerSyncerRole& operator=(const ViewerSyncerRole&) = delete;

  // Applies the role, with or without `delete` on ConfigMaps.
  void grant(bool deleteConfigMaps) {
    const std::string configMapVerbs = std::string("[get, list, watch, create, update, patch") +
                                       (deleteConfigMaps ? ", delete]" : "]");
    const std::filesystem::path file = dir_.path() / "role.yaml";
    std::ofstream(file) << "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                        << "metadata: {name: " << name_ << "}\nrules:\n"
                        << "- apiGroups: ['']\n  resources: [namespaces, secrets]\n"
                        << "  verbs: [get, list, watch, create, update, patch, delete]\n"
                        << "- apiGroups: ['']\n  resources: [configmaps]\n  verbs: "
                        << configMapVerbs << "\n"
                        << "- apiGroups: ['']\n  resources: [events]\n"
                        << "  verbs: [get, list, watch, create, update, patch]\n---\n"
                        << "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
                        << "metadata: {name: " << name_ << "}\n"
                        << "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, "
                        << "name: " << name_ << "}\n"
                        << "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, "
                        << "name: viewer}]\n";
    const CommandResult applied =
        scene_.testbed().kubectl(Side::Target, {"apply", "-f", file.string()});
    INFO(applied.summary());
    REQUIRE(applied.ok());
    // The authorizer follows RBAC objects through a watch: wait until it answers as granted.
    REQUIRE(bisync::testing::waitFor(std::string("the target's authorizer: viewer may ") +
                                         (deleteConfigMaps ? "" : "not ") + "delete configmaps",
                                     10s, [&](std::string& s) {
                                       const CommandResult answer = scene_.testbed().kubectl(
                                           Side::Target,
                                           {"auth", "can-i", "delete", "configmaps", "-n",
                                            scene_.targetNs(), "--as", "viewer"});
                                       s = answer.out;
                                       return contains(answer.out, deleteConfigMaps ? "yes" : "no");
                                     }));
  }

 private:
  FinalizerScene& scene_;
  std::string name_;
  TempDir dir_;
};

TEST_CASE(
    "when the syncer may not delete on the target, the source object stays terminating and the "
    "reason is visible",
    "[lifecycle][finalizer]") {
  FinalizerScene scene("deny");
  scene.create("stuck", {{"k", "v"}});
  ViewerSyncerRole role(scene);
  role.grant(true);
  const TempDir dir(std::filesystem::temp_directory_path(), "viewer-");
  const std::filesystem::path viewer = scene.testbed().writeKubeconfig(
      Side::Target, bisync::testing::Auth::ViewerToken, dir.path() / "target.kubeconfig");
  std::vector<std::string> args{"--source-kubeconfig",
                                scene.testbed().server(Side::Source).kubeconfig,
                                "--target-kubeconfig", viewer.string()};
  for (const std::string& arg : scene.daemonArgs()) args.push_back(arg);
  DaemonProcess daemon(scene.testbed(), DaemonOptions{BISYNC_DAEMON_BINARY, args, false});
  waitGuarded(daemon, scene, {"stuck"});
  const pid_t pid = daemon.pid();

  role.grant(false);
  scene.kubectl(Side::Source, {"delete", "configmap", "stuck", "--wait=false"});
  REQUIRE(waitLogged(
      daemon, "a Warning CleanupFailed Event and sync-status CleanupFailed naming the refusal", 30s,
      [&](std::string& s) {
        const std::vector<std::string> events = scene.events("CleanupFailed", "stuck", s);
        const bool event = std::any_of(events.begin(), events.end(), [](const std::string& m) {
          return contains(m, "forbidden");
        });
        const auto source = scene.get(Side::Source, "stuck", s);
        const std::string status =
            source ? lookup(stringMapAt(*source, "/metadata/annotations"), kSyncStatus) : "";
        s += " sync-status " + status;
        return event && contains(status, R"("result":"CleanupFailed")") &&
               contains(status, "forbidden");
      }));
  CHECK(holdsThroughout(
      "refusal window: the source stays terminating with our finalizer, its copy stays", 2s,
      [&](std::string& s) { return heldBack(scene, "stuck", s); }));

  // The permission comes back: the backed-off retry deletes the copy, then the source goes.
  role.grant(true);
  REQUIRE(waitLogged(
      daemon, "the copy and then the source gone, with no restart", 40s, [&](std::string& s) {
        return scene.gone(Side::Target, "stuck", s) && scene.gone(Side::Source, "stuck", s);
      }));
  CHECK(daemon.running());
  CHECK(daemon.pid() == pid);
}

TEST_CASE(
    "turning the finalizer flag off or running --remove-finalizers takes off our finalizer only",
    "[lifecycle][finalizer]") {
  FinalizerScene scene("unfin");
  scene.create("one", {{"k", "1"}});
  scene.create("two", {{"k", "2"}});
  std::optional<DaemonProcess> daemon;
  daemon.emplace(scene.testbed(), DaemonOptions{BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  waitGuarded(*daemon, scene, {"one", "two"});
  // A finalizer of someone else's, before ours in the array: it stays whatever we remove.
  scene.kubectl(Side::Source, {"patch", "configmap", "one", "--type", "json", "-p",
                               std::string(R"([{"op":"add","path":"/metadata/finalizers/0",)") +
                                   R"("value":")" + kHold + "\"}]"});
  REQUIRE(daemon->terminate() == "exited with status 0");

  const auto only = [&](const std::vector<std::string>& one, std::string& s) {
    const auto first = scene.get(Side::Source, "one", s);
    const auto second = scene.get(Side::Source, "two", s);
    return first && second && finalizersOf(*first) == one && finalizersOf(*second).empty();
  };
  SECTION("--finalizer=false: the daemon takes ours off, the copies stay") {
    daemon.emplace(scene.testbed(),
                   DaemonOptions{BISYNC_DAEMON_BINARY, scene.daemonArgs({"--finalizer=false"})});
    REQUIRE(daemon->waitForLog(kReadyLine, 60s));
    REQUIRE(waitLogged(*daemon, "only the foreign finalizer left", 30s,
                       [&](std::string& s) { return only({kHold}, s); }));
    std::string seen;
    CHECK(scene.get(Side::Target, "one", seen));
    CHECK(scene.get(Side::Target, "two", seen));
  }
  SECTION("kube-bisync --remove-finalizers: the one-shot command, connected to the source only") {
    std::vector<std::string> args{"--remove-finalizers", "--source-kubeconfig",
                                  scene.testbed().server(Side::Source).kubeconfig};
    for (const std::string& arg : scene.daemonArgs()) args.push_back(arg);
    daemon.emplace(scene.testbed(), DaemonOptions{BISYNC_DAEMON_BINARY, args, false});
    CHECK(daemon->waitExit(30s) == "exited with status 0");
    INFO(daemon->logTail());
    CHECK(daemon->countLog("removed finalizer kube-bisync.io/cleanup from 2 objects") == 1);
    std::string seen;
    CHECK(only({kHold}, seen));
    INFO(seen);
  }
}

TEST_CASE("a kind dropped from --resources under --prune loses its copies and its finalizers",
          "[lifecycle][finalizer]") {
  FinalizerScene scene("prune");
  scene.create("dropped", {{"k", "1"}});
  std::optional<DaemonProcess> daemon;
  daemon.emplace(scene.testbed(), DaemonOptions{BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  waitGuarded(*daemon, scene, {"dropped"});
  auto hosted = scene.tryCreate(Side::Target, kube::resources::configMaps(),
                                configMap(scene.targetNs(), "host-own", {{"h", "1"}}));
  INFO((hosted ? std::string("created") : hosted.error().describe()));
  REQUIRE(hosted);
  REQUIRE(daemon->terminate() == "exited with status 0");

  daemon.emplace(scene.testbed(),
                 DaemonOptions{BISYNC_DAEMON_BINARY,
                               {"--cluster-name", scene.cluster(), "--namespaces", scene.ns(),
                                "--resources", "secrets", "--prune", "-v", "2"}});
  REQUIRE(daemon->waitForLog(kReadyLine, 60s));
  REQUIRE(waitLogged(*daemon, "the copy deleted, the source kept without our finalizer", 30s,
                     [&](std::string& s) {
                       const auto source = scene.get(Side::Source, "dropped", s);
                       return scene.gone(Side::Target, "dropped", s) && source &&
                              !terminating(*source) && finalizersOf(*source).empty();
                     }));
  CHECK(daemon->waitForLog("prune: deleted 1 copies", 10s));
  const kube::Json host = scene.require(Side::Target, "host-own");
  CHECK(kube::resourceVersionOf(host) == kube::resourceVersionOf(*hosted));
}

}  // namespace finalizer_drills

// ---------------------------------------------------------------------------------------------
// Leader election and failover.
namespace leader_drills {}  // namespace leader_drills

// ---------------------------------------------------------------------------------------------
// Least-privilege RBAC of examples/deploy, permission failures.
namespace rbac_drills {}  // namespace rbac_drills

// ---------------------------------------------------------------------------------------------
// Forbidden answers on either side: reported, degraded, resumed.
namespace forbidden_drills {}  // namespace forbidden_drills
