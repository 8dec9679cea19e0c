// The production-controller drills of docs/operations.md ("Failure drills"), one test case per
// drill, each named after it, all against the real testbed with the real kube-bisync daemon as a
// child process: leader election and failover, finalizer-guarded deletion, limits, target
// namespace lifecycle, disabling a kind, permission failures, and the least-privilege RBAC of
// examples/deploy. Waits poll with a deadline; what must not happen is checked over a window
// whose name says so.
//
// Each group of drills keeps its helpers in a namespace of its own.
#include <signal.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <yaml-cpp/yaml.h>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

using namespace std::chrono_literals;
using bisync::testing::Testbed;
namespace kube = bisync::kube;
using bisync::testing::configMap;
using bisync::testing::DaemonOptions;
using bisync::testing::DaemonProcess;
using bisync::testing::holdsThroughout;
using bisync::testing::kReadyLine;
using bisync::testing::lookup;
using bisync::testing::Side;
using bisync::testing::stringMapAt;
using bisync::testing::SyncScene;
using bisync::testing::TempDir;
using bisync::testing::viewOf;
using bisync::testing::Views;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;

constexpr const char* kSyncStatus = "kube-bisync.io/sync-status";
// What the daemon counts when the host refuses to apply (PATCH) a ConfigMap copy.
constexpr const char* kForbiddenSeries =
    R"(kube_bisync_api_forbidden_total{side="target",verb="patch",resource="configmaps"})";

// ---------------------------------------------------------------------------------------------
// Drift and namespace lifecycle drills, limits.
namespace limit_drills {

// A finalizer of the drill's own: it holds a copy, and so its namespace, while it is on.
constexpr const char* kHoldFinalizer = "drills.kube-bisync.io/hold";

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// kubectl as admin against `side`; the test stops when it fails.
void kubectl(SyncScene& scene, Side side, const std::vector<std::string>& args) {
  const bisync::testing::CommandResult result = scene.testbed().kubectl(side, args);
  INFO("kubectl " << args.at(0) << ": " << result.summary());
  REQUIRE(result.ok());
}

// The ConfigMaps of `ns` on `side` as the server lists them; nullopt (`seen` says why) when the
// list fails.
std::optional<kube::ListResult> listConfigMaps(SyncScene& scene, Side side, const std::string& ns,
                                               std::string& seen) {
  auto listed = scene.api().run(scene.api().client(side).list(kube::resources::configMaps(), ns));
  if (!listed) {
    seen += " list " + ns + ": " + listed.error().describe() + ";";
    return std::nullopt;
  }
  return std::move(*listed);
}

// The source ConfigMaps' sync-status annotations by name ("" when absent).
std::map<std::string, std::string> syncStatuses(SyncScene& scene, std::string& seen) {
  std::map<std::string, std::string> statuses;
  const std::optional<kube::ListResult> listed =
      listConfigMaps(scene, Side::Source, scene.ns(), seen);
  if (!listed) return statuses;
  for (const kube::JsonValue& item : listed->items().GetArray()) {
    const std::string status = lookup(stringMapAt(item, "/metadata/annotations"), kSyncStatus);
    statuses[std::string(kube::nameOf(item))] = status == "<absent>" ? "" : status;
  }
  return statuses;
}

// The source ConfigMaps now, for waitForCopies.
Views sourceViews(SyncScene& scene) {
  std::string seen;
  const auto views = scene.list(Side::Source, kube::resources::configMaps(), scene.ns(), seen);
  INFO(seen);
  REQUIRE(views);
  return *views;
}

std::string targetNamespaceUid(SyncScene& scene, std::string& seen) {
  auto ns = scene.api().run(
      scene.api().target().get(kube::resources::namespaces(), "", scene.targetNs()));
  if (!ns) {
    seen += " target namespace: " + ns.error().describe() + ";";
    return "";
  }
  seen += " target namespace uid " + std::string(kube::uidOf(*ns)) +
          (kube::at(*ns, "/metadata/deletionTimestamp") ? " terminating;" : ";");
  return std::string(kube::uidOf(*ns));
}

std::optional<double> metricOf(DaemonProcess& daemon, const std::string& series,
                               std::string& seen) {
  return daemon.metric(series, seen);
}

// policies/defaults/configmaps.yaml with a limit of 50 ConfigMaps per namespace.
constexpr const char* kLimitPolicy = R"(apiVersion: kube-bisync.io/v1alpha1
kind: SyncPolicy
resource: {group: "", version: v1, kind: ConfigMap}
direction: down
fields:
  - path: /data
    owner: source
  - path: /metadata/labels/*
    owner: source
  - path: /metadata/annotations/*
    owner: source
limits: {maxObjectsPerNamespace: 50}
)";

// One of the drill's ConfigMaps as the source holds it.
struct Ranked {
  std::string created;  // creationTimestamp
  std::string name;
  bool operator<(const Ranked& other) const {
    return std::tie(created, name) < std::tie(other.created, other.name);
  }
};

// The drill's source ConfigMaps (named old-* and new-*), oldest first, then by name.
std::vector<Ranked> rankedSources(SyncScene& scene) {
  std::string seen;
  const std::optional<kube::ListResult> listed =
      listConfigMaps(scene, Side::Source, scene.ns(), seen);
  INFO(seen);
  REQUIRE(listed);
  std::vector<Ranked> ranked;
  for (const kube::JsonValue& item : listed->items().GetArray()) {
    const std::string name(kube::nameOf(item));
    if (!name.starts_with("old-") && !name.starts_with("new-")) continue;
    ranked.push_back({std::string(kube::stringAt(item, "/metadata/creationTimestamp")), name});
  }
  std::sort(ranked.begin(), ranked.end());
  return ranked;
}

// The names of the ConfigMaps in the target namespace that `counts` accepts (`what` names them
// in `seen`).
std::set<std::string> targetNames(SyncScene& scene, std::string& seen, std::string_view what,
                                  const std::function<bool(std::string_view)>& counts) {
  std::set<std::string> names;
  const std::optional<kube::ListResult> listed =
      listConfigMaps(scene, Side::Target, scene.targetNs(), seen);
  if (!listed) return names;
  for (const kube::JsonValue& item : listed->items().GetArray()) {
    if (counts(kube::nameOf(item))) names.emplace(kube::nameOf(item));
  }
  seen += " " + std::to_string(names.size()) + " " + std::string(what) + ";";
  return names;
}

// The names of the drill's ConfigMaps in the target namespace.
std::set<std::string> copiedNames(SyncScene& scene, std::string& seen) {
  return targetNames(scene, seen, "copies", [](std::string_view name) {
    return name.starts_with("old-") || name.starts_with("new-");
  });
}

// The SyncFailed Events on the source, counted by the object they are about.
std::map<std::string, std::size_t> syncFailedEvents(SyncScene& scene, std::string& seen) {
  std::map<std::string, std::size_t> counts;
  auto events = scene.api().run(scene.api().source().list(kube::resources::events(), scene.ns()));
  if (!events) {
    seen += " events: " + events.error().describe() + ";";
    return counts;
  }
  for (const kube::JsonValue& item : events->items().GetArray()) {
    if (kube::stringAt(item, "/reason") != "SyncFailed") continue;
    ++counts[std::string(kube::stringAt(item, "/involvedObject/name"))];
    seen += " [" + std::string(kube::stringAt(item, "/message")) + "]";
  }
  return counts;
}

// The ConfigMaps in the target namespace other than the one every namespace gets.
std::set<std::string> copiedNamesIn(SyncScene& scene, std::string& seen) {
  return targetNames(scene, seen, "configmaps in the target namespace",
                     [](std::string_view name) { return name != "kube-root-ca.crt"; });
}

// Creates ConfigMaps `<prefix>-00` ... on the source, all at once.
void createNumbered(SyncScene& scene, const std::string& prefix, int count) {
  std::vector<kube::Json> objects;
  for (int i = count - 1; i >= 0; --i) {  // newest names first: names, not order, break ties
    const std::string name = prefix + (i < 10 ? "-0" : "-") + std::to_string(i);
    objects.push_back(configMap(scene.ns(), name, {{"k", name}}));
  }
  const auto created = scene.tryCreateAll(kube::resources::configMaps(), objects);
  INFO((created ? std::string("created") : created.error()));
  REQUIRE(created);
}

// Waits until the wall clock is early in a second after every timestamp of `ranked`, so that a
// burst of creates right after shares one creationTimestamp (they have whole seconds).
void waitForFreshSecond(const std::vector<Ranked>& ranked) {
  const std::string newest = ranked.empty() ? "" : ranked.back().created;
  REQUIRE(bisync::testing::waitFor(
      "the first 100 ms of a second after " + newest, 5s,
      [&](std::string& s) {
        const auto now = std::chrono::system_clock::now();
        const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
        const auto millis =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        char text[32];
        std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
        s = text;
        return s > newest && millis.count() < 100;
      },
      5ms));
}

}  // namespace limit_drills

TEST_CASE("a manual edit of a target copy is restored", "[lifecycle][limit_drills]") {
  using namespace limit_drills;
  SyncScene scene("drift");
  REQUIRE(scene.tryCreate(Side::Source, kube::resources::configMaps(),
                          configMap(scene.ns(), "settings", {{"k", "from-source"}})));
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  const Views sources = sourceViews(scene);
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 30s));

  // A host admin edits a field the source owns, and adds a key of their own to /data.
  kubectl(scene, Side::Target,
          {"-n", scene.targetNs(), "patch", "configmap", "settings", "--type", "merge", "-p",
           R"({"data":{"k":"edited-on-host","extra":"x"}})", "--field-manager", "host-admin"});
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 30s));
  std::string seen;
  auto copy = scene.api().run(
      scene.api().target().get(kube::resources::configMaps(), scene.targetNs(), "settings"));
  REQUIRE(copy);
  CHECK(lookup(stringMapAt(*copy, "/data"), "k") == "from-source");
  CHECK(lookup(stringMapAt(*copy, "/data"), "extra") == "<absent>");
}

TEST_CASE(
    "a deleted target namespace is recreated with every copy once it has finished terminating",
    "[lifecycle][limit_drills]") {
  using namespace limit_drills;
  SyncScene scene("nsgone");
  for (const char* name : {"alpha", "beta", "gamma"}) {
    REQUIRE(scene.tryCreate(Side::Source, kube::resources::configMaps(),
                            configMap(scene.ns(), name, {{"k", name}})));
  }
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  const Views sources = sourceViews(scene);
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 30s));
  std::string seen;
  const std::string oldUid = targetNamespaceUid(scene, seen);
  REQUIRE_FALSE(oldUid.empty());

  // A finalizer of the test's own on one copy keeps the namespace Terminating until removed.
  kubectl(scene, Side::Target,
          {"-n", scene.targetNs(), "patch", "configmap", "alpha", "--type", "merge", "-p",
           std::string(R"({"metadata":{"finalizers":[")") + kHoldFinalizer + R"("]}})"});
  kubectl(scene, Side::Target, {"delete", "namespace", scene.targetNs(), "--wait=false"});

  // Every source object says why it waits.
  REQUIRE(waitLogged(daemon,
                     "every source object carries SyncWaiting naming the terminating namespace",
                     30s, [&](std::string& s) {
                       const auto statuses = syncStatuses(scene, s);
                       std::size_t waiting = 0;
                       for (const auto& [name, status] : statuses) {
                         s += " " + name + ": " + status + ";";
                         if (contains(status, R"("result":"SyncWaiting")") &&
                             contains(status, scene.targetNs() + " is terminating")) {
                           ++waiting;
                         }
                       }
                       return waiting == sources.size();
                     }));
  CHECK(scene.countEvents(Side::Source, scene.ns(), "SyncWaiting", "beta", seen) == 1);

  // While it stays Terminating: no namespace create, no write to the target, no reconcile storm.
  const auto before = [&](const std::string& series) {
    std::string s;
    const std::optional<double> value = metricOf(daemon, series, s);
    INFO(s);
    REQUIRE(value);
    return *value;
  };
  const double nsWritesBefore = before("kube_bisync_namespace_writes_total");
  const double reconcilesBefore = before("kube_bisync_reconciles_total{result=\"done\"}") +
                                  before("kube_bisync_reconciles_total{result=\"retry\"}");
  const double targetAppliesBefore =
      before("kube_bisync_writes_total{side=\"target\",operation=\"apply\"}");
  const double statusWritesBefore =
      before("kube_bisync_writes_total{side=\"source\",operation=\"patch\"}");
  CHECK(holdsThroughout(
      "no hot loop window: the namespace stays Terminating, the daemon makes no namespace and no "
      "copy, writes no status again and reconciles little",
      3s, [&](std::string& s) {
        const std::string uid = targetNamespaceUid(scene, s);
        const auto nsWrites = metricOf(daemon, "kube_bisync_namespace_writes_total", s);
        const auto done = metricOf(daemon, "kube_bisync_reconciles_total{result=\"done\"}", s);
        const auto retry = metricOf(daemon, "kube_bisync_reconciles_total{result=\"retry\"}", s);
        const auto applies =
            metricOf(daemon, "kube_bisync_writes_total{side=\"target\",operation=\"apply\"}", s);
        const auto statusWrites =
            metricOf(daemon, "kube_bisync_writes_total{side=\"source\",operation=\"patch\"}", s);
        if (!nsWrites || !done || !retry || !applies || !statusWrites) return false;
        s += " reconciles since: " + std::to_string(*done + *retry - reconcilesBefore);
        // A few per update of the namespace (the namespace controller's retries); a hot loop
        // would be hundreds a second.
        return uid == oldUid && *nsWrites == nsWritesBefore && *applies == targetAppliesBefore &&
               *statusWrites == statusWritesBefore && *done + *retry - reconcilesBefore < 20;
      }));

  // The finalizer goes: the namespace finishes terminating and comes back, new, with every copy.
  kubectl(scene, Side::Target,
          {"-n", scene.targetNs(), "patch", "configmap", "alpha", "--type", "json", "-p",
           R"([{"op":"remove","path":"/metadata/finalizers"}])"});
  std::string newUid;
  REQUIRE(waitLogged(daemon, "the target namespace made again with a new uid", 40s,
                     [&](std::string& s) {
                       newUid = targetNamespaceUid(scene, s);
                       return !newUid.empty() && newUid != oldUid && !contains(s, "terminating");
                     }));
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sourceViews(scene), 30s));
  CHECK(daemon.countLog("created namespace " + scene.targetNs() + " (uid " + newUid + ")") == 1);
  auto record = scene.api().run(scene.api().target().get(
      kube::resources::configMaps(), SyncScene::stateNamespace(), scene.ownershipRecord()));
  REQUIRE(record);
  const std::string recordText = kube::toJson(*record);
  CHECK(contains(recordText, newUid));
  CHECK_FALSE(contains(recordText, oldUid));
  REQUIRE(waitLogged(daemon, "every source object Synced again", 30s, [&](std::string& s) {
    for (const auto& [name, status] : syncStatuses(scene, s)) {
      s += " " + name + ": " + status + ";";
      if (!contains(status, R"("result":"Synced")")) return false;
    }
    return true;
  }));
}

TEST_CASE(
    "a target namespace deleted and made again by someone else while the syncer was down is a "
    "clash and never adopted",
    "[lifecycle][limit_drills]") {
  using namespace limit_drills;
  SyncScene scene("nssquat");
  REQUIRE(scene.tryCreate(Side::Source, kube::resources::configMaps(),
                          configMap(scene.ns(), "alpha", {{"k", "alpha"}})));
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sourceViews(scene), 30s));
  REQUIRE(daemon.terminate() == "exited with status 0");

  // While it is down, a host user deletes the namespace and, once it is gone, makes their own.
  kubectl(scene, Side::Target, {"delete", "namespace", scene.targetNs(), "--wait=true"});
  kubectl(scene, Side::Target, {"create", "namespace", scene.targetNs()});
  std::string seen;
  const std::string hostUid = targetNamespaceUid(scene, seen);
  REQUIRE_FALSE(hostUid.empty());

  daemon.start();
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  REQUIRE(waitLogged(daemon, "a NameClash Event on the source namespace", 30s, [&](std::string& s) {
    return scene.countEvents(Side::Source, "default", "NameClash", scene.ns(), s) >= 1 &&
           contains(s, "deleted and made again by someone else");
  }));
  CHECK(holdsThroughout(
      "quiet window: nothing is copied into the host user's namespace", 2s, [&](std::string& s) {
        return targetNamespaceUid(scene, s) == hostUid && copiedNamesIn(scene, s).empty();
      }));
}

TEST_CASE(
    "objects over maxObjectsPerNamespace are reported SyncFailed and copied once the tenant "
    "deletes "
    "enough",
    "[lifecycle][limit_drills]") {
  using namespace limit_drills;
  SyncScene scene("limits");
  TempDir policies(std::filesystem::temp_directory_path(), "policies-");
  std::ofstream(policies.path() / "configmaps.yaml") << kLimitPolicy;

  // 45 older ones, then 15 made within one second (names break the tie at the limit's edge).
  createNumbered(scene, "old", 45);
  waitForFreshSecond(rankedSources(scene));
  createNumbered(scene, "new", 15);
  const std::vector<Ranked> ranked = rankedSources(scene);
  REQUIRE(ranked.size() == 60);
  INFO("49th " << ranked[49].name << " " << ranked[49].created << ", 50th " << ranked[50].name
               << " " << ranked[50].created);
  REQUIRE(ranked[49].created == ranked[50].created);  // the cut falls inside one second
  std::set<std::string> oldest;
  std::set<std::string> waiting;
  for (std::size_t i = 0; i < ranked.size(); ++i)
    (i < 50 ? oldest : waiting).insert(ranked[i].name);

  // The policy's limit wins over the flag's default for other kinds.
  DaemonProcess daemon(
      scene.testbed(),
      {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--policies", policies.path().string(),
                                               "--max-objects-per-namespace", "1000"})});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  const pid_t pid = daemon.pid();
  const std::string message = "namespace " + scene.ns() +
                              " holds 60 configmaps, over maxObjectsPerNamespace 50: not copied";
  const auto reportedOnce = [&](std::string& s) {
    const auto events = syncFailedEvents(scene, s);
    const auto statuses = syncStatuses(scene, s);
    for (const std::string& name : waiting) {
      const auto event = events.find(name);
      const std::string status = statuses.contains(name) ? statuses.at(name) : "";
      if (event == events.end() || event->second != 1 ||
          !contains(status, R"("result":"SyncFailed")") || !contains(status, message)) {
        s = name + ": " + status + "; " + s;
        return false;
      }
    }
    return events.size() == waiting.size();
  };
  REQUIRE(waitLogged(
      daemon, "exactly the 50 oldest copied, the 10 others reported SyncFailed", 30s,
      [&](std::string& s) { return copiedNames(scene, s) == oldest && reportedOnce(s); }));
  CHECK(holdsThroughout(
      "quiet window: nothing more copied, each refusal reported once", 2s,
      [&](std::string& s) { return copiedNames(scene, s) == oldest && reportedOnce(s); }));
  std::string seen;
  CHECK(daemon.metric("kube_bisync_objects_over_limit", seen) == 10.0);

  // The tenant deletes 15 of the copied ones: room for all 10 waiting, without a restart.
  std::set<std::string> remaining;
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    if (i < 15) {
      REQUIRE(scene.tryRemove(kube::resources::configMaps(), scene.ns(), ranked[i].name));
    } else {
      remaining.insert(ranked[i].name);
    }
  }
  REQUIRE(waitLogged(daemon, "all 45 remaining copied, the 10 that waited Synced", 30s,
                     [&](std::string& s) {
                       if (copiedNames(scene, s) != remaining) return false;
                       for (const auto& [name, status] : syncStatuses(scene, s)) {
                         const bool synced = contains(status, R"("result":"Synced")");
                         if (waiting.contains(name) ? !synced : !(status.empty() || synced)) {
                           s = name + ": " + status + "; " + s;
                           return false;
                         }
                       }
                       return true;
                     }));
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sourceViews(scene), 30s));
  CHECK(daemon.metric("kube_bisync_objects_over_limit", seen) == 0.0);
  CHECK(daemon.running());
  CHECK(daemon.pid() == pid);
}

TEST_CASE(
    "copies that exist are kept and updated when --max-objects-per-namespace is below their "
    "number",
    "[lifecycle][limit_drills]") {
  using namespace limit_drills;
  SyncScene scene("limitlow");
  createNumbered(scene, "old", 6);
  {
    DaemonProcess unlimited(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
    REQUIRE(unlimited.waitForLog(kReadyLine, 30s));
    REQUIRE(
        waitForCopies(unlimited, scene, kube::resources::configMaps(), sourceViews(scene), 30s));
    REQUIRE(unlimited.terminate() == "exited with status 0");
  }
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY,
                                         scene.daemonArgs({"--max-objects-per-namespace", "3"})});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));

  // The tenant changes one of the six and adds a seventh: the change travels, the newcomer waits.
  REQUIRE(
      scene.tryPatchData(kube::resources::configMaps(), scene.ns(), "old-05", {{"k", "changed"}}));
  REQUIRE(scene.tryCreate(Side::Source, kube::resources::configMaps(),
                          configMap(scene.ns(), "new-00", {{"k", "new"}})));
  const std::string message =
      "namespace " + scene.ns() + " holds 7 configmaps, over maxObjectsPerNamespace 3: not copied";
  REQUIRE(waitLogged(daemon, "new-00 reported SyncFailed", 30s, [&](std::string& s) {
    const auto statuses = syncStatuses(scene, s);
    return statuses.contains("new-00") && contains(statuses.at("new-00"), message);
  }));
  Views sources = sourceViews(scene);
  sources.erase("new-00");
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 30s));
  CHECK(holdsThroughout(
      "quiet window: new-00 is not copied, the six copies stay", 2s, [&](std::string& s) {
        return copiedNames(scene, s) ==
               std::set<std::string>{"old-00", "old-01", "old-02", "old-03", "old-04", "old-05"};
      }));
  std::string seen;
  CHECK(daemon.metric("kube_bisync_objects_over_limit", seen) == 1.0);
}

// ---------------------------------------------------------------------------------------------
// Finalizer-guarded deletion, recreation, direction none.
namespace finalizer_drills {

using bisync::testing::CommandResult;
using bisync::testing::kSourceUid;
using bisync::testing::StringMap;

constexpr const char* kFinalizer = "kube-bisync.io/cleanup";
// The tests' own finalizer: it holds a target copy in Terminating until the test lets it go.
constexpr const char* kHold = "drills.example.com/hold";

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
namespace leader_drills {

using Clock = std::chrono::steady_clock;

// Short durations keep the drill short: the others take over 6 s after the last renewal they
// saw, a leader stops writing 4 s after its last successful renewal.
constexpr auto kLeaseDuration = 6s;
constexpr int kObjects = 40;
const std::string kLeaderSeries = "kube_bisync_leader";
const std::string kBecameLeader = "leader election: became leader";
const std::string kFollowing = "not leading: waiting for leadership";

kube::ResourceInfo leases() {
  return {"coordination.k8s.io", "v1", "leases", "Lease", true, false, {}};
}

// Both replicas of one instance; a low --qps makes the sync of kObjects take seconds, so that
// there is a "mid-sync" to kill the leader in.
DaemonOptions replica(const SyncScene& scene) {
  return {BISYNC_DAEMON_BINARY,
          scene.daemonArgs({"--leader-elect", "--leader-elect-lease-duration", "6s",
                            "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period",
                            "1s", "--qps", "10", "--burst", "5"})};
}

std::string leaseName(const SyncScene& scene) { return "kube-bisync-" + scene.cluster(); }

// The identity a replica's current run elects with, from its log ("" until it said so).
std::string identityOf(const DaemonProcess& daemon) {
  const std::string log = daemon.log();
  const std::string marker = " as ";
  const auto line = log.find("leader election: Lease ");
  if (line == std::string::npos) return "";
  const auto start = log.find(marker, line);
  const auto end = log.find(" (", start);
  if (start == std::string::npos || end == std::string::npos) return "";
  return log.substr(start + marker.size(), end - start - marker.size());
}

// The Lease's holderIdentity ("" when it has none; "<unreadable>" when it cannot be read).
std::string leaseHolder(SyncScene& scene, std::string& seen) {
  auto lease = scene.api().run(scene.api()
                                   .client(Side::Target)
                                   .get(leases(), SyncScene::stateNamespace(), leaseName(scene)));
  if (!lease) {
    seen += " Lease: " + lease.error().describe() + ";";
    return "<unreadable>";
  }
  const std::string holder(kube::stringAt(*lease, "/spec/holderIdentity"));
  seen += " Lease held by '" + holder + "';";
  return holder;
}

// Waits until `daemon` leads: its kube_bisync_leader is 1 and the Lease names it.
bisync::testing::WaitOutcome waitForLeader(SyncScene& scene, DaemonProcess& daemon,
                                           std::chrono::milliseconds timeout) {
  const std::string identity = identityOf(daemon);
  return waitLogged(daemon, "the replica " + identity + " leads (metric and Lease)", timeout,
                    [&](std::string& seen) {
                      return daemon.metric(kLeaderSeries, seen) == 1.0 &&
                             leaseHolder(scene, seen) == identity;
                    });
}

// Every write a replica counts in its /metrics, summed; nullopt when the scrape fails.
std::optional<double> writesCounted(const DaemonProcess& daemon, std::string& seen) {
  double sum = 0;
  for (const std::string side : {"target", "source"}) {
    for (const std::string operation : {"apply", "patch", "create", "delete"}) {
      const auto value = daemon.metric(
          "kube_bisync_writes_total{side=\"" + side + "\",operation=\"" + operation + "\"}", seen);
      if (!value) return std::nullopt;
      sum += *value;
    }
  }
  for (const std::string series :
       {"kube_bisync_namespace_writes_total", "kube_bisync_events_total"}) {
    const auto value = daemon.metric(series, seen);
    if (!value) return std::nullopt;
    sum += *value;
  }
  return sum;
}

// The target copies of the scene's namespace that carry our managed-by label, by name.
std::optional<Views> managedCopies(SyncScene& scene, std::string& seen) {
  std::optional<Views> copies =
      scene.list(Side::Target, kube::resources::configMaps(), scene.targetNs(), seen);
  if (!copies) return std::nullopt;
  std::erase_if(*copies, [&](const auto& entry) {
    return bisync::testing::lookup(entry.second.labels, bisync::testing::kManagedBy) == "<absent>";
  });
  return copies;
}

// Every source has exactly one correct copy, and there is no other managed copy.
bisync::testing::WaitOutcome waitConverged(SyncScene& scene, DaemonProcess& leader,
                                           const Views& sources) {
  return waitLogged(
      leader, "each source has exactly one correct copy, and no copy is left over", 40s,
      [&](std::string& seen) {
        const std::optional<Views> copies = managedCopies(scene, seen);
        if (!copies) return false;
        const std::size_t correct =
            bisync::testing::countCorrectCopies(sources, *copies, scene, scene.ns(), seen);
        seen += " " + std::to_string(correct) + " correct of " + std::to_string(sources.size()) +
                ", " + std::to_string(copies->size()) + " managed copies;";
        return correct == sources.size() && copies->size() == sources.size();
      },
      250ms);
}

// The resourceVersion of every managed copy, by name.
std::map<std::string, std::string> copyVersions(SyncScene& scene) {
  std::string seen;
  const std::optional<Views> copies = managedCopies(scene, seen);
  INFO(seen);
  REQUIRE(copies);
  std::map<std::string, std::string> versions;
  for (const auto& [name, copy] : *copies) versions[name] = copy.resourceVersion;
  return versions;
}

// Deletes the drill's Lease at the end (after the replicas, which are declared later, are gone).
struct LeaseCleanup {
  SyncScene& scene;
  ~LeaseCleanup() {
    (void)scene.api().run(scene.api()
                              .client(Side::Target)
                              .remove(leases(), SyncScene::stateNamespace(), leaseName(scene)));
  }
};

// Starts `daemon`'s replica anew and waits until it follows with warm caches.
void startFollower(DaemonProcess& daemon) {
  daemon.start();
  REQUIRE(daemon.waitForLog(kFollowing, 30s));
}

// The first part: the leader is SIGKILLed while it copies; the follower takes over within the
// lease duration plus 5 s and converges. Returns the sources.
Views killLeaderMidSync(SyncScene& scene, DaemonProcess& first, DaemonProcess& second) {
  REQUIRE(waitForLeader(scene, first, 10s));
  REQUIRE(second.waitForLog(kFollowing, 30s));
  std::string seen;
  CHECK(second.metric(kLeaderSeries, seen) == 0.0);
  // A follower with warm caches is ready, and says who leads.
  bisync::testing::ProbeRequest readyz;
  readyz.url = second.opsUrl() + "/readyz";
  const bisync::testing::ProbeResult ready = bisync::testing::httpGet(readyz);
  INFO("/readyz of the follower: " << ready.status << " " << ready.body << ready.error);
  CHECK(ready.status == 200);
  CHECK_THAT(ready.body, Catch::Contains("leader: no (held by " + identityOf(first) + ")"));

  auto created =
      scene.tryCreateAll(kube::resources::configMaps(),
                         bisync::testing::numberedConfigMaps(scene.ns(), kObjects, "v1"));
  INFO((created ? std::string("created") : created.error()));
  REQUIRE(created);
  REQUIRE(waitLogged(
      first, "the leader has made a few copies (it is mid-sync)", 30s,
      [&](std::string& s) {
        const std::optional<Views> copies = managedCopies(scene, s);
        s += " " + std::to_string(copies ? copies->size() : 0) + " copies;";
        return copies && copies->size() >= 3;
      },
      20ms));
  const std::optional<Views> before = managedCopies(scene, seen);
  CHECK(writesCounted(second, seen) == 0.0);  // the follower writes nothing
  REQUIRE(::kill(first.pid(), SIGKILL) == 0);
  const auto killed = Clock::now();
  INFO("copies when the leader was killed: " << (before ? before->size() : 0) << " of "
                                             << kObjects);
  CHECK((before && before->size() < static_cast<std::size_t>(kObjects)));
  (void)first.waitExit(5s);
  const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(kLeaseDuration + 5s -
                                                                           (Clock::now() - killed));
  REQUIRE(waitForLeader(scene, second, bound));
  INFO("taken over "
       << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count()
       << " ms after SIGKILL");
  CHECK(Clock::now() - killed <= kLeaseDuration + 5s);
  REQUIRE(waitConverged(scene, second, *created));
  return *created;
}

// The count of its writes a replica that lost the lease logs as it exits ("... (N writes
// made)"); nullopt when it did not log one.
std::optional<double> writesAtExit(const DaemonProcess& daemon) {
  const std::string log = daemon.log();
  const auto lost = log.find("leader election lost");
  const auto count = log.find("(", log.find("without further writes", lost));
  if (lost == std::string::npos || count == std::string::npos) return std::nullopt;
  return std::stod(log.substr(count + 1));
}

// The second part: the leader (`old`) is paused past its Lease, `next` (restarted as a follower)
// takes over and converges with work of its own; the old leader, resumed, writes nothing: it
// exits with status 1 and no copy changes.
void pauseLeaderThenResume(SyncScene& scene, DaemonProcess& old, DaemonProcess& next,
                           Views& sources) {
  startFollower(next);
  // The old leader's own count of its writes (/metrics), once it has settled: the count it
  // logs when it exits must be the same.
  std::optional<double> oldWrites;
  REQUIRE(bisync::testing::waitFor(
      "the old leader settled: no write of its own for 1 s", 15s,
      [&](std::string& s) {
        const std::optional<double> now = writesCounted(old, s);
        const bool settled = now && now == oldWrites;
        oldWrites = now;
        return settled;
      },
      1s));
  REQUIRE(::kill(old.pid(), SIGSTOP) == 0);
  const auto paused = Clock::now();
  REQUIRE(waitForLeader(scene, next, kLeaseDuration + 5s));
  INFO("taken over "
       << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - paused).count()
       << " ms after the pause");
  // Work for the new leader while the old one is paused: five sources change.
  for (int i = 0; i < 5; ++i) {
    const std::string name = "cm-00" + std::to_string(i);
    auto patched = scene.tryPatchData(kube::resources::configMaps(), scene.ns(), name,
                                      {{"k", "while-paused"}});
    REQUIRE(patched);
    sources[name] = bisync::testing::viewOf(*patched);
  }
  REQUIRE(waitConverged(scene, next, sources));
  const std::map<std::string, std::string> versions = copyVersions(scene);
  std::string seen;
  const std::optional<double> leaderWrites = writesCounted(next, seen);
  INFO(seen);
  REQUIRE(leaderWrites);

  REQUIRE(::kill(old.pid(), SIGCONT) == 0);
  CHECK(old.waitExit(15s) == "exited with status 1");
  CHECK(old.countLog("leader election lost") >= 1);
  CHECK(writesAtExit(old) == oldWrites);
  CHECK(holdsThroughout("the quiet 5 s after the resumed old leader exited: no copy changes", 5s,
                        [&](std::string& s) {
                          const auto now = copyVersions(scene);
                          s = std::to_string(now.size()) + " copies";
                          return now == versions;
                        }));
  CHECK(writesCounted(next, seen) == leaderWrites);
  CHECK(next.metric(kLeaderSeries, seen) == 1.0);
}

// The third part: the leader's SIGTERM releases the Lease, so the follower takes over well
// before the lease duration.
void terminateLeader(SyncScene& scene, DaemonProcess& leader, DaemonProcess& follower,
                     const Views& sources) {
  startFollower(follower);
  REQUIRE(::kill(leader.pid(), SIGTERM) == 0);
  const auto terminated = Clock::now();
  CHECK(leader.waitExit(30s) == "exited with status 0");
  CHECK(leader.countLog("leader election: released Lease") == 1);
  REQUIRE(waitForLeader(scene, follower, 4s));
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - terminated);
  INFO("taken over " << took.count() << " ms after SIGTERM");
  CHECK(took < kLeaseDuration);
  REQUIRE(waitConverged(scene, follower, sources));
}

TEST_CASE(
    "killing the leader with SIGKILL mid-sync hands over to the other replica, which converges "
    "with no lost and no duplicate copies",
    "[leader][lifecycle]") {
  SyncScene scene("leader");
  LeaseCleanup cleanup{scene};
  DaemonProcess first(scene.testbed(), replica(scene));
  // The second replica starts once the first leads, so that the roles are known.
  REQUIRE(first.waitForLog(kBecameLeader, 30s));
  DaemonProcess second(scene.testbed(), replica(scene));
  Views sources = killLeaderMidSync(scene, first, second);
  pauseLeaderThenResume(scene, second, first, sources);
  terminateLeader(scene, first, second, sources);
}

TEST_CASE("leader election durations that leave a leader no time to stop are refused with exit 2",
          "[leader]") {
  SyncScene scene("leaderflags");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "6s"},
       "the renew deadline must be shorter than the lease duration"},
      {{"--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "4s"},
       "the retry period must be shorter than the renew deadline"},
      {{"--leader-elect-retry-period", "soon"}, "is not a duration"},
  };
  for (const auto& [flags, reason] : refused) {
    std::vector<std::string> args = {"--leader-elect"};
    args.insert(args.end(), flags.begin(), flags.end());
    DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs(args)});
    CHECK(daemon.waitExit(30s) == "exited with status 2");
    INFO(daemon.logTail());
    CHECK(daemon.countLog(reason) == 1);
    CHECK(daemon.countLog("leader election: Lease") == 0);  // refused before it connected
  }
}

}  // namespace leader_drills

// ---------------------------------------------------------------------------------------------
// Least-privilege RBAC of examples/deploy, permission failures.
namespace rbac_drills {

using bisync::testing::httpGet;
using bisync::testing::ProbeRequest;

const std::filesystem::path kDeployDir = std::filesystem::path(BISYNC_EXAMPLES_DIR) / "deploy";
// The rule of kube-bisync-host (host-rbac.yaml) that lets the syncer write the synced kinds.
constexpr const char* kCopiesRule = "/rules/1/verbs";

// kubectl as admin against `side`; the test stops when it fails.
std::string kubectl(Testbed& testbed, Side side, const std::vector<std::string>& args) {
  const bisync::testing::CommandResult result = testbed.kubectl(side, args);
  INFO("kubectl " << args.front() << " on the " << bisync::testing::toString(side) << ": "
                  << result.summary());
  REQUIRE(result.ok());
  return result.out;
}

// A kubeconfig for `side` that authenticates with `token` (a ServiceAccount's), trusting the
// testbed's serving certificate.
std::filesystem::path tokenKubeconfig(const Testbed& testbed, Side side, const std::string& token,
                                      const std::filesystem::path& path) {
  const bisync::testing::ApiServerInfo& server = testbed.server(side);
  std::ofstream(path) << "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                      << "    server: " << server.url << "\n"
                      << "    certificate-authority: " << server.caFile << "\n"
                      << "users:\n- name: u\n  user:\n    token: " << token << "\n"
                      << "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                      << "current-context: x\n";
  return path;
}

// The container args of examples/deploy/deployment.yaml, turned into a run against the
// testbed: the kubeconfig flags point at `source`/`target` (in-cluster on the host becomes the
// target kubeconfig), the cluster name is the scene's, the HTTP endpoints go to free loopback
// ports (DaemonProcess), and only the scene's namespace is synced.
std::vector<std::string> deploymentArgs(const SyncScene& scene, const std::string& source,
                                        const std::string& target) {
  const YAML::Node deployment = YAML::LoadFile((kDeployDir / "deployment.yaml").string());
  const YAML::Node container = deployment["spec"]["template"]["spec"]["containers"][0];
  std::vector<std::string> args;
  for (const YAML::Node& arg : container["args"]) {
    const std::string text = arg.as<std::string>();
    if (text.starts_with("--source-kubeconfig=")) {
      args.push_back("--source-kubeconfig=" + source);
    } else if (text == "--target-in-cluster") {
      args.push_back("--target-kubeconfig=" + target);
    } else if (text.starts_with("--cluster-name=")) {
      args.push_back("--cluster-name=" + scene.cluster());
    } else if (!text.starts_with("--metrics-bind-address") &&
               !text.starts_with("--health-probe-bind-address")) {
      args.push_back(text);
    }
  }
  args.insert(args.end(), {"--namespaces", scene.ns(), "-v", "2"});
  return args;
}

// A token of the ServiceAccount kube-bisync in `ns` on `side`, from the TokenRequest API.
std::string serviceAccountToken(Testbed& testbed, Side side, const std::string& ns) {
  std::string token = kubectl(testbed, side, {"-n", ns, "create", "token", "kube-bisync"});
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  return token;
}

std::optional<double> metricValue(const DaemonProcess& daemon, const std::string& series,
                                  std::string& seen) {
  std::string scraped;
  const std::optional<double> value = daemon.metric(series, scraped);
  seen += " " + scraped + ";";
  return value;
}

TEST_CASE("the least-privilege manifests of examples/deploy are enough to sync", "[rbac]") {
  SyncScene scene("rbac");
  Testbed& testbed = scene.testbed();
  kubectl(testbed, Side::Target, {"apply", "-f", (kDeployDir / "namespace.yaml").string()});
  kubectl(testbed, Side::Target, {"apply", "-f", (kDeployDir / "host-rbac.yaml").string()});
  kubectl(testbed, Side::Source, {"apply", "-f", (kDeployDir / "virtual-rbac.yaml").string()});
  const TempDir dir(testbed.dir(), "rbac-");
  const std::string source = tokenKubeconfig(
      testbed, Side::Source, serviceAccountToken(testbed, Side::Source, "kube-system"),
      dir.path() / "virtual.kubeconfig");
  const std::string target = tokenKubeconfig(
      testbed, Side::Target, serviceAccountToken(testbed, Side::Target, "kube-bisync"),
      dir.path() / "host.kubeconfig");
  Views sources;
  for (const std::string name : {"app-settings", "feature-flags"}) {
    auto created = scene.tryCreate(Side::Source, kube::resources::configMaps(),
                                   configMap(scene.ns(), name, {{"k", name}}));
    REQUIRE(created);
    sources.emplace(name, viewOf(*created));
  }
  DaemonProcess daemon(testbed, DaemonOptions{.binary = BISYNC_DAEMON_BINARY,
                                              .args = deploymentArgs(scene, source, target),
                                              .kubeconfigFlags = false});
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 60s));
  std::string seen;
  CHECK(metricValue(daemon, "kube_bisync_degraded", seen) == 0.0);
  CHECK_FALSE(metricValue(daemon, kForbiddenSeries, seen).has_value());
  INFO(seen);

  SECTION("without one verb the failure is visible, and sync resumes once it is back") {
    const pid_t pid = daemon.pid();
    kubectl(testbed, Side::Target,
            {"patch", "clusterrole", "kube-bisync-host", "--type", "json", "-p",
             std::string(R"([{"op":"replace","path":")") + kCopiesRule +
                 R"(","value":["get","list","watch","create","delete"]}])"});
    auto late = scene.tryCreate(Side::Source, kube::resources::configMaps(),
                                configMap(scene.ns(), "late", {{"k", "late"}}));
    REQUIRE(late);
    REQUIRE(waitLogged(
        daemon, "the refused apply is counted, degraded and reported", 60s, [&](std::string& s) {
          std::string events;
          const bool event =
              scene.countEvents(Side::Source, scene.ns(), "Forbidden", "late", events) >= 1;
          s += " Forbidden Events:" + events;
          return metricValue(daemon, kForbiddenSeries, s).value_or(0) >= 1 &&
                 metricValue(daemon, "kube_bisync_degraded", s) == 1.0 && event;
        }));
    ProbeRequest readyz;
    readyz.url = daemon.opsUrl() + "/readyz";
    CHECK(httpGet(readyz).status == 200);

    kubectl(testbed, Side::Target, {"apply", "-f", (kDeployDir / "host-rbac.yaml").string()});
    sources.emplace("late", viewOf(*late));
    REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 60s));
    REQUIRE(waitLogged(daemon, "degraded clears", 30s, [&](std::string& s) {
      return metricValue(daemon, "kube_bisync_degraded", s) == 0.0;
    }));
    CHECK(daemon.pid() == pid);
    CHECK(daemon.running());
  }
}

}  // namespace rbac_drills

// ---------------------------------------------------------------------------------------------
// Forbidden answers on either side: reported, degraded, resumed.
namespace forbidden_drills {

using bisync::testing::Auth;
using bisync::testing::waitFor;

// What the daemon logs once per (side, verb, resource) when it becomes forbidden, and again.
constexpr const char* kForbiddenLine =
    "forbidden: the target API server refuses patch on configmaps";
constexpr const char* kPermittedLine =
    "permitted again: the target API server allows patch on configmaps";

// The target identity of the drill: user "viewer" (no grants of its own) bound to a ClusterRole
// of this scene (named apart from other drills that bind "viewer"), deleted at scope end.
class ViewerGrant {
 public:
  explicit ViewerGrant(SyncScene& scene)
      : scene_(scene),
        name_("forbidden-drill-" + scene.cluster()),
        dir_(scene.testbed().dir(), "forbidden-drill-") {}
  ~ViewerGrant() {
    scene_.testbed().kubectl(
        Side::Target, {"delete", "clusterrolebinding,clusterrole", name_, "--ignore-not-found"});
  }
  ViewerGrant(const ViewerGrant&) = delete;
  ViewerGrant& operator=(const ViewerGrant&) = delete;

  // Grants what the daemon needs on the target; without `patchConfigMaps`, every ConfigMap but
  // the daemon's ownership record may not be patched (server-side apply is a patch).
  void apply(bool patchConfigMaps) {
    const std::string configMapVerbs = patchConfigMaps
                                           ? "[get, list, watch, create, update, patch, delete]"
                                           : "[get, list, watch, create, update, delete]";
    const std::string manifest =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: " + name_ +
        "\nrules:\n"
        "- apiGroups: ['*']\n  resources: ['*']\n  verbs: [get, list, watch]\n"
        "- apiGroups: ['']\n  resources: [configmaps]\n  verbs: " +
        configMapVerbs +
        "\n"
        "- apiGroups: ['']\n  resources: [configmaps]\n  resourceNames: [" +
        scene_.ownershipRecord() +
        "]\n  verbs: [patch]\n"
        "- apiGroups: ['']\n  resources: [secrets, namespaces, events]\n  verbs: ['*']\n"
        "- apiGroups: [coordination.k8s.io]\n  resources: [leases]\n  verbs: ['*']\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
        "  name: " +
        name_ +
        "\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: " + name_ +
        "\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: viewer\n";
    const std::filesystem::path file = dir_.path() / "rbac.yaml";
    std::ofstream(file) << manifest;
    const bisync::testing::CommandResult applied =
        scene_.testbed().kubectl(Side::Target, {"apply", "-f", file.string()});
    INFO("kubectl apply the viewer's ClusterRole: " << applied.summary());
    REQUIRE(applied.ok());
  }

  // The daemon's options: admin on the source, "viewer" on the target.
  DaemonOptions daemonOptions() const {
    const bisync::testing::Testbed& testbed = scene_.testbed();
    const std::string source =
        testbed.writeKubeconfig(Side::Source, Auth::AdminToken, dir_.path() / "source.kubeconfig");
    const std::string target =
        testbed.writeKubeconfig(Side::Target, Auth::ViewerToken, dir_.path() / "target.kubeconfig");
    std::vector<std::string> args{"--source-kubeconfig", source, "--target-kubeconfig", target};
    for (std::string& arg : scene_.daemonArgs()) args.push_back(std::move(arg));
    return {BISYNC_DAEMON_BINARY, std::move(args), false};
  }

 private:
  SyncScene& scene_;
  std::string name_;
  TempDir dir_;
};

bisync::testing::ProbeResult readyz(const DaemonProcess& daemon) {
  bisync::testing::ProbeRequest request;
  request.url = daemon.opsUrl() + "/readyz";
  return bisync::testing::httpGet(request);
}

TEST_CASE("a forbidden write is reported once and sync resumes when the permission is back",
          "[lifecycle][forbidden]") {
  SyncScene scene("forbid");
  ViewerGrant grant(scene);
  grant.apply(true);
  DaemonProcess daemon(scene.testbed(), grant.daemonOptions());
  REQUIRE(daemon.waitForLog(bisync::testing::kReadyLine, 60s));
  const pid_t pid = daemon.pid();

  grant.apply(false);
  // The API server's RBAC cache takes a moment to see the change: the test goes on once the
  // server itself says no.
  REQUIRE(waitFor("the target refuses viewer patch on configmaps", 20s, [&](std::string& s) {
    const bisync::testing::CommandResult canI = scene.testbed().kubectl(
        Side::Target,
        {"auth", "can-i", "patch", "configmaps", "--as", "viewer", "-n", scene.targetNs()});
    s = canI.out + canI.summary();
    return canI.exitCode == 1 && canI.out.find("no") != std::string::npos;
  }));
  auto created = scene.tryCreateAll(kube::resources::configMaps(),
                                    bisync::testing::numberedConfigMaps(scene.ns(), 3, "v"));
  INFO((created ? "created" : created.error()));
  REQUIRE(created);
  const Views& sources = *created;

  // Refused with backoff: several 403s, one log line, degraded, still ready.
  CHECK(waitLogged(daemon, "three or more 403s on patch configmaps", 30s, [&](std::string& s) {
    return daemon.metric(kForbiddenSeries, s).value_or(0) >= 3;
  }));
  std::string seen;
  CHECK(daemon.metric("kube_bisync_degraded", seen) == 1.0);
  CHECK(daemon.countLog(kForbiddenLine) == 1);
  const bisync::testing::ProbeResult degraded = readyz(daemon);
  INFO("readyz: " << degraded.status << " " << degraded.body << degraded.error);
  CHECK(degraded.status == 200);
  CHECK(degraded.body.find("forbids patch on configmaps") != std::string::npos);
  CHECK(waitLogged(daemon, "a Forbidden Event on source cm-000", 30s, [&](std::string& s) {
    return scene.countEvents(Side::Source, scene.ns(), "Forbidden", "cm-000", s) >= 1 &&
           s.find("the target API server forbids patch on configmaps") != std::string::npos;
  }));
  std::string copies;
  const auto listed =
      scene.list(Side::Target, kube::resources::configMaps(), scene.targetNs(), copies);
  INFO(copies);
  CHECK((listed && listed->count("cm-000") == 0));

  grant.apply(true);
  CHECK(bisync::testing::waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 45s));
  CHECK(waitLogged(daemon, "kube_bisync_degraded back to 0", 30s, [&](std::string& s) {
    return daemon.metric("kube_bisync_degraded", s) == 0.0;
  }));
  CHECK(daemon.countLog(kPermittedLine) == 1);
  CHECK(daemon.countLog(kForbiddenLine) == 1);
  CHECK(daemon.running());
  CHECK(daemon.pid() == pid);
}

}  // namespace forbidden_drills
