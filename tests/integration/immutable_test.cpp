// The policy's onImmutable, as a real daemon against the testbed: a host admin makes the target
// copy of a ConfigMap immutable (the case where only the target refuses a change: the source
// can still change), then the tenant changes the source. Under `report` (the default) the change
// is refused, reported once per source version and not retried meanwhile; under `recreate` the
// copy is deleted and created anew with the change. Waits poll with a deadline; what must not
// happen is checked over a named quiet window.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
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
using bisync::testing::DaemonOptions;
using bisync::testing::DaemonProcess;
using bisync::testing::describe;
using bisync::testing::holdsThroughout;
using bisync::testing::kReadyLine;
using bisync::testing::lookup;
using bisync::testing::Side;
using bisync::testing::StringMap;
using bisync::testing::stringMapAt;
using bisync::testing::TempDir;
using bisync::testing::viewOf;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

constexpr auto kQuietWindow = 5s;
constexpr const char* kSyncStatus = "kube-bisync.io/sync-status";
constexpr const char* kName = "settings";
// What the API server says of every refused change of an immutable ConfigMap.
constexpr const char* kServerText = "field is immutable when `immutable` is set";

// policies/defaults/configmaps.yaml, with onImmutable: recreate.
constexpr const char* kRecreatePolicy = R"(apiVersion: kube-bisync.io/v1alpha1
kind: SyncPolicy
resource: {group: "", version: v1, kind: ConfigMap}
direction: down
onImmutable: recreate
fields:
  - path: /data
    owner: source
  - path: /binaryData
    owner: source
  - path: /immutable
    owner: source
  - path: /metadata/labels/*
    owner: source
  - path: /metadata/annotations/*
    owner: source
)";

struct Event {
  std::string type;
  std::string message;
};

// A SyncScene with ConfigMap `settings` on the source and, when given, a policy directory
// holding `policy`.
class ImmutableScene : public bisync::testing::SyncScene {
 public:
  ImmutableScene(std::string_view prefix, std::optional<std::string> policy)
      : SyncScene(prefix), policy_(std::move(policy)) {
    if (policy_) {
      dir_ = TempDir(std::filesystem::temp_directory_path(), "policies-");
      std::ofstream(dir_.path() / "configmaps.yaml") << *policy_;
    }
    auto created = tryCreate(Side::Source, kube::resources::configMaps(),
                             configMap(ns(), kName, {{"k", "first"}}));
    INFO((created ? std::string("created") : created.error().describe()));
    REQUIRE(created);
  }

  DaemonOptions daemon() const {
    std::vector<std::string> extra;
    if (policy_) extra = {"--policies", dir_.path().string()};
    return {BISYNC_DAEMON_BINARY, daemonArgs(extra)};
  }

  // kubectl against one side, in the namespace the scene maps on that side.
  void kubectl(Side side, std::vector<std::string> args) {
    args.insert(args.begin(), {"-n", side == Side::Source ? ns() : targetNs()});
    const bisync::testing::CommandResult result = testbed().kubectl(side, args);
    INFO("kubectl " << args.at(2) << " on the " << (side == Side::Source ? "source" : "target")
                    << ": " << result.summary());
    REQUIRE(result.ok());
  }

  // The ConfigMap on `side` (nullopt when absent or unreadable; `seen` says which and what).
  std::optional<kube::Json> get(Side side, std::string& seen) {
    const std::string where = side == Side::Source ? ns() : targetNs();
    auto object = api().run(api().client(side).get(kube::resources::configMaps(), where, kName));
    if (!object) {
      seen += " " + where + "/" + kName + ": " + object.error().describe() + ";";
      return std::nullopt;
    }
    seen += " " + where + "/" + kName + ": " + describe(viewOf(*object)) +
            (object->HasMember("immutable") ? " immutable;" : ";");
    return std::move(*object);
  }

  kube::Json require(Side side) {
    std::string seen;
    std::optional<kube::Json> object = get(side, seen);
    INFO(seen);
    REQUIRE(object);
    return std::move(*object);
  }

  // The Events with `reason` about the source ConfigMap, oldest first as listed.
  std::vector<Event> events(const std::string& reason, std::string& seen) {
    auto listed = api().run(api().client(Side::Source).list(kube::resources::events(), ns()));
    std::vector<Event> found;
    if (!listed) {
      seen += " events: " + listed.error().describe() + ";";
      return found;
    }
    for (const kube::JsonValue& item : listed->items().GetArray()) {
      if (kube::stringAt(item, "/reason") != reason ||
          kube::stringAt(item, "/involvedObject/name") != kName) {
        continue;
      }
      found.push_back({std::string(kube::stringAt(item, "/type")),
                       std::string(kube::stringAt(item, "/message"))});
      seen += " [" + found.back().type + " " + reason + ": " + found.back().message + "]";
    }
    return found;
  }

  // The source's sync-status annotation ("" when absent).
  std::string syncStatus(std::string& seen) {
    const std::optional<kube::Json> source = get(Side::Source, seen);
    if (!source) return "";
    const std::string status = lookup(stringMapAt(*source, "/metadata/annotations"), kSyncStatus);
    seen += " sync-status: " + status + ";";
    return status == "<absent>" ? "" : status;
  }

 private:
  std::optional<std::string> policy_;
  TempDir dir_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t countContaining(const std::vector<Event>& events, const std::string& part) {
  std::size_t count = 0;
  for (const Event& event : events) count += contains(event.message, part) ? 1 : 0;
  return count;
}

std::string dataOf(const kube::JsonValue& object) { return describe(stringMapAt(object, "/data")); }

// The source and its synced copy; then the host admin makes the copy immutable (a field manager
// of its own) and the tenant changes the source's data. Returns the copy's uid before.
std::string freezeCopyThenChangeSource(ImmutableScene& scene, DaemonProcess& daemon) {
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(),
                        {{kName, viewOf(scene.require(Side::Source))}}, 30s));
  const std::string uid(kube::uidOf(scene.require(Side::Target)));
  scene.kubectl(Side::Target, {"patch", "configmap", kName, "--type", "merge", "-p",
                               R"({"immutable":true})", "--field-manager", "host-admin"});
  scene.kubectl(Side::Source, {"patch", "configmap", kName, "--type", "merge", "-p",
                               R"({"data":{"k":"second"}})"});
  return uid;
}

// Waits until the target holds a copy other than `oldUid` with data k=`value` that is not
// immutable; returns its uid.
std::string waitForNewCopy(ImmutableScene& scene, DaemonProcess& daemon, const std::string& oldUid,
                           const std::string& value) {
  std::string uid;
  REQUIRE(waitLogged(daemon, "a new copy (not uid " + oldUid + ") with k=" + value + ", mutable",
                     30s, [&](std::string& s) {
                       const std::optional<kube::Json> copy = scene.get(Side::Target, s);
                       if (!copy) return false;
                       uid = std::string(kube::uidOf(*copy));
                       return uid != oldUid && dataOf(*copy) == describe(StringMap{{"k", value}}) &&
                              !copy->HasMember("immutable");
                     }));
  return uid;
}

// Waits for a Normal CopyRecreated Event on the source whose message contains `part`.
bisync::testing::WaitOutcome waitForCopyRecreated(ImmutableScene& scene, DaemonProcess& daemon,
                                                  const std::string& part) {
  return waitLogged(daemon, "a Normal CopyRecreated Event with '" + part + "'", 30s,
                    [&](std::string& s) {
                      for (const Event& event : scene.events("CopyRecreated", s)) {
                        if (event.type == "Normal" && contains(event.message, part)) return true;
                      }
                      return false;
                    });
}

}  // namespace

TEST_CASE("an immutable field change is reported, or recreated under onImmutable: recreate",
          "[immutable]") {
  SECTION("onImmutable: report (the default) reports once per source version, without retries") {
    ImmutableScene scene("immrep", std::nullopt);
    DaemonProcess daemon(scene.testbed(), scene.daemon());
    freezeCopyThenChangeSource(scene, daemon);

    // The refusal of the new data, in the server's words, on the source object.
    REQUIRE(waitLogged(
        daemon, "a Warning ImmutableField Event with the server's text", 30s, [&](std::string& s) {
          const std::vector<Event> events = scene.events("ImmutableField", s);
          for (const Event& event : events) {
            if (event.type == "Warning" &&
                contains(event.message, std::string("data: Forbidden: ") + kServerText)) {
              return true;
            }
          }
          return false;
        }));
    REQUIRE(
        waitLogged(daemon, "sync-status Rejected with the server's text", 30s, [&](std::string& s) {
          const std::string status = scene.syncStatus(s);
          return contains(status, R"("result":"Rejected")") && contains(status, kServerText);
        }));
    const kube::Json target = scene.require(Side::Target);
    CHECK(dataOf(target) == describe(StringMap{{"k", "first"}}));
    CHECK(target.HasMember("immutable"));

    // Nothing tries the write again while the source stays as it is, not even a change of the
    // copy that re-queues the key (a label the host admin adds, which is drift to restore).
    std::string seen;
    const std::size_t eventsBefore = scene.events("ImmutableField", seen).size();
    const std::string logLine = "ImmutableField: configmaps " + scene.ns() + "/" + kName;
    const std::size_t refusalsBefore = daemon.countLog(logLine);
    CHECK(refusalsBefore >= 1);
    scene.kubectl(Side::Target, {"label", "configmap", kName, "host.example.com/audit=1"});
    const std::string targetVersion(kube::resourceVersionOf(scene.require(Side::Target)));
    CHECK(holdsThroughout(
        "quiet window: no further write attempt or ImmutableField Event while the source stays",
        kQuietWindow, [&](std::string& s) {
          const std::size_t events = scene.events("ImmutableField", s).size();
          const std::size_t refusals = daemon.countLog(logLine);
          const std::optional<kube::Json> copy = scene.get(Side::Target, s);
          s += " refusals logged: " + std::to_string(refusals) + " (before " +
               std::to_string(refusalsBefore) + ")";
          return events == eventsBefore && refusals == refusalsBefore && copy &&
                 kube::resourceVersionOf(*copy) == targetVersion;
        }));

    // A new source version is tried, refused and reported again; the copy keeps its data.
    scene.kubectl(Side::Source, {"patch", "configmap", kName, "--type", "merge", "-p",
                                 R"({"data":{"k":"third"}})"});
    REQUIRE(waitLogged(daemon, "a new ImmutableField Event for the new source version", 30s,
                       [&](std::string& s) {
                         const std::vector<Event> events = scene.events("ImmutableField", s);
                         return events.size() > eventsBefore &&
                                countContaining(events, kServerText) == events.size() &&
                                daemon.countLog(logLine) > refusalsBefore;
                       }));
    const kube::Json after = scene.require(Side::Target);
    CHECK(dataOf(after) == describe(StringMap{{"k", "first"}}));
    CHECK(kube::uidOf(after) == kube::uidOf(target));
    CHECK(daemon.countLog("replacing configmaps") == 0);
    std::string malformed;
    const bool noneMalformed = scene.events("MalformedAnnotation", malformed).empty();
    INFO(malformed);
    CHECK(noneMalformed);
  }

  SECTION("onImmutable: recreate deletes the copy and creates it anew with the change") {
    ImmutableScene scene("immrec", std::string(kRecreatePolicy));
    DaemonProcess daemon(scene.testbed(), scene.daemon());
    const std::string firstUid = freezeCopyThenChangeSource(scene, daemon);

    // The daemon meets the host's `immutable` first, as drift of a source-owned field that the
    // target refuses to remove (the merge patch after the apply), or the new data right away.
    const std::string secondUid = waitForNewCopy(scene, daemon, firstUid, "second");
    CHECK(waitForCopies(daemon, scene, kube::resources::configMaps(),
                        {{kName, viewOf(scene.require(Side::Source))}}, 30s));
    REQUIRE(waitForCopyRecreated(scene, daemon, kServerText));
    CHECK(daemon.countLog("replacing configmaps " + scene.targetNs() + "/" + kName) >= 1);

    // Both at once while the daemon is down: the apply of the new data is what is refused.
    REQUIRE(daemon.terminate() == "exited with status 0");
    scene.kubectl(Side::Target, {"patch", "configmap", kName, "--type", "merge", "-p",
                                 R"({"immutable":true})", "--field-manager", "host-admin"});
    scene.kubectl(Side::Source, {"patch", "configmap", kName, "--type", "merge", "-p",
                                 R"({"data":{"k":"third"}})"});
    daemon.start();
    REQUIRE(daemon.waitForLog(kReadyLine, 60s));
    waitForNewCopy(scene, daemon, secondUid, "third");
    CHECK(waitForCopies(daemon, scene, kube::resources::configMaps(),
                        {{kName, viewOf(scene.require(Side::Source))}}, 30s));
    REQUIRE(waitForCopyRecreated(scene, daemon, std::string("data: Forbidden: ") + kServerText));

    std::string seen;
    const bool noneReported = scene.events("ImmutableField", seen).empty() &&
                              scene.events("MalformedAnnotation", seen).empty();
    INFO(seen);
    CHECK(noneReported);
  }
}
