// Target objects in the way of a copy, as a real daemon meets them on the testbed: one that
// appears after the daemon read its cache but before its apply arrives (the daemon's own rate
// limit holds the apply back, so the window is real and seconds long), and a clash that ends
// when the object in the way goes.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::configMap;
using bisync::testing::DaemonProcess;
using bisync::testing::describe;
using bisync::testing::kReadyLine;
using bisync::testing::numberedConfigMaps;
using bisync::testing::ObjectView;
using bisync::testing::Side;
using bisync::testing::StringMap;
using bisync::testing::SyncScene;
using bisync::testing::viewOf;
using bisync::testing::Views;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

// The NameClash Events about source ConfigMap `name`.
int clashEvents(SyncScene& scene, const std::string& name, std::string& seen) {
  auto events = scene.api().run(scene.api().source().list(kube::resources::events(), scene.ns()));
  if (!events) {
    seen = events.error().describe();
    return 0;
  }
  int found = 0;
  for (const kube::JsonValue& item : events->items().GetArray()) {
    if (kube::stringAt(item, "/reason") == "NameClash" &&
        kube::stringAt(item, "/involvedObject/name") == name) {
      ++found;
    }
  }
  seen += " " + name + ": " + std::to_string(found) + " NameClash event(s);";
  return found;
}

bool hasSyncerKeys(const ObjectView& view) {
  for (const StringMap* map : {&view.labels, &view.annotations}) {
    for (const auto& [key, value] : *map) {
      if (key.rfind("kube-bisync.io/", 0) == 0) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE(
    "an object someone creates at a copy's name after the daemon read its cache, before its "
    "apply arrives, is left as it was and reported as a clash",
    "[clash]") {
  SyncScene scene("late");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  // 64 workers read their cache at once; a burst of 20 requests covers the start-up and a few
  // applies, then one request a second goes out.
  DaemonProcess daemon(
      scene.testbed(),
      {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--qps", "1", "--burst", "20", "--workers", "64"})});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  const auto created = scene.tryCreateAll(cms, numberedConfigMaps(scene.ns(), 30, "source"));
  REQUIRE(created);
  REQUIRE(waitLogged(
      daemon, "the daemon's applies held back by its rate limit", 30s, [&](std::string& seen) {
        return daemon.metric(R"(kube_bisync_api_throttled_total{side="target"})", seen) > 0.0;
      }));

  // Two names whose copies are still waiting for their apply: one object whose data conflicts
  // with the copy's, one that only has other fields (the apply would merge into it).
  const std::vector<StringMap> theirs = {{{"k", "theirs"}}, {{"other", "x"}}};
  std::vector<ObjectView> placed;
  std::string seen;
  auto copies = scene.list(Side::Target, cms, scene.targetNs(), seen);
  INFO(seen);
  REQUIRE(copies);
  for (const auto& [name, source] : *created) {
    if (placed.size() == theirs.size()) break;
    if (copies->count(name) > 0) continue;
    auto made = scene.tryCreate(Side::Target, cms,
                                configMap(scene.targetNs(), name, theirs[placed.size()]));
    // The daemon's copy may have landed since the list; then the next name is taken.
    if (!made && made.error().isAlreadyExists()) continue;
    INFO("create " << name << " on the target: " << (made ? "ok" : made.error().describe()));
    REQUIRE(made);
    placed.push_back(viewOf(*made));
  }
  REQUIRE(placed.size() == theirs.size());

  for (const ObjectView& before : placed) {
    REQUIRE(waitLogged(daemon, "a NameClash Event for " + before.name, 60s,
                       [&](std::string& s) { return clashEvents(scene, before.name, s) > 0; }));
  }
  for (const ObjectView& before : placed) {
    auto now = scene.api().run(scene.api().target().get(cms, scene.targetNs(), before.name));
    REQUIRE(now);
    const ObjectView after = viewOf(*now);
    INFO("before: " << describe(before) << "\nafter: " << describe(after));
    CHECK(after.uid == before.uid);
    CHECK(after.data == before.data);
    CHECK(after.labels == before.labels);
    CHECK_FALSE(hasSyncerKeys(after));
  }
  CHECK(daemon.countLog("was created by someone else since the cache last saw the server") >= 2);
  // Every other copy arrived.
  Views others = *created;
  for (const ObjectView& view : placed) others.erase(view.name);
  CHECK(bisync::testing::waitForCopies(daemon, scene, cms, others, 60s));
}

TEST_CASE("a clash ends as soon as the object in the way is deleted", "[clash]") {
  SyncScene scene("freed");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  REQUIRE(scene.tryCreateTargetNamespace(scene.targetNs(), true));
  REQUIRE(scene.tryCreate(Side::Target, cms, configMap(scene.targetNs(), "spot", {{"k", "t"}})));
  std::vector<kube::Json> spot;
  spot.push_back(configMap(scene.ns(), "spot", {{"k", "s"}}));
  const auto created = scene.tryCreateAll(cms, spot);
  REQUIRE(created);
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(waitLogged(daemon, "a NameClash Event", 30s,
                     [&](std::string& s) { return clashEvents(scene, "spot", s) > 0; }));

  REQUIRE(scene.api().run(scene.api().target().remove(cms, scene.targetNs(), "spot")));
  // Well before the daemon's periodic re-check (60 s): the deletion itself re-queues the key.
  CHECK(bisync::testing::waitForCopies(daemon, scene, cms, *created, 15s));
}
