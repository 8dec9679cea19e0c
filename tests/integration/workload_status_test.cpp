// What comes back from the host to the virtual cluster besides the synced objects' fields: host
// Events about synced copies, recreated on the source objects (one copy per host Event, updated
// with its count, never duplicated by a restart), and the Nodes that run synced Pods. The daemon
// runs as a real process against the testbed; host Events are written by the test as a host
// component would, and read back as a tenant does (kubectl describe, Event lists).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "syncer/kube/client.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::CommandResult;
using bisync::testing::configMap;
using bisync::testing::DaemonProcess;
using bisync::testing::holdsThroughout;
using bisync::testing::kReadyLine;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

constexpr const char* kReason = "HostCheck";

bisync::testing::DaemonOptions daemonOptions(const SyncScene& scene) {
  return {BISYNC_DAEMON_BINARY, scene.daemonArgs()};
}

// A core v1 Event `name` in target namespace `ns` about the ConfigMap copy `copy`, as a host
// controller records it: `count` times, the last at minute `minute` past 09:00.
kube::Json hostEvent(const std::string& ns, const std::string& name, const kube::JsonValue& copy,
                     int count, int minute) {
  kube::Json event(rapidjson::kObjectType);
  const auto set = [&event](const char* pointer, const std::string& value) {
    kube::JsonPointer(pointer).Set(event, value.c_str());
  };
  set("/apiVersion", "v1");
  set("/kind", "Event");
  set("/metadata/namespace", ns);
  set("/metadata/name", name);
  set("/involvedObject/apiVersion", "v1");
  set("/involvedObject/kind", "ConfigMap");
  set("/involvedObject/namespace", ns);
  set("/involvedObject/name", std::string(kube::nameOf(copy)));
  set("/involvedObject/uid", std::string(kube::uidOf(copy)));
  set("/reason", kReason);
  set("/message", "checked by the host");
  set("/type", "Warning");
  set("/source/component", "host-checker");
  set("/firstTimestamp", "2026-12-05T09:00:00Z");
  set("/lastTimestamp",
      "2026-12-05T09:" + std::string(minute < 10 ? "0" : "") + std::to_string(minute) + ":00Z");
  kube::JsonPointer("/count").Set(event, count);
  return event;
}

// The Events with reason kReason in the scene's source namespace (the copies), described in
// `seen`; nullopt when they cannot be listed.
std::optional<std::vector<kube::Json>> eventCopies(SyncScene& scene, std::string& seen) {
  auto events = scene.api().run(scene.api().source().list(kube::resources::events(), scene.ns()));
  if (!events) {
    seen = "events: " + events.error().describe();
    return std::nullopt;
  }
  std::vector<kube::Json> found;
  seen.clear();
  for (const kube::JsonValue& item : events->items().GetArray()) {
    if (kube::stringAt(item, "/reason") != kReason) continue;
    kube::Json copy;
    copy.CopyFrom(item, copy.GetAllocator());
    seen += " [" + kube::toJson(copy) + "]";
    found.push_back(std::move(copy));
  }
  seen = std::to_string(found.size()) + " copies:" + seen;
  return found;
}

std::int64_t countOf(const kube::JsonValue& event) {
  return kube::intMember(event, "count").value_or(0);
}

// Waits until the source namespace holds exactly one copy, about `source`, with `count`; returns
// its resourceVersion ("" when the wait failed: the REQUIRE inside has then stopped the test).
std::string waitForOneCopy(DaemonProcess& daemon, SyncScene& scene, const kube::JsonValue& source,
                           std::int64_t count) {
  std::string version;
  REQUIRE(waitLogged(
      daemon, "one copy of the host Event on ConfigMap cfg with count " + std::to_string(count),
      30s, [&](std::string& seen) {
        const auto copies = eventCopies(scene, seen);
        if (!copies || copies->size() != 1) return false;
        const kube::JsonValue& copy = copies->front();
        version = std::string(kube::resourceVersionOf(copy));
        return countOf(copy) == count &&
               kube::stringAt(copy, "/involvedObject/uid") == kube::uidOf(source) &&
               kube::stringAt(copy, "/involvedObject/kind") == "ConfigMap" &&
               kube::stringAt(copy, "/involvedObject/namespace") == scene.ns() &&
               kube::stringAt(copy, "/source/component") == "host-checker";
      }));
  return version;
}

void patchHostEvent(SyncScene& scene, const std::string& name, const std::string& body) {
  auto patched = scene.api().run(scene.api().target().patch(
      kube::resources::events(), scene.targetNs(), name, kube::PatchType::Merge, body));
  INFO("patching the host Event " << name << ": " << (patched ? "ok" : patched.error().describe()));
  REQUIRE(patched);
}

// No copy is made, rewritten or duplicated for the whole window: one copy at `version`.
void requireCopyUnchanged(SyncScene& scene, const std::string& what, const std::string& version) {
  REQUIRE(holdsThroughout(what, 5s, [&](std::string& seen) {
    const auto copies = eventCopies(scene, seen);
    return copies && copies->size() == 1 &&
           kube::resourceVersionOf(copies->front()) == std::string_view(version);
  }));
}

}  // namespace

TEST_CASE(
    "host Events about a synced object appear on the source object, one copy per host "
    "Event, updated only with its count, kept across a restart",
    "[events]") {
  SyncScene scene("evt");
  DaemonProcess daemon(scene.testbed(), daemonOptions(scene));
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  auto source = scene.tryCreate(Side::Source, kube::resources::configMaps(),
                                configMap(scene.ns(), "cfg", {{"k", "v"}}));
  REQUIRE(source);
  std::optional<kube::Json> copy;
  REQUIRE(waitLogged(daemon, "the target copy of cfg", 30s, [&](std::string& seen) {
    auto got = scene.api().run(
        scene.api().target().get(kube::resources::configMaps(), scene.targetNs(), "cfg"));
    seen = got ? "present" : got.error().describe();
    if (got) copy = std::move(*got);
    return got.has_value();
  }));

  const std::string name = "cfg.host-1";
  REQUIRE(scene.tryCreate(Side::Target, kube::resources::events(),
                          hostEvent(scene.targetNs(), name, *copy, 1, 0)));
  const std::string first = waitForOneCopy(daemon, scene, *source, 1);
  const CommandResult described =
      scene.testbed().kubectl(Side::Source, {"-n", scene.ns(), "describe", "configmap", "cfg"});
  INFO("kubectl describe configmap cfg on the source: " << described.summary() << "\n"
                                                        << described.out);
  REQUIRE(described.ok());
  CHECK(described.out.find(kReason) != std::string::npos);
  CHECK(described.out.find("checked by the host") != std::string::npos);

  patchHostEvent(scene, name, R"({"count":2,"lastTimestamp":"2026-12-05T09:01:00Z"})");
  const std::string second = waitForOneCopy(daemon, scene, *source, 2);
  patchHostEvent(scene, name, R"({"count":3,"lastTimestamp":"2026-12-05T09:02:00Z"})");
  const std::string third = waitForOneCopy(daemon, scene, *source, 3);
  CHECK(first != second);
  CHECK(second != third);

  // A change of the host Event that a copy does not carry writes nothing.
  patchHostEvent(scene, name, R"({"metadata":{"annotations":{"host.example/seen":"yes"}}})");
  requireCopyUnchanged(scene, "5 s after a host Event change the copy does not carry", third);

  // A restart finds its copy by name: no second copy, no write while nothing changed.
  REQUIRE(daemon.terminate() == "exited with status 0");
  daemon.start();
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  requireCopyUnchanged(scene, "5 s after a restart with the host Event unchanged", third);
  patchHostEvent(scene, name, R"({"count":4,"lastTimestamp":"2026-12-05T09:03:00Z"})");
  const std::string fourth = waitForOneCopy(daemon, scene, *source, 4);
  CHECK(fourth != third);
  // The second run took the first run's copy on: it created none, updated it once.
  std::string seen;
  const auto created = daemon.metric(R"(kube_bisync_event_copies_total{operation="create"})", seen);
  const auto updated = daemon.metric(R"(kube_bisync_event_copies_total{operation="update"})", seen);
  INFO("metrics: " << seen);
  CHECK(created == std::optional<double>(0));
  CHECK(updated == std::optional<double>(1));
}
