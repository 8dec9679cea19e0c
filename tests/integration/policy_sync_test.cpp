// The daemon syncing under a SyncPolicy (--policies DIR), as a real process against the
// testbed's two API servers: `both` labels in both directions, the conflict strategies,
// takeovers of fields other field managers own, target-owned annotations, objects made on the
// target (createOnSource), restarts between a change and its sync, and fights. Changes are made
// with kubectl (a real client, its own field managers) or the project's client; waits poll with
// a deadline and show what they saw and the daemon's log on timeout.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "syncer/kube/client.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::ClusterCleanup;
using bisync::testing::configMap;
using bisync::testing::DaemonProcess;
using bisync::testing::describe;
using bisync::testing::kManagedBy;
using bisync::testing::kReadyLine;
using bisync::testing::lookup;
using bisync::testing::priorityClasses;
using bisync::testing::priorityClassObject;
using bisync::testing::priorityClassPolicy;
using bisync::testing::Side;
using bisync::testing::StringMap;
using bisync::testing::stringMapAt;
using bisync::testing::TempDir;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

constexpr const char* kSyncStatus = "kube-bisync.io/sync-status";
constexpr const char* kCreatedFromTarget = "kube-bisync.io/created-from-target";

// A ConfigMap policy: /data from the source, every label shared (`labels` strategy), the
// host.io/ annotations from the target, other annotations from the source.
std::string configMapPolicy(const std::string& labelsStrategy, bool createOnSource = false) {
  return "apiVersion: kube-bisync.io/v1alpha1\n"
         "kind: SyncPolicy\n"
         "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
         "direction: bidirectional\n"
         "fields:\n"
         "  - path: /data\n"
         "    owner: source\n"
         "  - path: /metadata/labels/*\n"
         "    owner: both\n"
         "    onConflict: " +
         labelsStrategy +
         "\n"
         "  - path: /metadata/annotations/host.io~1*\n"
         "    owner: target\n"
         "  - path: /metadata/annotations/*\n"
         "    owner: source\n" +
         (createOnSource ? "createOnSource: true\n" : "");
}

// One policy scene: a SyncScene, a policy directory holding `policy`, the daemon's options.
class PolicyScene : public bisync::testing::SyncScene {
 public:
  PolicyScene(std::string_view prefix, const std::string& policy)
      : SyncScene(prefix), dir_(std::filesystem::temp_directory_path(), "policies-") {
    std::ofstream(dir_.path() / "configmaps.yaml") << policy;
  }

  // Another policy beside the ConfigMap one.
  void addPolicy(const std::string& file, const std::string& text) {
    std::ofstream(dir_.path() / file) << text;
  }

  bisync::testing::DaemonOptions daemon(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"--policies", dir_.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return {BISYNC_DAEMON_BINARY, daemonArgs(args)};
  }

  // The same daemon, reaching `side` through `proxy` (so that a test can delay it).
  bisync::testing::DaemonOptions daemonThrough(Side side, bisync::testing::TcpProxy& proxy,
                                               const std::vector<std::string>& extra = {}) {
    return bisync::testing::daemonThrough(testbed(), side, proxy.url(), dir_.path(), daemon(extra));
  }

  // kubectl against one side, in the namespace the scene maps on that side.
  void kubectl(Side side, std::vector<std::string> args) {
    args.insert(args.begin(), {"-n", side == Side::Source ? ns() : targetNs()});
    const bisync::testing::CommandResult result = testbed().kubectl(side, args);
    INFO("kubectl " << describeArgs(args) << ": " << result.summary());
    REQUIRE(result.ok());
  }

  // The ConfigMap `name` on `side` (nullopt when absent, or unreadable: `seen` says which).
  std::optional<kube::Json> get(Side side, const std::string& name, std::string& seen) {
    const kube::ResourceInfo cms = kube::resources::configMaps();
    const std::string where = side == Side::Source ? ns() : targetNs();
    auto object = api().run(api().client(side).get(cms, where, name));
    if (!object) {
      seen = object.error().describe();
      return std::nullopt;
    }
    return std::move(*object);
  }

  std::string label(Side side, const std::string& name, const std::string& key, std::string& seen) {
    auto object = get(side, name, seen);
    if (!object) return "<no object>";
    const StringMap labels = stringMapAt(*object, "/metadata/labels");
    seen +=
        std::string(side == Side::Source ? " source" : " target") + " labels: " + describe(labels);
    return lookup(labels, key);
  }

  std::string resourceVersion(Side side, const std::string& name) {
    std::string seen;
    auto object = get(side, name, seen);
    INFO(seen);
    REQUIRE(object);
    return std::string(kube::resourceVersionOf(*object));
  }

  // Messages of the Events with `reason` about the source object `name`.
  std::vector<std::string> events(const std::string& name, const std::string& reason) {
    const bisync::testing::CommandResult listed =
        testbed().kubectl(Side::Source, {"-n", ns(), "get", "events", "-o", "json"});
    std::vector<std::string> messages;
    if (!listed.ok()) return messages;
    auto parsed = kube::parseJson(listed.out, "kubectl get events");
    if (!parsed) return messages;
    const kube::JsonValue* items = kube::member(*parsed, "items");
    if (items == nullptr || !items->IsArray()) return messages;
    for (const kube::JsonValue& event : items->GetArray()) {
      if (kube::stringMember(event, "reason") != reason) continue;
      if (kube::stringAt(event, "/involvedObject/name") != name) continue;
      messages.emplace_back(kube::stringMember(event, "message"));
    }
    return messages;
  }

 private:
  static std::string describeArgs(const std::vector<std::string>& args) {
    std::string text;
    for (const std::string& arg : args) text += (text.empty() ? "" : " ") + arg;
    return text;
  }
  TempDir dir_;
};

bool anyContains(const std::vector<std::string>& messages, const std::string& text) {
  for (const std::string& message : messages) {
    if (message.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& messages) {
  std::string text;
  for (const std::string& message : messages) text += "\n  " + message;
  return text.empty() ? " (none)" : text;
}

// How often the resourceVersion of ConfigMap `name` changed on either side during `window`
// (sampled every 250 ms): an observation window the test names, not a wait for a result.
int versionChanges(PolicyScene& scene, const std::string& name, std::chrono::seconds window) {
  std::string source = scene.resourceVersion(Side::Source, name);
  std::string target = scene.resourceVersion(Side::Target, name);
  int changes = 0;
  const auto until = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(250ms);
    const std::string s = scene.resourceVersion(Side::Source, name);
    const std::string t = scene.resourceVersion(Side::Target, name);
    if (s != source || t != target) ++changes;
    source = s;
    target = t;
  }
  return changes;
}

#define REQUIRE_READY(daemon) REQUIRE((daemon).waitForLog(kReadyLine, 60s))

// Waits until the target copy of ConfigMap `name` exists.
#define REQUIRE_COPY(daemon, scene, name)                                                  \
  REQUIRE(waitLogged((daemon), std::string("the target copy of ") + name + " exists", 30s, \
                     [&](std::string& observed) {                                          \
                       return (scene).get(Side::Target, name, observed).has_value();       \
                     }))

// Waits until the label `key` of `name` is `value` on `side` ("<absent>" for a removed one).
#define REQUIRE_LABEL(daemon, scene, side, name, key, value)                                     \
  REQUIRE(waitLogged(                                                                            \
      (daemon),                                                                                  \
      std::string(side == Side::Source ? "source" : "target") + " label " + key + " = " + value, \
      30s,                                                                                       \
      [&](std::string& observed) { return (scene).label(side, name, key, observed) == (value); }))

// Waits until the target object `name` is managed by the scene's instance (for an object made on
// the target: adopted as the copy of the source object made from it).
#define REQUIRE_ADOPTED(daemon, scene, name)                                                       \
  REQUIRE(waitLogged((daemon),                                                                     \
                     std::string(name) + " on the target is managed by " + (scene).cluster(), 30s, \
                     [&](std::string& s) {                                                         \
                       auto object = (scene).get(Side::Target, name, s);                           \
                       if (!object) return false;                                                  \
                       const StringMap labels = stringMapAt(*object, "/metadata/labels");          \
                       s = "target labels " + describe(labels);                                    \
                       return lookup(labels, kManagedBy) == (scene).cluster();                     \
                     }))

// The set-up of the race tests: a daemon that reaches `side` through a proxy the test can delay
// or cut, ready and holding the copy of the source ConfigMap "anchor", so that the target
// namespace exists.
struct AnchoredDaemon {
  AnchoredDaemon(PolicyScene& scene, Side side, const std::vector<std::string>& extra = {})
      : proxy("127.0.0.1", scene.testbed().server(side).port),
        daemon(scene.testbed(), scene.daemonThrough(side, proxy, extra)) {
    scene.kubectl(Side::Source, {"create", "configmap", "anchor", "--from-literal=k=v"});
    REQUIRE_READY(daemon);
    REQUIRE_COPY(daemon, scene, "anchor");
  }
  bisync::testing::TcpProxy proxy;
  DaemonProcess daemon;
};

// Creates ConfigMap `name` on the target as the host does, opted in to createOnSource.
void makeOnHost(PolicyScene& scene, const std::string& name) {
  scene.kubectl(Side::Target, {"create", "configmap", name, "--from-literal=k=host"});
  scene.kubectl(Side::Target, {"label", "configmap", name, "kube-bisync.io/create-on-source=true"});
}

// The copied-up entries of the daemon's ownership record (each entry's value, parsed); `seen`
// says what was read.
std::vector<kube::Json> copiedUpEntries(PolicyScene& scene, std::string& seen) {
  auto record = scene.api().run(scene.api().target().get(
      kube::resources::configMaps(), PolicyScene::stateNamespace(), scene.ownershipRecord()));
  std::vector<kube::Json> entries;
  if (!record) {
    seen = "the ownership record: " + record.error().describe();
    return entries;
  }
  const kube::JsonValue* data = kube::member(*record, "data");
  seen = "the ownership record: " + (data != nullptr ? kube::toJson(*data) : "no data");
  if (data == nullptr || !data->IsObject()) return entries;
  for (const auto& member : data->GetObject()) {
    if (!std::string_view(member.name.GetString()).starts_with("copied-up.")) continue;
    auto value = kube::parseJson(member.value.GetString(), "a record entry");
    if (value) entries.push_back(std::move(*value));
  }
  return entries;
}

// Whether the record holds an unfinished copy-up (no source uid) of the target object `uid`.
bool copyUpPending(PolicyScene& scene, const std::string& uid, std::string& seen) {
  for (const kube::Json& entry : copiedUpEntries(scene, seen)) {
    if (kube::stringMember(entry, "targetUid") == uid &&
        kube::stringMember(entry, "sourceUid").empty()) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("a label owned by both sides travels both ways, and so does its removal", "[policy]") {
  PolicyScene scene("both", configMapPolicy("newest-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "shared", "--from-literal=k=v"});
  scene.kubectl(Side::Source, {"label", "configmap", "shared", "tier=a"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE_LABEL(daemon, scene, Side::Target, "shared", "tier", "a");

  // Changed on the source, it reaches the target.
  scene.kubectl(Side::Source, {"label", "--overwrite", "configmap", "shared", "tier=b"});
  REQUIRE_LABEL(daemon, scene, Side::Target, "shared", "tier", "b");
  // Changed on the target, it reaches the source.
  scene.kubectl(Side::Target, {"label", "--overwrite", "configmap", "shared", "tier=c"});
  REQUIRE_LABEL(daemon, scene, Side::Source, "shared", "tier", "c");
  // Added on the target, it reaches the source; removed there, it goes on the source too.
  scene.kubectl(Side::Target, {"label", "configmap", "shared", "team=blue"});
  REQUIRE_LABEL(daemon, scene, Side::Source, "shared", "team", "blue");
  scene.kubectl(Side::Target, {"label", "configmap", "shared", "team-"});
  REQUIRE_LABEL(daemon, scene, Side::Source, "shared", "team", "<absent>");
  // Removed on the source, it goes on the target.
  scene.kubectl(Side::Source, {"label", "configmap", "shared", "tier-"});
  REQUIRE_LABEL(daemon, scene, Side::Target, "shared", "tier", "<absent>");
  std::string seen;
  CHECK(scene.label(Side::Source, "shared", "tier", seen) == "<absent>");
  CHECK(daemon.running());
}

TEST_CASE(
    "two writers changing one both-owned label for 30 s with newest-wins converge within 5 s, "
    "then the syncer writes nothing for 30 s",
    "[policy]") {
  PolicyScene scene("race", configMapPolicy("newest-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "raced", "--from-literal=k=v"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  std::string seen;
  REQUIRE_COPY(daemon, scene, "raced");

  // Each writer merge-patches the label on its side as fast as its server answers, with a
  // pause that differs per side so that the writes interleave unevenly.
  const kube::ResourceInfo cms = kube::resources::configMaps();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto writer = [&](Side side, std::string prefix, std::chrono::milliseconds pause) {
    const std::string where = side == Side::Source ? scene.ns() : scene.targetNs();
    for (int i = 0; !stop; ++i) {
      const std::string body =
          R"({"metadata":{"labels":{"tier":")" + prefix + std::to_string(i) + R"("}}})";
      kube::PatchOptions options;
      options.fieldManager = "writer-" + prefix;
      auto patched = scene.api().run(scene.api().client(side).patch(
          cms, where, "raced", kube::PatchType::Merge, body, options));
      if (!patched) ++failures;
      std::this_thread::sleep_for(pause);  // pacing of the writer, not a wait for a result
    }
  };
  std::thread source(writer, Side::Source, "s", 130ms);
  std::thread target(writer, Side::Target, "t", 170ms);
  std::this_thread::sleep_for(30s);  // the duration of the race the test names
  stop = true;
  source.join();
  target.join();
  CHECK(failures == 0);

  REQUIRE(waitLogged(daemon, "both sides hold the same tier", 5s, [&](std::string& s) {
    const std::string left = scene.label(Side::Source, "raced", "tier", s);
    const std::string right = scene.label(Side::Target, "raced", "tier", s);
    return left == right && left != "<absent>";
  }));
  const std::string value = scene.label(Side::Source, "raced", "tier", seen);
  const int changes = versionChanges(scene, "raced", 30s);
  INFO("converged on tier=" << value << "; log:\n" << daemon.logTail(30));
  CHECK(changes == 0);
  CHECK(scene.label(Side::Source, "raced", "tier", seen) == value);
  CHECK(scene.label(Side::Target, "raced", "tier", seen) == value);
}

TEST_CASE(
    "reject: after a conflicting change on both sides neither value is overwritten and a "
    "SyncConflict Event names the field",
    "[policy]") {
  PolicyScene scene("reject", configMapPolicy("reject"));
  scene.kubectl(Side::Source, {"create", "configmap", "disputed", "--from-literal=k=v"});
  scene.kubectl(Side::Source, {"label", "configmap", "disputed", "tier=a"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE_LABEL(daemon, scene, Side::Target, "disputed", "tier", "a");

  // Both sides change it while the daemon is down, so both changes are certain to be seen.
  REQUIRE(daemon.terminate() == "exited with status 0");
  scene.kubectl(Side::Source, {"label", "--overwrite", "configmap", "disputed", "tier=source"});
  scene.kubectl(Side::Target, {"label", "--overwrite", "configmap", "disputed", "tier=target"});
  daemon.start();
  REQUIRE_READY(daemon);
  REQUIRE(waitLogged(daemon, "a SyncConflict Event naming /metadata/labels/tier", 30s,
                     [&](std::string& seen) {
                       const auto messages = scene.events("disputed", "SyncConflict");
                       seen = "SyncConflict events:" + joined(messages);
                       return anyContains(messages, "/metadata/labels/tier");
                     }));
  std::string seen;
  CHECK(scene.label(Side::Source, "disputed", "tier", seen) == "source");
  CHECK(scene.label(Side::Target, "disputed", "tier", seen) == "target");
  auto source = scene.get(Side::Source, "disputed", seen);
  REQUIRE(source);
  const std::string status = lookup(stringMapAt(*source, "/metadata/annotations"), kSyncStatus);
  INFO("sync-status: " << status);
  CHECK(status.find("\"result\":\"Conflict\"") != std::string::npos);
  CHECK(status.find("/metadata/labels/tier") != std::string::npos);
  // kubectl describe shows both.
  const bisync::testing::CommandResult described = scene.testbed().kubectl(
      Side::Source, {"-n", scene.ns(), "describe", "configmap", "disputed"});
  INFO(described.out);
  CHECK(described.out.find("SyncConflict") != std::string::npos);
  CHECK(described.out.find(kSyncStatus) != std::string::npos);
  // The source taking the target's value ends the conflict (both sides agree; it is the new
  // base), and from then on changes travel again.
  scene.kubectl(Side::Source, {"label", "--overwrite", "configmap", "disputed", "tier=target"});
  REQUIRE(waitLogged(daemon, "sync-status back to Synced", 30s, [&](std::string& s) {
    auto object = scene.get(Side::Source, "disputed", s);
    if (!object) return false;
    s = "sync-status: " + lookup(stringMapAt(*object, "/metadata/annotations"), kSyncStatus);
    return s.find("\"result\":\"Synced\"") != std::string::npos;
  }));
  scene.kubectl(Side::Source, {"label", "--overwrite", "configmap", "disputed", "tier=final"});
  REQUIRE_LABEL(daemon, scene, Side::Target, "disputed", "tier", "final");
}

TEST_CASE(
    "source-wins takes a field another manager owns on the target back (force, reported); "
    "target-wins leaves it",
    "[policy]") {
  const bool sourceWins = GENERATE(true, false);
  PolicyScene scene(sourceWins ? "swins" : "twins",
                    configMapPolicy(sourceWins ? "source-wins" : "target-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "owned", "--from-literal=k=v"});
  scene.kubectl(Side::Source, {"label", "configmap", "owned", "tier=a"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE_LABEL(daemon, scene, Side::Target, "owned", "tier", "a");

  REQUIRE(daemon.terminate() == "exited with status 0");
  // Another field manager, "intruder", changes the label on the target (and so owns it).
  const bisync::testing::CommandResult applied =
      scene.testbed().kubectl(Side::Target, {"-n", scene.targetNs(), "patch", "configmap", "owned",
                                             "--type", "merge", "--field-manager", "intruder", "-p",
                                             R"({"metadata":{"labels":{"tier":"intruder"}}})"});
  INFO(applied.summary());
  REQUIRE(applied.ok());
  scene.kubectl(Side::Source, {"label", "--overwrite", "configmap", "owned", "tier=source"});
  daemon.start();
  REQUIRE_READY(daemon);

  std::string seen;
  if (sourceWins) {
    REQUIRE_LABEL(daemon, scene, Side::Target, "owned", "tier", "source");
    REQUIRE(
        waitLogged(daemon, "a takeover reported as a SyncConflict Event", 30s, [&](std::string& s) {
          const auto messages = scene.events("owned", "SyncConflict");
          s = "SyncConflict events:" + joined(messages);
          return anyContains(messages, "took over /metadata/labels/tier") &&
                 anyContains(messages, "intruder");
        }));
    CHECK(scene.label(Side::Source, "owned", "tier", seen) == "source");
  } else {
    REQUIRE_LABEL(daemon, scene, Side::Source, "owned", "tier", "intruder");
    // Once the source holds the target's value the syncer stops: the target's label stays
    // the intruder's, and nothing is written to the target any more.
    const std::string version = scene.resourceVersion(Side::Target, "owned");
    CHECK(versionChanges(scene, "owned", 10s) == 0);
    CHECK(scene.resourceVersion(Side::Target, "owned") == version);
    CHECK(scene.label(Side::Target, "owned", "tier", seen) == "intruder");
    // (Taking the label over on the *source*, from kubectl's ownership, is what target-wins
    // means: that one is reported.)
    CHECK_FALSE(anyContains(scene.events("owned", "SyncConflict"), "of the target"));
  }
}

TEST_CASE(
    "a target-owned annotation written on the target appears on the source and does not come "
    "back down as a change",
    "[policy]") {
  PolicyScene scene("hostann", configMapPolicy("newest-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "placed", "--from-literal=k=v"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  std::string seen;
  REQUIRE_COPY(daemon, scene, "placed");

  scene.kubectl(Side::Target, {"annotate", "configmap", "placed", "host.io/zone=z1"});
  const std::string targetVersion = scene.resourceVersion(Side::Target, "placed");
  REQUIRE(waitLogged(daemon, "host.io/zone=z1 on the source", 30s, [&](std::string& s) {
    auto object = scene.get(Side::Source, "placed", s);
    if (!object) return false;
    const StringMap annotations = stringMapAt(*object, "/metadata/annotations");
    s = "source annotations: " + describe(annotations);
    return lookup(annotations, "host.io/zone") == "z1";
  }));
  // The source's copy is not a source change: the target is not written again.
  const std::size_t applies = daemon.countLog("applied configmaps " + scene.ns() + "/placed ->");
  CHECK(versionChanges(scene, "placed", 5s) == 0);
  CHECK(scene.resourceVersion(Side::Target, "placed") == targetVersion);
  CHECK(daemon.countLog("applied configmaps " + scene.ns() + "/placed ->") == applies);
}

TEST_CASE(
    "an object created in a mapped target namespace with createOnSource appears on the source "
    "once, and deleting it on either side deletes it on both",
    "[policy]") {
  PolicyScene scene("upward", configMapPolicy("newest-wins", true));
  scene.kubectl(Side::Source, {"create", "configmap", "anchor", "--from-literal=k=v"});
  // The host's own kube-root-ca.crt is a kind the translator never syncs: it must not go up.
  REQUIRE(scene.tryCreateTargetNamespace(scene.targetNs(), true));
  scene.kubectl(Side::Target, {"create", "configmap", "kube-root-ca.crt", "--from-literal=ca=x"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);  // the initial sync has reconciled every key, that one's included
  std::string seen;
  REQUIRE_COPY(daemon, scene, "anchor");
  CHECK_FALSE(scene.get(Side::Source, "kube-root-ca.crt", seen).has_value());

  for (const Side deleteOn : {Side::Target, Side::Source}) {
    const std::string name = deleteOn == Side::Target ? "made-on-host" : "made-on-host-2";
    scene.kubectl(Side::Target, {"create", "configmap", name, "--from-literal=from=host"});
    // Its owner opts in: only such host objects flow up.
    scene.kubectl(Side::Target,
                  {"label", "configmap", name, "kube-bisync.io/create-on-source=true"});
    REQUIRE(waitLogged(
        daemon, name + " on the source, marked as made on the target", 30s, [&](std::string& s) {
          auto object = scene.get(Side::Source, name, s);
          if (!object) return false;
          const StringMap annotations = stringMapAt(*object, "/metadata/annotations");
          s = "source annotations " + describe(annotations);
          return lookup(annotations, kCreatedFromTarget) == scene.cluster() &&
                 kube::stringAt(*object, "/data/from") == "host";
        }));
    // The target object becomes the synced copy of it: adopted, not duplicated.
    REQUIRE_ADOPTED(daemon, scene, name);
    // Exactly one source object came from the target: no second one under another name.
    const bisync::testing::CommandResult listed = scene.testbed().kubectl(
        Side::Source, {"-n", scene.ns(), "get", "configmaps", "-o", "json"});
    REQUIRE(listed.ok());
    auto parsed = kube::parseJson(listed.out, "kubectl get configmaps");
    REQUIRE(parsed);
    std::vector<std::string> madeOnTarget;
    for (const kube::JsonValue& item : kube::member(*parsed, "items")->GetArray()) {
      if (lookup(stringMapAt(item, "/metadata/annotations"), kCreatedFromTarget) != "<absent>") {
        madeOnTarget.emplace_back(kube::nameOf(item));
      }
    }
    CHECK(madeOnTarget == std::vector<std::string>{name});
    CHECK(daemon.countLog("created configmaps " + scene.ns() + "/" + name + " on the source") == 1);

    scene.kubectl(deleteOn, {"delete", "configmap", name});
    const Side other = deleteOn == Side::Target ? Side::Source : Side::Target;
    REQUIRE(waitLogged(daemon, name + " deleted on the other side too", 30s,
                       [&](std::string& s) { return !scene.get(other, name, s).has_value(); }));
    CHECK_FALSE(scene.get(deleteOn, name, seen).has_value());
  }
  // The anchor, made on the source, is untouched by all this.
  CHECK(scene.get(Side::Source, "anchor", seen).has_value());
  CHECK(scene.get(Side::Target, "anchor", seen).has_value());
}

TEST_CASE("a restart between a change and its sync loses nothing, for every owner kind",
          "[policy]") {
  PolicyScene scene("restart", configMapPolicy("newest-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "durable", "--from-literal=k=v1"});
  scene.kubectl(Side::Source, {"label", "configmap", "durable", "up=a", "down=a"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE_LABEL(daemon, scene, Side::Target, "durable", "down", "a");

  REQUIRE(daemon.terminate() == "exited with status 0");
  // source-owned data, a both label changed on each side, a target-owned annotation.
  scene.kubectl(Side::Source, {"patch", "configmap", "durable", "--type", "merge", "-p",
                               R"({"data":{"k":"v2"}})"});
  scene.kubectl(Side::Source, {"label", "--overwrite", "configmap", "durable", "down=b"});
  scene.kubectl(Side::Target, {"label", "--overwrite", "configmap", "durable", "up=b"});
  scene.kubectl(Side::Target, {"annotate", "configmap", "durable", "host.io/node=n1"});
  daemon.start();
  REQUIRE_READY(daemon);

  REQUIRE_LABEL(daemon, scene, Side::Target, "durable", "down", "b");
  REQUIRE_LABEL(daemon, scene, Side::Source, "durable", "up", "b");
  REQUIRE(waitLogged(daemon, "data k=v2 on the target and host.io/node=n1 on the source", 30s,
                     [&](std::string& s) {
                       auto target = scene.get(Side::Target, "durable", s);
                       auto source = scene.get(Side::Source, "durable", s);
                       if (!target || !source) return false;
                       const StringMap annotations = stringMapAt(*source, "/metadata/annotations");
                       s = "target data k=" + std::string(kube::stringAt(*target, "/data/k")) +
                           ", source annotations " + describe(annotations);
                       return kube::stringAt(*target, "/data/k") == "v2" &&
                              lookup(annotations, "host.io/node") == "n1";
                     }));
  std::string seen;
  CHECK(scene.label(Side::Source, "durable", "down", seen) == "b");
  CHECK(scene.label(Side::Target, "durable", "up", seen) == "b");
}

TEST_CASE(
    "a fight over a source-owned field makes the syncer back off and report SyncFight instead "
    "of rewriting it 5 times a second",
    "[policy]") {
  PolicyScene scene("fight", configMapPolicy("newest-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "contested", "--from-literal=k=mine"});
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon);
  REQUIRE(waitLogged(daemon, "the target copy holds k=mine", 30s, [&](std::string& s) {
    auto object = scene.get(Side::Target, "contested", s);
    return object && kube::stringAt(*object, "/data/k") == "mine";
  }));

  // An external loop resets the source-owned /data/k on the target every 200 ms for 20 s.
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const std::string restores = "applied configmaps " + scene.ns() + "/contested ->";
  const std::size_t before = daemon.countLog(restores);
  const auto until = std::chrono::steady_clock::now() + 20s;
  int resets = 0;
  while (std::chrono::steady_clock::now() < until) {
    kube::PatchOptions options;
    options.fieldManager = "resetter";
    auto patched = scene.api().run(
        scene.api().target().patch(cms, scene.targetNs(), "contested", kube::PatchType::Merge,
                                   R"({"data":{"k":"theirs"}})", options));
    if (patched) ++resets;
    std::this_thread::sleep_for(200ms);  // the external loop's period
  }
  const std::size_t rewrites = daemon.countLog(restores) - before;
  INFO(resets << " resets, " << rewrites << " rewrites by the syncer; log:\n"
              << daemon.logTail(30));
  CHECK(resets >= 50);
  // Unchecked, the syncer would restore after every reset (about 100 times in 20 s).
  CHECK(rewrites <= 15);
  REQUIRE(waitLogged(daemon, "a SyncFight Event on the source object", 10s, [&](std::string& s) {
    const auto messages = scene.events("contested", "SyncFight");
    s = "SyncFight events:" + joined(messages);
    return !messages.empty();
  }));
  CHECK(daemon.running());
}

// Found by the chaos checker (issue 16): a leader that died between creating a copied-up object
// on the source and recording it left a source object nobody owned, which then clashed with its
// own target object for ever. The record now holds the copy-up as an intent before the create.
TEST_CASE(
    "a syncer killed between creating a copied-up object on the source and recording it "
    "finishes the pair after its restart",
    "[policy][chaos]") {
  PolicyScene scene("intent", configMapPolicy("source-wins", true));
  AnchoredDaemon anchored(scene, Side::Source);
  bisync::testing::TcpProxy& sourceProxy = anchored.proxy;
  DaemonProcess& daemon = anchored.daemon;

  // Every chunk to and from the source now takes 3 s: the create's answer comes 3 s after the
  // object exists, and the daemon dies in between.
  sourceProxy.setDelay(3s);
  scene.kubectl(Side::Target, {"create", "configmap", "made-on-host", "--from-literal=k=host"});
  scene.kubectl(Side::Target,
                {"label", "configmap", "made-on-host", "kube-bisync.io/create-on-source=true"});
  std::string created;
  REQUIRE(waitLogged(daemon, "made-on-host created on the source", 30s, [&](std::string& s) {
    auto object = scene.get(Side::Source, "made-on-host", s);
    if (object) created = std::string(kube::uidOf(*object));
    return object.has_value();
  }));
  daemon.kill();
  CHECK(daemon.countLog("created configmaps " + scene.ns() + "/made-on-host on the source") == 0);

  sourceProxy.setDelay(0ms);
  daemon.start();
  REQUIRE_READY(daemon);
  // The same source object becomes the pair of the host's object: adopted, not a clash.
  REQUIRE_ADOPTED(daemon, scene, "made-on-host");
  std::string seen;
  auto source = scene.get(Side::Source, "made-on-host", seen);
  REQUIRE(source);
  CHECK(kube::uidOf(*source) == created);
  CHECK(daemon.countLog("finished the copy-up") == 1);
  CHECK(daemon.countLog("clash") == 0);
  // And it is a pair: deleting the host's object deletes the source object.
  scene.kubectl(Side::Target, {"delete", "configmap", "made-on-host"});
  REQUIRE(waitLogged(daemon, "made-on-host deleted on the source too", 30s, [&](std::string& s) {
    return !scene.get(Side::Source, "made-on-host", s).has_value();
  }));
}

// Found by the chaos checker: a server-side apply creates an object that is gone, so the
// syncer's write of a target-owned field up to a source object its user had just deleted
// brought the object back.
TEST_CASE("a write to a source object that its user deletes meanwhile does not bring it back",
          "[policy][chaos]") {
  PolicyScene scene("ghost", configMapPolicy("source-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "victim", "--from-literal=k=v"});
  bisync::testing::TcpProxy sourceProxy("127.0.0.1", scene.testbed().server(Side::Source).port);
  // Without the finalizer the user's delete takes the object away at once.
  DaemonProcess daemon(scene.testbed(),
                       scene.daemonThrough(Side::Source, sourceProxy, {"--finalizer=false"}));
  REQUIRE_READY(daemon);
  REQUIRE_COPY(daemon, scene, "victim");

  // The daemon's view of the source, and its writes there, now lag 3 s behind: it still holds
  // the victim when the host's change comes, after the user deleted it.
  sourceProxy.setDelay(3s);
  scene.kubectl(Side::Source, {"delete", "configmap", "victim"});
  scene.kubectl(Side::Target, {"annotate", "configmap", "victim", "host.io/owner=ops"});
  REQUIRE(waitLogged(daemon, "victim gone from both sides", 30s, [&](std::string& s) {
    return !scene.get(Side::Source, "victim", s).has_value() &&
           !scene.get(Side::Target, "victim", s).has_value();
  }));
  // It did come back for a moment: the write made it, and the syncer took it away again.
  CHECK(daemon.countLog("deleted that object again") == 1);
  sourceProxy.setDelay(0ms);
  CHECK(bisync::testing::holdsThroughout(
      "the deleted victim stays deleted (a quiet window)", 5s,
      [&](std::string& s) { return !scene.get(Side::Source, "victim", s).has_value(); }));
}

// Found by the chaos checker: the same on the target. The host deleted the target object of a
// copied-up pair while the daemon's view of the target lagged; the daemon's next write to it made
// it anew (as a plain copy of the source), so the source object, which must go with it, stayed.
TEST_CASE(
    "a write to a copied-up target object that the host deletes meanwhile does not bring it "
    "back, and its source object goes with it",
    "[policy][chaos]") {
  PolicyScene scene("ghost-up", configMapPolicy("source-wins", true));
  AnchoredDaemon anchored(scene, Side::Target);
  bisync::testing::TcpProxy& targetProxy = anchored.proxy;
  DaemonProcess& daemon = anchored.daemon;
  scene.kubectl(Side::Target, {"create", "configmap", "made-on-host", "--from-literal=k=host"});
  scene.kubectl(Side::Target,
                {"label", "configmap", "made-on-host", "kube-bisync.io/create-on-source=true"});
  REQUIRE_ADOPTED(daemon, scene, "made-on-host");

  // The daemon's view of the target, and its writes there, now lag 3 s behind: it still holds
  // the host's object when the tenant's change comes, after the host deleted it.
  targetProxy.setDelay(3s);
  scene.kubectl(Side::Target, {"delete", "configmap", "made-on-host"});
  scene.kubectl(Side::Source, {"annotate", "configmap", "made-on-host", "tenant-note=edited"});
  REQUIRE(waitLogged(daemon, "made-on-host gone from both sides", 40s, [&](std::string& s) {
    return !scene.get(Side::Target, "made-on-host", s).has_value() &&
           !scene.get(Side::Source, "made-on-host", s).has_value();
  }));
  targetProxy.setDelay(0ms);
  CHECK(bisync::testing::holdsThroughout(
      "the deleted pair stays deleted (a quiet window)", 5s, [&](std::string& s) {
        return !scene.get(Side::Target, "made-on-host", s).has_value() &&
               !scene.get(Side::Source, "made-on-host", s).has_value();
      }));
}

// The annotation kube-bisync.io/created-from-target-uid proves a source object is the syncer's
// only for the exact target object of an unfinished copy-up. A tenant who takes the name of a
// pending copy-up and copies onto its object the annotations of a real copied-up object (its own,
// readable on the source) gets a clash, not a pair: the syncer neither adopts nor writes that
// object, and deletes nothing.
TEST_CASE(
    "a tenant's source object at the name of an unfinished copy-up, with another copy's "
    "created-from-target annotations, is not adopted, and nothing is deleted",
    "[policy][copy-up][safety]") {
  PolicyScene scene("trick", configMapPolicy("source-wins", true));
  AnchoredDaemon anchored(scene, Side::Source);
  bisync::testing::TcpProxy& sourceProxy = anchored.proxy;
  DaemonProcess& daemon = anchored.daemon;
  // A finished copy-up: its source object carries the annotations the tenant will copy.
  makeOnHost(scene, "genuine");
  REQUIRE_ADOPTED(daemon, scene, "genuine");
  std::string seen;
  auto genuine = scene.get(Side::Source, "genuine", seen);
  INFO(seen);
  REQUIRE(genuine);
  const StringMap copied = stringMapAt(*genuine, "/metadata/annotations");
  REQUIRE(lookup(copied, "kube-bisync.io/created-from-target-uid") != "<absent>");

  // The daemon cannot reach the source: the copy-up of the host's new object is recorded as an
  // intent, and its create fails.
  sourceProxy.setRefusing(true);
  sourceProxy.cutConnections();
  makeOnHost(scene, "wanted");
  auto hosts = scene.get(Side::Target, "wanted", seen);
  REQUIRE(hosts);
  const std::string hostUid(kube::uidOf(*hosts));
  REQUIRE(waitLogged(daemon, "the copy-up of wanted recorded as an intent", 30s,
                     [&](std::string& s) { return copyUpPending(scene, hostUid, s); }));

  // The tenant takes the name, with the genuine copy's annotations (its uid is another target
  // object's), while the daemon is cut off; then the source is back.
  kube::Json trick = configMap(scene.ns(), "wanted", {{"k", "tenant"}});
  kube::JsonValue annotations(rapidjson::kObjectType);
  for (const auto& [key, value] : copied) {
    annotations.AddMember(kube::stringValue(key, trick.GetAllocator()),
                          kube::stringValue(value, trick.GetAllocator()), trick.GetAllocator());
  }
  trick["metadata"].AddMember("annotations", annotations, trick.GetAllocator());
  auto tenants = scene.tryCreate(Side::Source, kube::resources::configMaps(), trick);
  INFO("the tenant's create: " << (tenants ? "ok" : tenants.error().describe()));
  REQUIRE(tenants);
  sourceProxy.setRefusing(false);

  REQUIRE(waitLogged(daemon, "the unfinished copy-up dropped from the record", 60s,
                     [&](std::string& s) {
                       return daemon.countLog("forgetting the unfinished copy-up") == 1 &&
                              !copyUpPending(scene, hostUid, s);
                     }));
  REQUIRE(waitLogged(daemon, "a NameClash Event on the tenant's object", 30s, [&](std::string& s) {
    const auto messages = scene.events("wanted", "NameClash");
    s = "NameClash events:" + joined(messages);
    return !messages.empty();
  }));
  CHECK(daemon.countLog("finished the copy-up") == 0);
  // Both objects stay as their makers left them: the tenant's fields, the host's object not
  // adopted, neither deleted.
  const auto untouched = [&](std::string& s) {
    auto source = scene.get(Side::Source, "wanted", s);
    auto target = scene.get(Side::Target, "wanted", s);
    if (!source || !target) return false;
    const StringMap sourceAnnotations = stringMapAt(*source, "/metadata/annotations");
    const StringMap targetLabels = stringMapAt(*target, "/metadata/labels");
    s = "source annotations " + describe(sourceAnnotations) + ", data " +
        kube::toJson(*kube::member(*source, "data")) + "; target labels " + describe(targetLabels);
    return kube::uidOf(*source) == kube::uidOf(*tenants) &&
           kube::stringAt(*source, "/data/k") == "tenant" && sourceAnnotations == copied &&
           stringMapAt(*source, "/metadata/labels").empty() && kube::uidOf(*target) == hostUid &&
           lookup(targetLabels, kManagedBy) == "<absent>" &&
           kube::stringAt(*target, "/data/k") == "host";
  };
  CHECK(bisync::testing::holdsThroughout(
      "the tenant's and the host's objects stay untouched (a quiet window)", 5s, untouched));
  CHECK(daemon.running());
}

// The same for a cluster-scoped copy (cluster_copies.cpp): the host deleted the copy while the
// daemon's view of the target lagged, and the daemon's next write to it made it anew, past the
// create that never takes over an object someone else made at that name. The object the write
// made is deleted again; the copy is then created as any new one.
TEST_CASE(
    "a write to a cluster-scoped copy that the host deletes meanwhile deletes the object it made, "
    "and the copy is created anew",
    "[policy][chaos]") {
  PolicyScene scene("ghost-pc", configMapPolicy("source-wins"));
  const std::string id = scene.cluster();
  const std::string name = "ghost-" + id;
  const std::string copyName = id + "-" + name;
  ClusterCleanup cleanup(scene.testbed(), "priorityclass", {name, copyName});
  const kube::ResourceInfo classes = priorityClasses();
  scene.addPolicy("priorityclasses.yaml", priorityClassPolicy(id));
  auto created =
      scene.tryCreate(Side::Source, classes, priorityClassObject(name, 1000, "first", id));
  INFO("creating the source's PriorityClass: " << (created ? "ok" : created.error().describe()));
  REQUIRE(created);
  bisync::testing::TcpProxy targetProxy("127.0.0.1", scene.testbed().server(Side::Target).port);
  DaemonProcess daemon(scene.testbed(), scene.daemonThrough(Side::Target, targetProxy));
  REQUIRE_READY(daemon);
  // The copy with `description`, if there is one (`seen` says what there is).
  const auto copy = [&](const std::string& description, std::string& s) {
    auto object = scene.api().run(scene.api().target().get(classes, "", copyName));
    if (!object) {
      s = object.error().describe();
      return std::optional<kube::Json>();
    }
    s = "uid " + std::string(kube::uidOf(*object)) + ", description " +
        std::string(kube::stringMember(*object, "description"));
    if (kube::stringMember(*object, "description") != description)
      return std::optional<kube::Json>();
    return std::optional<kube::Json>(std::move(*object));
  };
  std::optional<kube::Json> first;
  REQUIRE(waitLogged(daemon, "the copy on the target", 30s, [&](std::string& s) {
    first = copy("first", s);
    return first.has_value();
  }));

  // The daemon's view of the target, and its writes there, now lag 3 s behind: it still holds
  // the copy when the tenant's edit comes, after the host deleted the copy.
  targetProxy.setDelay(3s);
  const bisync::testing::CommandResult deleted =
      scene.testbed().kubectl(Side::Target, {"delete", "priorityclass", copyName});
  REQUIRE(deleted.ok());
  const bisync::testing::CommandResult edited = scene.testbed().kubectl(
      Side::Source,
      {"patch", "priorityclass", name, "--type", "merge", "-p", R"({"description":"second"})"});
  REQUIRE(edited.ok());
  REQUIRE(waitLogged(daemon, "the object the write made deleted again", 40s, [&](std::string& s) {
    s = std::to_string(daemon.countLog("deleted that object again")) + " undone writes";
    return daemon.countLog("deleted that object again") == 1;
  }));
  targetProxy.setDelay(0ms);
  REQUIRE(
      waitLogged(daemon, "the copy created anew with the tenant's edit", 40s, [&](std::string& s) {
        const auto now = copy("second", s);
        return now && kube::uidOf(*now) != kube::uidOf(*first);
      }));
  CHECK(daemon.countLog("deleted that object again") == 1);
}

// Found by the chaos checker (issue 16): a deletion of the syncer's own is waited for like any
// other own write (PendingWrite::deletedUid). Here the daemon deletes a copied-up source object
// (its host object was deleted) while its view of the source is cut off, so its cache still holds
// the object; the host then makes its object anew at that name. A reconcile that took the cached
// object for a live source would report the host's new object as a clash with it; it waits for
// the deletion instead, and copies the new object up once the source is back.
TEST_CASE(
    "a host object made anew at the name of a copied-up pair the syncer just deleted is copied "
    "up afresh, not taken for a clash with the deleted source object",
    "[policy][chaos]") {
  PolicyScene scene("own-delete", configMapPolicy("source-wins", true));
  AnchoredDaemon anchored(scene, Side::Source, {"--finalizer=false"});
  bisync::testing::TcpProxy& sourceProxy = anchored.proxy;
  DaemonProcess& daemon = anchored.daemon;
  makeOnHost(scene, "made-on-host");
  REQUIRE_ADOPTED(daemon, scene, "made-on-host");
  std::string seen;
  auto first = scene.get(Side::Source, "made-on-host", seen);
  INFO(seen);
  REQUIRE(first);

  // The source watch breaks; the daemon's informer waits (at least 800 ms) before it lists again,
  // and then finds the source refusing: its cache keeps the copied-up object. The daemon's own
  // delete of that object, on a connection of its own, goes through before.
  sourceProxy.cutConnections();
  scene.kubectl(Side::Target, {"delete", "configmap", "made-on-host"});
  REQUIRE(waitLogged(
      daemon, "the copied-up source object deleted by the daemon", 10s,
      [&](std::string& s) { return !scene.get(Side::Source, "made-on-host", s).has_value(); },
      20ms));
  sourceProxy.setRefusing(true);
  sourceProxy.cutConnections();
  kube::Json again = configMap(scene.targetNs(), "made-on-host", {{"k", "host again"}});
  kube::JsonPointer("/metadata/labels/kube-bisync.io~1create-on-source").Set(again, "true");
  auto remade = scene.tryCreate(Side::Target, kube::resources::configMaps(), again);
  INFO("the host's new object: " << (remade ? "ok" : remade.error().describe()));
  REQUIRE(remade);
  CHECK(bisync::testing::holdsThroughout(
      "no clash while the source is cut off (a quiet window)", 3s, [&](std::string& s) {
        s = std::to_string(daemon.countLog("clash")) + " clash lines; log:\n" + daemon.logTail(6);
        return daemon.countLog("clash") == 0;
      }));

  sourceProxy.setRefusing(false);
  REQUIRE_ADOPTED(daemon, scene, "made-on-host");
  auto copied = scene.get(Side::Source, "made-on-host", seen);
  INFO(seen);
  REQUIRE(copied);
  CHECK(kube::uidOf(*copied) != kube::uidOf(*first));
  CHECK(lookup(stringMapAt(*copied, "/metadata/annotations"),
               "kube-bisync.io/created-from-target-uid") == kube::uidOf(*remade));
  CHECK(daemon.countLog("clash") == 0);
}

// Found by chaos seed 8: a source deleted and made again under its name met the copy of its
// earlier incarnation, which was merged in place; a field the host had set on the old copy (a
// target-owned annotation here) then travelled up into the new object as if set for it. Such a
// copy is replaced: the new object starts a pair of its own.
TEST_CASE(
    "a source made again under its name does not inherit what the host set on the copy of the "
    "earlier one",
    "[policy][chaos]") {
  PolicyScene scene("reborn", configMapPolicy("source-wins"));
  scene.kubectl(Side::Source, {"create", "configmap", "reborn", "--from-literal=k=first"});
  // Without the finalizer a source deleted while the daemon is down goes at once and can be made
  // again, so the new object meets the old copy.
  DaemonProcess daemon(scene.testbed(), scene.daemon({"--finalizer=false"}));
  REQUIRE_READY(daemon);
  REQUIRE_COPY(daemon, scene, "reborn");
  scene.kubectl(Side::Target, {"annotate", "configmap", "reborn", "host.io/owner=old"});
  REQUIRE(waitLogged(daemon, "the host's annotation on the first source", 30s, [&](std::string& s) {
    auto source = scene.get(Side::Source, "reborn", s);
    return source &&
           lookup(stringMapAt(*source, "/metadata/annotations"), "host.io/owner") == "old";
  }));
  std::string seen;
  auto oldCopy = scene.get(Side::Target, "reborn", seen);
  REQUIRE(oldCopy);

  REQUIRE(daemon.terminate() == "exited with status 0");
  scene.kubectl(Side::Source, {"delete", "configmap", "reborn"});
  scene.kubectl(Side::Source, {"create", "configmap", "reborn", "--from-literal=k=second"});
  auto reborn = scene.get(Side::Source, "reborn", seen);
  REQUIRE(reborn);
  const std::string newUid(kube::uidOf(*reborn));
  daemon.start();
  REQUIRE_READY(daemon);
  REQUIRE(waitLogged(daemon, "a new copy made from the new source", 30s, [&](std::string& s) {
    auto copy = scene.get(Side::Target, "reborn", s);
    if (!copy) return false;
    const StringMap annotations = stringMapAt(*copy, "/metadata/annotations");
    s = "copy uid " + std::string(kube::uidOf(*copy)) + ", annotations " + describe(annotations);
    return kube::uidOf(*copy) != kube::uidOf(*oldCopy) &&
           lookup(annotations, "kube-bisync.io/source-uid") == newUid &&
           lookup(stringMapAt(*copy, "/data"), "k") == "second";
  }));
  CHECK(daemon.countLog("replacing configmaps " + scene.targetNs() + "/reborn") == 1);
  CHECK(bisync::testing::holdsThroughout(
      "quiet window: the new source never gets the old copy's host.io/owner", 3s,
      [&](std::string& s) {
        auto source = scene.get(Side::Source, "reborn", s);
        if (!source) return false;
        const StringMap annotations = stringMapAt(*source, "/metadata/annotations");
        s = "source annotations " + describe(annotations);
        return kube::uidOf(*source) == newUid && lookup(annotations, "host.io/owner") == "<absent>";
      }));
  // And the new pair works: the host's annotation of the new copy reaches the new source.
  scene.kubectl(Side::Target, {"annotate", "configmap", "reborn", "host.io/owner=new"});
  CHECK(waitLogged(daemon, "the host's annotation on the new source", 30s, [&](std::string& s) {
    auto source = scene.get(Side::Source, "reborn", s);
    return source &&
           lookup(stringMapAt(*source, "/metadata/annotations"), "host.io/owner") == "new";
  }));
}
