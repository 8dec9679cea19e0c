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
#include "tests/support/node_simulator.hpp"
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

// A core v1 Event `name` in target namespace `ns` about the copy `copy` (of `kind`), as a host
// controller records it: `count` times, the last at minute `minute` past 09:00.
kube::Json hostEvent(const std::string& ns, const std::string& name, const kube::JsonValue& copy,
                     int count, int minute, const std::string& kind = "ConfigMap") {
  kube::Json event(rapidjson::kObjectType);
  const auto set = [&event](const char* pointer, const std::string& value) {
    kube::JsonPointer(pointer).Set(event, value.c_str());
  };
  set("/apiVersion", "v1");
  set("/kind", "Event");
  set("/metadata/namespace", ns);
  set("/metadata/name", name);
  set("/involvedObject/apiVersion", "v1");
  set("/involvedObject/kind", kind);
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

kube::ResourceInfo nodes() { return {"", "v1", "nodes", "Node", false, true}; }
kube::ResourceInfo pods() { return {"", "v1", "pods", "Pod", true, true}; }
kube::ResourceInfo serviceAccounts() {
  return {"", "v1", "serviceaccounts", "ServiceAccount", true};
}

// The daemon's flags with Pods synced too.
bisync::testing::DaemonOptions podDaemonOptions(const SyncScene& scene) {
  std::vector<std::string> args = scene.daemonArgs();
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--resources") args[i + 1] = "configmaps,secrets,pods";
  }
  return {BISYNC_DAEMON_BINARY, args};
}

kube::Json parsed(const std::string& text) {
  auto json = kube::parseJson(text, "test object");
  REQUIRE(json);
  return std::move(*json);
}

// The Ready condition with its heartbeat at `second` past 09:00, as a kubelet writes it.
std::string readyCondition(int second, const std::string& message) {
  const auto twoDigits = [](int value) {
    return std::string(value < 10 ? "0" : "") + std::to_string(value);
  };
  const std::string time =
      "2026-12-05T09:" + twoDigits(second / 60) + ":" + twoDigits(second % 60) + "Z";
  return R"({"type":"Ready","status":"True","reason":"KubeletReady","message":")" + message +
         R"(","lastHeartbeatTime":")" + time + R"(","lastTransitionTime":"2026-12-05T09:00:00Z"})";
}

// A host Node registered by the test, as a kubelet registers itself (deleted at scope end, with
// the virtual Node of that name if one is left).
class HostNode {
 public:
  HostNode(SyncScene& scene, std::string name) : scene_(scene), name_(std::move(name)) {
    auto created =
        scene_.tryCreate(Side::Target, nodes(),
                         parsed(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name_ +
                                R"(","labels":{"kubernetes.io/hostname":")" + name_ +
                                R"(","example.com/zone":"a"}}})"));
    INFO("creating host Node " << name_ << ": " << (created ? "ok" : created.error().describe()));
    REQUIRE(created);
    writeStatus(R"({"status":{"capacity":{"cpu":"4","memory":"16Gi","pods":"110"},
      "allocatable":{"cpu":"3800m","memory":"15Gi","pods":"110"},
      "conditions":[)" +
                readyCondition(0, "kubelet is posting ready status") + R"(],
      "addresses":[{"type":"InternalIP","address":"10.9.0.1"},{"type":"Hostname","address":")" +
                name_ + R"("}],
      "nodeInfo":{"machineID":"m","systemUUID":"s","bootID":"b","kernelVersion":"5",
        "osImage":"sim","containerRuntimeVersion":"sim://1","kubeletVersion":"v1.20.0",
        "kubeProxyVersion":"v1.20.0","operatingSystem":"linux","architecture":"amd64"}}})");
  }
  ~HostNode() {
    for (const Side side : {Side::Target, Side::Source}) {
      (void)scene_.api().run(scene_.api().client(side).remove(nodes(), "", name_));
    }
  }
  HostNode(const HostNode&) = delete;
  HostNode& operator=(const HostNode&) = delete;

  const std::string& name() const { return name_; }
  // A strategic merge patch of the Node's status (conditions merge by type), as a kubelet's.
  void writeStatus(const std::string& body) {
    kube::PatchOptions options;
    options.fieldManager = "kubelet";
    options.subresource = "status";
    auto patched = scene_.api().run(
        scene_.api().target().patch(nodes(), "", name_, kube::PatchType::Strategic, body, options));
    INFO("status of host Node " << name_ << ": " << (patched ? "ok" : patched.error().describe()));
    REQUIRE(patched);
  }

 private:
  SyncScene& scene_;
  std::string name_;
};

// The source namespace's default ServiceAccount (no controller makes it in the testbed), then a
// virtual Pod `name` without a mounted token; returns its host copy once the daemon made it.
kube::Json runVirtualPod(DaemonProcess& daemon, SyncScene& scene, const std::string& name) {
  (void)scene.tryCreate(Side::Source, serviceAccounts(),
                        parsed(R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{
                          "name":"default","namespace":")" +
                               scene.ns() + R"("}})"));
  auto pod = scene.tryCreate(Side::Source, pods(),
                             parsed(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" +
                                    name + R"(","namespace":")" + scene.ns() +
                                    R"("},"spec":{"automountServiceAccountToken":false,
               "containers":[{"name":"app","image":"nginx"}]}})"));
  INFO("creating the virtual Pod " << name << ": " << (pod ? "ok" : pod.error().describe()));
  REQUIRE(pod);
  std::optional<kube::Json> copy;
  REQUIRE(waitLogged(daemon, "the host copy of Pod " + name, 30s, [&](std::string& seen) {
    auto got = scene.api().run(scene.api().target().get(pods(), scene.targetNs(), name));
    seen = got ? "present" : got.error().describe();
    if (got) copy = std::move(*got);
    return got.has_value();
  }));
  return std::move(*copy);
}

// Binds the host Pod `name` to `node`, as the host's scheduler does.
void bindHostPod(SyncScene& scene, const std::string& name, const std::string& node) {
  const kube::ResourceInfo bindings{"", "v1", "bindings", "Binding", true};
  auto bound =
      scene.tryCreate(Side::Target, bindings,
                      parsed(R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":")" + name +
                             R"(","namespace":")" + scene.targetNs() +
                             R"("},"target":{"kind":"Node","name":")" + node + R"("}})"));
  INFO("binding host Pod " << name << " to " << node << ": "
                           << (bound ? "ok" : bound.error().describe()));
  REQUIRE(bound);
}

// The virtual Node `name`; nullopt (and why in `seen`) when absent.
std::optional<kube::Json> virtualNode(SyncScene& scene, const std::string& name,
                                      std::string& seen) {
  auto node = scene.api().run(scene.api().source().get(nodes(), "", name));
  if (!node) {
    seen = "virtual Node " + name + ": " + node.error().describe();
    return std::nullopt;
  }
  seen = "virtual Node " + kube::toJson(*node);
  return std::move(*node);
}

// The virtual Node holds the host Node's labels, capacity, addresses and Ready message, and
// nothing a tenant added.
bool showsHostNode(const kube::JsonValue& node, const std::string& readyMessage) {
  return kube::stringAt(node, "/metadata/labels/example.com~1zone") == "a" &&
         kube::at(node, "/metadata/labels/tenant") == nullptr &&
         kube::at(node, "/spec/unschedulable") == nullptr &&
         kube::stringAt(node, "/status/capacity/cpu") == "4" &&
         kube::stringAt(node, "/status/allocatable/cpu") == "3800m" &&
         kube::stringAt(node, "/status/addresses/0/address") == "10.9.0.1" &&
         kube::stringAt(node, "/status/nodeInfo/kubeletVersion") == "v1.20.0" &&
         kube::stringAt(node, "/status/conditions/0/message") == readyMessage;
}

// Waits until the virtual Node `name` shows the host Node; returns its resourceVersion.
std::string waitForVirtualNode(DaemonProcess& daemon, SyncScene& scene, const std::string& name,
                               const std::string& readyMessage) {
  std::string version;
  REQUIRE(waitLogged(daemon, "virtual Node " + name + " showing the host's", 30s,
                     [&](std::string& seen) {
                       const auto node = virtualNode(scene, name, seen);
                       if (node) version = std::string(kube::resourceVersionOf(*node));
                       return node && showsHostNode(*node, readyMessage);
                     }));
  return version;
}

// Once the syncer has deleted the host Pod `name`, removes it at once (grace 0), as the node's
// kubelet does when its containers have stopped: no kubelet runs in the testbed.
void finishHostPodDeletion(DaemonProcess& daemon, SyncScene& scene, const std::string& name) {
  bool gone = false;
  REQUIRE(waitLogged(
      daemon, "the host Pod " + name + " deleted by the syncer", 30s, [&](std::string& seen) {
        auto pod = scene.api().run(scene.api().target().get(pods(), scene.targetNs(), name));
        gone = !pod && pod.error().isNotFound();
        seen = pod ? kube::toJson(*pod) : pod.error().describe();
        return gone || (pod && kube::at(*pod, "/metadata/deletionTimestamp") != nullptr);
      }));
  if (gone) return;
  kube::DeleteOptions now;
  now.gracePeriodSeconds = 0;
  auto removed = scene.api().run(scene.api().target().remove(pods(), scene.targetNs(), name, now));
  INFO("removing the host Pod " << name << ": " << (removed ? "ok" : removed.error().describe()));
  REQUIRE((removed || removed.error().isNotFound()));
}

// Whether the virtual Node `name` is certainly gone.
bool virtualNodeGone(SyncScene& scene, const std::string& name, std::string& seen) {
  auto node = scene.api().run(scene.api().source().get(nodes(), "", name));
  seen = node ? "present" : node.error().describe();
  return !node && node.error().isNotFound();
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
  const auto cached =
      daemon.metric(R"(kube_bisync_cache_objects{side="target",resource="events"})", seen);
  CHECK(cached >= std::optional<double>(1));  // the host Event, as its informer keeps it
}

TEST_CASE(
    "the virtual Node of a host node is created, kept read-only and removed with its last "
    "Pod",
    "[nodes]") {
  SyncScene scene("nod");
  HostNode host(scene, scene.cluster() + "-node");
  DaemonProcess daemon(scene.testbed(), podDaemonOptions(scene));
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  runVirtualPod(daemon, scene, "web");
  REQUIRE(holdsThroughout(
      "2 s with the host Pod unscheduled: no virtual Node", 2s,
      [&](std::string& seen) { return virtualNodeGone(scene, host.name(), seen); }));
  bindHostPod(scene, "web", host.name());
  waitForVirtualNode(daemon, scene, host.name(), "kubelet is posting ready status");

  // A tenant's edits of labels, spec and status are taken back.
  auto labelled = scene.api().run(scene.api().source().patch(
      nodes(), "", host.name(), kube::PatchType::Merge,
      R"({"metadata":{"labels":{"tenant":"x"}},"spec":{"unschedulable":true}})"));
  REQUIRE(labelled);
  kube::PatchOptions statusOptions;
  statusOptions.subresource = "status";
  auto edited = scene.api().run(
      scene.api().source().patch(nodes(), "", host.name(), kube::PatchType::Merge,
                                 R"({"status":{"capacity":{"cpu":"64"}}})", statusOptions));
  REQUIRE(edited);
  waitForVirtualNode(daemon, scene, host.name(), "kubelet is posting ready status");

  // The last synced Pod on the node goes: so does the virtual Node.
  kube::DeleteOptions now;
  now.gracePeriodSeconds = 0;
  REQUIRE(scene.api().run(scene.api().source().remove(pods(), scene.ns(), "web", now)));
  finishHostPodDeletion(daemon, scene, "web");
  REQUIRE(waitLogged(daemon, "virtual Node " + host.name() + " deleted with its last Pod", 30s,
                     [&](std::string& seen) { return virtualNodeGone(scene, host.name(), seen); }));
}

TEST_CASE("node heartbeats do not rewrite the virtual Node", "[nodes]") {
  SyncScene scene("hbt");
  HostNode host(scene, scene.cluster() + "-node");
  DaemonProcess daemon(scene.testbed(), podDaemonOptions(scene));
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  runVirtualPod(daemon, scene, "web");
  bindHostPod(scene, "web", host.name());
  const std::string version =
      waitForVirtualNode(daemon, scene, host.name(), "kubelet is posting ready status");
  std::string seen;
  const auto statusWrites = [&] {
    return daemon.metric(R"(kube_bisync_node_writes_total{operation="status"})", seen);
  };
  const std::optional<double> writesBefore = statusWrites();
  REQUIRE(writesBefore);

  // 60 s of heartbeats every 10 s, as a kubelet's: only lastHeartbeatTime changes.
  int second = 0;
  int heartbeats = 0;
  auto nextHeartbeat = std::chrono::steady_clock::now();
  REQUIRE(holdsThroughout(
      "60 s of host heartbeats every 10 s: the virtual Node keeps its resourceVersion", 60s,
      [&](std::string& now) {
        if (std::chrono::steady_clock::now() >= nextHeartbeat) {
          second += 10;
          host.writeStatus(R"({"status":{"conditions":[)" +
                           readyCondition(second, "kubelet is posting ready status") + "]}}");
          ++heartbeats;
          nextHeartbeat += 10s;
        }
        const auto node = virtualNode(scene, host.name(), now);
        now += " after " + std::to_string(heartbeats) + " heartbeats";
        return node && kube::resourceVersionOf(*node) == std::string_view(version);
      },
      500ms));
  CHECK(heartbeats >= 6);
  CHECK(statusWrites() == writesBefore);

  // A change a tenant can read is still written: the daemon saw the host Node all along.
  host.writeStatus(R"({"status":{"conditions":[)" + readyCondition(second + 1, "still ready") +
                   "]}}");
  waitForVirtualNode(daemon, scene, host.name(), "still ready");
}

TEST_CASE("with --sync-events=false no host Event is copied", "[events]") {
  SyncScene scene("nev");
  DaemonProcess daemon(scene.testbed(),
                       {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--sync-events=false"})});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(scene.tryCreate(Side::Source, kube::resources::configMaps(),
                          configMap(scene.ns(), "cfg", {{"k", "v"}})));
  std::optional<kube::Json> copy;
  REQUIRE(waitLogged(daemon, "the target copy of cfg", 30s, [&](std::string& seen) {
    auto got = scene.api().run(
        scene.api().target().get(kube::resources::configMaps(), scene.targetNs(), "cfg"));
    seen = got ? "present" : got.error().describe();
    if (got) copy = std::move(*got);
    return got.has_value();
  }));
  REQUIRE(scene.tryCreate(Side::Target, kube::resources::events(),
                          hostEvent(scene.targetNs(), "cfg.host-1", *copy, 1, 0)));
  REQUIRE(holdsThroughout("3 s after a host Event about the copy: no copy of it", 3s,
                          [&](std::string& seen) {
                            const auto copies = eventCopies(scene, seen);
                            return copies && copies->empty();
                          }));
}

TEST_CASE("host Events about a Pod appear in kubectl describe of the virtual Pod",
          "[events][pods]") {
  // The host's real scheduler (events.k8s.io Events) and kubelets of the tests' own (core v1).
  bisync::testing::TestbedOptions options = bisync::testing::TestbedOptions::fromEnvironment();
  options.scheduler = true;
  bisync::testing::Testbed testbed(options);
  SyncScene scene(testbed, "pev");
  bisync::testing::NodeSimulatorOptions simulated;
  simulated.names = {scene.cluster() + "-node"};
  bisync::testing::NodeSimulator kubelets(testbed, simulated);
  kubelets.start();
  DaemonProcess daemon(testbed, podDaemonOptions(scene));
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  runVirtualPod(daemon, scene, "web");
  REQUIRE(
      waitLogged(daemon, "kubectl describe pod web in the virtual cluster shows the host's Events",
                 60s, [&](std::string& seen) {
                   const CommandResult described =
                       testbed.kubectl(Side::Source, {"-n", scene.ns(), "describe", "pod", "web"});
                   seen = described.summary() + "\n" + described.out;
                   const auto shows = [&](const std::string& text) {
                     return described.out.find(text) != std::string::npos;
                   };
                   return described.ok() && shows("Scheduled") && shows("Successfully assigned") &&
                          shows("Started") && shows("kubelet");
                 }));
  REQUIRE(waitLogged(daemon, "the virtual Node of the simulated node", 30s, [&](std::string& now) {
    const auto node = virtualNode(scene, simulated.names.front(), now);
    return node && kube::stringAt(*node, "/status/capacity/cpu") == "4";
  }));
}

TEST_CASE("a Node the tenant made with a host node's name is never touched", "[nodes]") {
  SyncScene scene("tnd");
  HostNode host(scene, scene.cluster() + "-node");
  auto tenants = scene.tryCreate(Side::Source, nodes(),
                                 parsed(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" +
                                        host.name() + R"(","labels":{"tenant":"mine"}}})"));
  INFO("the tenant's Node: " << (tenants ? "created" : tenants.error().describe()));
  REQUIRE(tenants);
  const std::string version(kube::resourceVersionOf(*tenants));
  DaemonProcess daemon(scene.testbed(), podDaemonOptions(scene));
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  runVirtualPod(daemon, scene, "web");
  bindHostPod(scene, "web", host.name());
  REQUIRE(daemon.waitForLog("was not made by the syncer: leaving it", 30s));
  REQUIRE(holdsThroughout(
      "3 s with a synced Pod on the host node: the tenant's Node keeps its version", 3s,
      [&](std::string& seen) {
        const auto node = virtualNode(scene, host.name(), seen);
        return node && kube::resourceVersionOf(*node) == std::string_view(version) &&
               kube::stringAt(*node, "/metadata/labels/tenant") == "mine";
      }));
}

TEST_CASE("a restart neither recreates nor rewrites the virtual Node", "[nodes]") {
  SyncScene scene("rnd");
  HostNode host(scene, scene.cluster() + "-node");
  DaemonProcess daemon(scene.testbed(), podDaemonOptions(scene));
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  runVirtualPod(daemon, scene, "web");
  bindHostPod(scene, "web", host.name());
  const std::string version =
      waitForVirtualNode(daemon, scene, host.name(), "kubelet is posting ready status");
  REQUIRE(daemon.terminate() == "exited with status 0");
  daemon.start();
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(holdsThroughout("5 s after the restart: the virtual Node keeps its resourceVersion", 5s,
                          [&](std::string& seen) {
                            const auto node = virtualNode(scene, host.name(), seen);
                            return node &&
                                   kube::resourceVersionOf(*node) == std::string_view(version);
                          }));
  // The Node is still the syncer's: a change of the host's still reaches it.
  host.writeStatus(R"({"status":{"conditions":[)" + readyCondition(5, "after the restart") + "]}}");
  waitForVirtualNode(daemon, scene, host.name(), "after the restart");
}
