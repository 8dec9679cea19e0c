// Hostile data from the servers, as the real daemon meets it on the testbed: annotations of the
// syncer's own that someone filled with JSON nested deep enough to overflow a recursive parser.
// The daemon must report them, treat them as absent, and keep syncing.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "syncer/kube/base64.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::configMap;
using bisync::testing::DaemonProcess;
using bisync::testing::kReadyLine;
using bisync::testing::secret;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::viewOf;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

constexpr const char* kMergeBase = "kube-bisync.io/merge-base";
constexpr const char* kSyncStatus = "kube-bisync.io/sync-status";
// 100,000 levels: 200,000 bytes, within the API server's 256 KiB for all annotations.
constexpr std::size_t kDepth = 100000;

// Labels shared by both sides, so that the daemon keeps a merge base on the target copy.
constexpr const char* kSharedLabelsPolicy =
    "apiVersion: kube-bisync.io/v1alpha1\nkind: SyncPolicy\n"
    "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
    "direction: bidirectional\nfields:\n"
    "  - {path: /data, owner: source}\n"
    "  - {path: /metadata/labels/*, owner: both, onConflict: newest-wins}\n";

// Secrets whose data keys are shared and never overwritten in a conflict (reject): the daemon
// keeps a merge base of them on the target, and reports conflicts with the values involved.
constexpr const char* kSharedSecretsPolicy =
    "apiVersion: kube-bisync.io/v1alpha1\nkind: SyncPolicy\n"
    "resource: {group: \"\", version: v1, kind: Secret}\n"
    "direction: bidirectional\nfields:\n"
    "  - {path: /type, owner: source}\n"
    "  - {path: /data/*, owner: both, onConflict: reject}\n";

// A merge patch setting annotation `key` of an object to `value`.
std::string annotationPatch(const std::string& key, const std::string& value) {
  kube::Json patch(rapidjson::kObjectType);
  auto& allocator = patch.GetAllocator();
  kube::JsonValue annotations(rapidjson::kObjectType);
  annotations.AddMember(kube::JsonValue(key, allocator), kube::JsonValue(value, allocator),
                        allocator);
  kube::JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("annotations", annotations, allocator);
  patch.AddMember("metadata", metadata, allocator);
  return kube::toJson(patch);
}

// The annotation `key` ("kube-bisync.io/...") of `ns`/`name` on `side`; "" when it has none,
// nullopt when the object cannot be read.
std::optional<std::string> annotation(SyncScene& scene, Side side, const std::string& ns,
                                      const std::string& name, const std::string& key,
                                      std::string& seen) {
  auto object =
      scene.api().run(scene.api().client(side).get(kube::resources::configMaps(), ns, name));
  if (!object) {
    seen = object.error().describe();
    return std::nullopt;
  }
  std::string pointer = "/metadata/annotations/";
  for (const char c : key) pointer += c == '/' ? std::string("~1") : std::string(1, c);
  return std::string(kube::stringAt(*object, pointer));
}

// `text` parses as a JSON object whose "result" is `result`.
bool holdsResult(const std::string& text, const std::string& result) {
  const kube::Result<kube::Json> parsed = kube::parseJson(text, "sync status");
  return parsed && kube::stringMember(*parsed, "result") == result;
}

}  // namespace

TEST_CASE(
    "deeply nested JSON in an annotation we parse (source and target side) is reported, and the "
    "daemon keeps syncing",
    "[hostile-input]") {
  SyncScene scene("deep");
  bisync::testing::TempDir policies(std::filesystem::temp_directory_path(), "policies-");
  std::ofstream(policies.path() / "configmaps.yaml") << kSharedLabelsPolicy;
  const kube::ResourceInfo cms = kube::resources::configMaps();
  kube::Json object = configMap(scene.ns(), "deep", {{"k", "v1"}});
  kube::JsonPointer("/metadata/labels/team").Set(object, "a");
  auto created = scene.tryCreate(Side::Source, cms, object);
  REQUIRE(created);
  DaemonProcess daemon(
      scene.testbed(),
      {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--policies", policies.path().string()})});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(waitForCopies(daemon, scene, cms, {{"deep", viewOf(*created)}}, 30s));
  const std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');

  SECTION("the target copy's merge base") {
    REQUIRE(scene.api().run(scene.api().target().patch(
        cms, scene.targetNs(), "deep", kube::PatchType::Merge, annotationPatch(kMergeBase, deep))));
    REQUIRE(waitLogged(
        daemon, "a MalformedAnnotation Event naming the merge base", 30s, [&](std::string& seen) {
          return scene.countEvents(Side::Source, scene.ns(), "MalformedAnnotation", "deep", seen) >
                     0 &&
                 seen.find(kMergeBase) != std::string::npos;
        }));
    // Replaced by a base the daemon can read again.
    CHECK(waitLogged(daemon, "a readable merge base again", 30s, [&](std::string& seen) {
      const auto base = annotation(scene, Side::Target, scene.targetNs(), "deep", kMergeBase, seen);
      seen += " merge base of " + std::to_string(base ? base->size() : 0) + " bytes";
      return base && !base->empty() && base->size() < 1000 &&
             kube::parseJson(*base, "merge base").has_value();
    }));
  }
  SECTION("the source object's sync status") {
    REQUIRE(scene.api().run(scene.api().source().patch(
        cms, scene.ns(), "deep", kube::PatchType::Merge, annotationPatch(kSyncStatus, deep))));
    REQUIRE(waitLogged(
        daemon, "a MalformedAnnotation Event naming the sync status", 30s, [&](std::string& seen) {
          return scene.countEvents(Side::Source, scene.ns(), "MalformedAnnotation", "deep", seen) >
                     0 &&
                 seen.find(kSyncStatus) != std::string::npos;
        }));
    CHECK(waitLogged(daemon, "a readable sync status again", 30s, [&](std::string& seen) {
      const auto status = annotation(scene, Side::Source, scene.ns(), "deep", kSyncStatus, seen);
      seen += " sync status: " + (status ? status->substr(0, 80) : std::string("?"));
      return status && holdsResult(*status, "Synced");
    }));
  }
  // Still syncing: a change of the source arrives.
  REQUIRE(scene.tryPatchData(cms, scene.ns(), "deep", {{"k", "v2"}}));
  CHECK(waitLogged(
      daemon, "the next change of the source on the target", 30s, [&](std::string& seen) {
        auto copy = scene.api().run(scene.api().target().get(cms, scene.targetNs(), "deep"));
        seen = copy ? std::string(kube::stringAt(*copy, "/data/k")) : copy.error().describe();
        return copy && kube::stringAt(*copy, "/data/k") == "v2";
      }));
  CHECK(daemon.running());
}

TEST_CASE(
    "secret values never appear in the daemon's log, Events, sync-status or merge-base "
    "annotations",
    "[hostile-input]") {
  SyncScene scene("hush");
  bisync::testing::TempDir policies(std::filesystem::temp_directory_path(), "policies-");
  std::ofstream(policies.path() / "secrets.yaml") << kSharedSecretsPolicy;
  const kube::ResourceInfo secrets = kube::resources::secrets();
  auto created = scene.tryCreate(Side::Source, secrets,
                                 secret(scene.ns(), "creds", "Opaque", {{"pw", "first-Pa55"}}));
  REQUIRE(created);
  DaemonProcess daemon(
      scene.testbed(),
      {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--policies", policies.path().string()})});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(waitForCopies(daemon, scene, secrets, {{"creds", viewOf(*created)}}, 30s));
  // Both sides change the value while the daemon is down: a conflict it must report.
  REQUIRE(daemon.terminate() == "exited with status 0");
  const auto stringData = [](const std::string& value) {
    return R"({"stringData":{"pw":")" + value + R"("}})";
  };
  REQUIRE(scene.api().run(scene.api().source().patch(
      secrets, scene.ns(), "creds", kube::PatchType::Merge, stringData("source-Pa55"))));
  REQUIRE(scene.api().run(scene.api().target().patch(
      secrets, scene.targetNs(), "creds", kube::PatchType::Merge, stringData("target-Pa55"))));
  daemon.start();
  std::string events;
  REQUIRE(waitLogged(daemon, "a SyncConflict Event about the secret", 30s, [&](std::string& seen) {
    events.clear();
    const bool found =
        scene.countEvents(Side::Source, scene.ns(), "SyncConflict", "creds", events) > 0;
    seen = events;
    return found;
  }));
  std::string seen;
  auto source = scene.api().run(scene.api().source().get(secrets, scene.ns(), "creds"));
  auto target = scene.api().run(scene.api().target().get(secrets, scene.targetNs(), "creds"));
  REQUIRE(source);
  REQUIRE(target);
  const std::string syncStatus(
      kube::stringAt(*source, "/metadata/annotations/kube-bisync.io~1sync-status"));
  const std::string mergeBase(
      kube::stringAt(*target, "/metadata/annotations/kube-bisync.io~1merge-base"));
  INFO("sync-status: " << syncStatus << "\nmerge-base: " << mergeBase << "\nevents:" << events);
  REQUIRE_FALSE(syncStatus.empty());
  REQUIRE_FALSE(mergeBase.empty());
  const std::string log = daemon.log();
  for (const std::string value : {"first-Pa55", "source-Pa55", "target-Pa55"}) {
    for (const std::string& form : {value, kube::encodeBase64(value)}) {
      INFO("looking for " << form);
      CHECK(log.find(form) == std::string::npos);
      CHECK(events.find(form) == std::string::npos);
      CHECK(syncStatus.find(form) == std::string::npos);
      CHECK(mergeBase.find(form) == std::string::npos);
    }
  }
  // Neither side was overwritten (reject), and the conflict names the field.
  CHECK(syncStatus.find("/data/pw") != std::string::npos);
  CHECK(kube::stringAt(*source, "/data/pw") == kube::encodeBase64("source-Pa55"));
  CHECK(kube::stringAt(*target, "/data/pw") == kube::encodeBase64("target-Pa55"));
}
