#include "tests/support/node_simulator_objects.hpp"

#include <ctime>
#include <functional>
#include <initializer_list>
#include <utility>

#include "tests/support/process.hpp"

namespace bisync::testing::simulated {
namespace {

using kube::Json;
using kube::JsonValue;
using Allocator = Json::AllocatorType;
using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

JsonValue str(std::string_view text, Allocator& allocator) {
  return kube::stringValue(text, allocator);
}

// An object of string members, the shape of most status fields.
JsonValue stringObject(Fields fields, Allocator& allocator) {
  JsonValue object(rapidjson::kObjectType);
  for (const auto& [name, value] : fields) {
    object.AddMember(str(name, allocator), str(value, allocator), allocator);
  }
  return object;
}

void add(JsonValue& object, std::string_view name, JsonValue value, Allocator& allocator) {
  object.AddMember(str(name, allocator), value, allocator);
}

void setPointer(Json& document, std::string_view pointer, JsonValue value) {
  kube::JsonPointer(pointer.data(), pointer.size()).Set(document, value);
}

void setString(Json& document, std::string_view pointer, std::string_view value) {
  setPointer(document, pointer, str(value, document.GetAllocator()));
}

JsonValue resources(const NodeSimulatorOptions& options, Allocator& allocator) {
  return stringObject({{"cpu", options.cpu},
                       {"memory", options.memory},
                       {"pods", options.pods},
                       {"ephemeral-storage", "100Gi"}},
                      allocator);
}

JsonValue condition(std::string_view type, bool status, std::string_view reason,
                    std::string_view message, const std::string& heartbeat,
                    const std::string& transition, Allocator& allocator) {
  JsonValue object = stringObject({{"type", type},
                                   {"status", status ? "True" : "False"},
                                   {"reason", reason},
                                   {"message", message},
                                   {"lastTransitionTime", transition}},
                                  allocator);
  if (!heartbeat.empty()) {
    add(object, "lastHeartbeatTime", str(heartbeat, allocator), allocator);
  }
  return object;
}

JsonValue nodeConditions(const NodeCondition& state, const std::string& now, Allocator& allocator) {
  JsonValue conditions(rapidjson::kArrayType);
  const std::string& since = state.createdAt;
  conditions.PushBack(condition("MemoryPressure", false, "KubeletHasSufficientMemory",
                                "kubelet has sufficient memory available", now, since, allocator),
                      allocator);
  conditions.PushBack(condition("DiskPressure", false, "KubeletHasNoDiskPressure",
                                "kubelet has no disk pressure", now, since, allocator),
                      allocator);
  conditions.PushBack(condition("PIDPressure", false, "KubeletHasSufficientPID",
                                "kubelet has sufficient PID available", now, since, allocator),
                      allocator);
  conditions.PushBack(
      condition("Ready", state.ready, state.ready ? "KubeletReady" : "KubeletNotReady",
                state.ready ? "kubelet is posting ready status" : "simulated: node not ready", now,
                state.readySince, allocator),
      allocator);
  return conditions;
}

// A fake but well-formed 64-hex-digit digest, stable for the same text.
std::string digestOf(std::string_view text) {
  std::string digest;
  std::size_t seed = std::hash<std::string_view>{}(text);
  while (digest.size() < 64) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    static constexpr char kHex[] = "0123456789abcdef";
    digest += kHex[(seed >> 60U) & 0xfU];
  }
  return digest;
}

JsonValue runningContainerStatus(const JsonValue& container, bool init, const std::string& now,
                                 Allocator& allocator) {
  const std::string_view image = kube::stringMember(container, "image");
  const std::string imageID = "docker.io/" + std::string(image) + "@sha256:" + digestOf(image);
  JsonValue status = stringObject({{"name", kube::stringMember(container, "name")},
                                   {"image", image},
                                   {"imageID", imageID},
                                   {"containerID", "containerd://" + randomHex(32)}},
                                  allocator);
  add(status, "ready", JsonValue(!init), allocator);
  add(status, "started", JsonValue(!init), allocator);
  add(status, "restartCount", JsonValue(0), allocator);
  JsonValue state(rapidjson::kObjectType);
  if (init) {
    JsonValue terminated =
        stringObject({{"reason", "Completed"}, {"startedAt", now}, {"finishedAt", now}}, allocator);
    add(terminated, "exitCode", JsonValue(0), allocator);
    add(state, "terminated", std::move(terminated), allocator);
  } else {
    add(state, "running", stringObject({{"startedAt", now}}, allocator), allocator);
  }
  add(status, "state", std::move(state), allocator);
  add(status, "lastState", JsonValue(rapidjson::kObjectType), allocator);
  return status;
}

JsonValue failedContainerStatus(const JsonValue& container, const std::string& now,
                                Allocator& allocator) {
  const std::string_view image = kube::stringMember(container, "image");
  JsonValue status = stringObject({{"name", kube::stringMember(container, "name")},
                                   {"image", image},
                                   {"imageID", "docker.io/" + std::string(image)}},
                                  allocator);
  add(status, "ready", JsonValue(false), allocator);
  add(status, "started", JsonValue(false), allocator);
  add(status, "restartCount", JsonValue(0), allocator);
  JsonValue terminated =
      stringObject({{"reason", "Error"}, {"startedAt", now}, {"finishedAt", now}}, allocator);
  add(terminated, "exitCode", JsonValue(1), allocator);
  JsonValue state(rapidjson::kObjectType);
  add(state, "terminated", std::move(terminated), allocator);
  add(status, "state", std::move(state), allocator);
  return status;
}

// Statuses of the containers at /spec/<list>, made by `make`.
template <class Make>
JsonValue containerStatuses(const JsonValue& pod, std::string_view list, Make make,
                            Allocator& allocator) {
  JsonValue statuses(rapidjson::kArrayType);
  const JsonValue* containers = kube::at(pod, "/spec/" + std::string(list));
  if (containers != nullptr && containers->IsArray()) {
    for (const JsonValue& container : containers->GetArray()) {
      statuses.PushBack(make(container), allocator);
    }
  }
  return statuses;
}

// The PodScheduled condition's time as the scheduler wrote it (kept), else `now`.
std::string scheduledSince(const JsonValue& pod, const std::string& now) {
  const JsonValue* conditions = kube::at(pod, "/status/conditions");
  if (conditions != nullptr && conditions->IsArray()) {
    for (const JsonValue& c : conditions->GetArray()) {
      if (kube::stringMember(c, "type") == "PodScheduled") {
        const std::string_view since = kube::stringMember(c, "lastTransitionTime");
        return since.empty() ? now : std::string(since);
      }
    }
  }
  return now;
}

JsonValue podConditions(const JsonValue& pod, bool ready, std::string_view reason,
                        const std::string& now, Allocator& allocator) {
  JsonValue conditions(rapidjson::kArrayType);
  const std::string none;
  conditions.PushBack(condition("Initialized", true, "", "", none, now, allocator), allocator);
  conditions.PushBack(condition("Ready", ready, reason, "", none, now, allocator), allocator);
  conditions.PushBack(condition("ContainersReady", ready, reason, "", none, now, allocator),
                      allocator);
  conditions.PushBack(
      condition("PodScheduled", true, "", "", none, scheduledSince(pod, now), allocator),
      allocator);
  return conditions;
}

Json statusPatchFor(const JsonValue& pod) {
  Json patch(rapidjson::kObjectType);
  setString(patch, "/metadata/uid", kube::uidOf(pod));
  return patch;
}

}  // namespace

kube::ResourceInfo pods() {
  return {.group = "",
          .version = "v1",
          .resource = "pods",
          .kind = "Pod",
          .namespaced = true,
          .statusSubresource = true};
}

kube::ResourceInfo nodes() {
  return {.group = "",
          .version = "v1",
          .resource = "nodes",
          .kind = "Node",
          .namespaced = false,
          .statusSubresource = true};
}

kube::ResourceInfo leases() {
  return {.group = "coordination.k8s.io",
          .version = "v1",
          .resource = "leases",
          .kind = "Lease",
          .namespaced = true,
          .statusSubresource = false};
}

kube::ResourceInfo podEviction(const std::string& podName) {
  return {.group = "",
          .version = "v1",
          .resource = "pods/" + podName + "/eviction",
          .kind = "Eviction",
          .namespaced = true,
          .statusSubresource = false};
}

std::string timestamp(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string microTimestamp(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count() %
      1000000;
  std::string text = timestamp(time);
  std::string fraction = std::to_string(micros);
  fraction.insert(0, 6 - fraction.size(), '0');
  return text.substr(0, text.size() - 1) + "." + fraction + "Z";
}

std::string nodeIP(int index) { return "10.0.0." + std::to_string(index); }

std::string podIP(int index, int podNumber) {
  return "10." + std::to_string(244 + podNumber / 254) + "." + std::to_string(index) + "." +
         std::to_string(podNumber % 254 + 1);
}

kube::Json nodeObject(const std::string& name, int index, const NodeSimulatorOptions& options) {
  Json node(rapidjson::kObjectType);
  setString(node, "/apiVersion", "v1");
  setString(node, "/kind", "Node");
  setString(node, "/metadata/name", name);
  auto& allocator = node.GetAllocator();
  JsonValue labels = stringObject({{"kubernetes.io/hostname", name},
                                   {"kubernetes.io/os", "linux"},
                                   {"kubernetes.io/arch", "amd64"},
                                   {"beta.kubernetes.io/os", "linux"},
                                   {"beta.kubernetes.io/arch", "amd64"},
                                   {"node.kubernetes.io/instance-type", "simulated"}},
                                  allocator);
  for (const auto& [key, value] : options.labels) {
    labels.RemoveMember(key.c_str());
    add(labels, key, str(value, allocator), allocator);
  }
  setPointer(node, "/metadata/labels", std::move(labels));
  const std::string cidr = "10.244." + std::to_string(index) + ".0/24";
  setString(node, "/spec/podCIDR", cidr);
  JsonValue cidrs(rapidjson::kArrayType);
  cidrs.PushBack(str(cidr, allocator), allocator);
  setPointer(node, "/spec/podCIDRs", std::move(cidrs));
  return node;
}

kube::Json nodeStatusPatch(const std::string& name, int index, const NodeSimulatorOptions& options,
                           const NodeCondition& condition, const std::string& now) {
  Json patch(rapidjson::kObjectType);
  auto& allocator = patch.GetAllocator();
  setPointer(patch, "/status/capacity", resources(options, allocator));
  setPointer(patch, "/status/allocatable", resources(options, allocator));
  setPointer(patch, "/status/conditions", nodeConditions(condition, now, allocator));
  JsonValue addresses(rapidjson::kArrayType);
  addresses.PushBack(stringObject({{"type", "InternalIP"}, {"address", nodeIP(index)}}, allocator),
                     allocator);
  addresses.PushBack(stringObject({{"type", "Hostname"}, {"address", name}}, allocator), allocator);
  setPointer(patch, "/status/addresses", std::move(addresses));
  setPointer(patch, "/status/daemonEndpoints/kubeletEndpoint/Port", JsonValue(10250));
  setPointer(patch, "/status/nodeInfo",
             stringObject({{"machineID", digestOf(name).substr(0, 32)},
                           {"systemUUID", digestOf(name + "/uuid").substr(0, 32)},
                           {"bootID", digestOf(name + "/boot").substr(0, 32)},
                           {"kernelVersion", "6.1.0-simulated"},
                           {"osImage", "kube-bisync node simulator"},
                           {"containerRuntimeVersion", "containerd://1.4.0-simulated"},
                           {"kubeletVersion", "v1.20.2"},
                           {"kubeProxyVersion", "v1.20.2"},
                           {"operatingSystem", "linux"},
                           {"architecture", "amd64"}},
                          allocator));
  return patch;
}

kube::Json clearTaintsPatch() {
  Json patch(rapidjson::kObjectType);
  setPointer(patch, "/spec/taints", JsonValue(rapidjson::kNullType));
  return patch;
}

kube::Json leaseObject(const std::string& node, std::string_view nodeUid, const std::string& now) {
  Json lease(rapidjson::kObjectType);
  auto& allocator = lease.GetAllocator();
  setString(lease, "/apiVersion", "coordination.k8s.io/v1");
  setString(lease, "/kind", "Lease");
  setString(lease, "/metadata/name", node);
  setString(lease, "/metadata/namespace", "kube-node-lease");
  JsonValue owners(rapidjson::kArrayType);
  owners.PushBack(
      stringObject({{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}, {"uid", nodeUid}},
                   allocator),
      allocator);
  setPointer(lease, "/metadata/ownerReferences", std::move(owners));
  setString(lease, "/spec/holderIdentity", node);
  setPointer(lease, "/spec/leaseDurationSeconds", JsonValue(40));
  setString(lease, "/spec/renewTime", now);
  return lease;
}

kube::Json leaseRenewPatch(const std::string& now) {
  Json patch(rapidjson::kObjectType);
  setString(patch, "/spec/renewTime", now);
  return patch;
}

kube::Json runningStatusPatch(const JsonValue& pod, const std::string& hostIP,
                              const std::string& podIP, const std::string& now) {
  Json patch = statusPatchFor(pod);
  auto& allocator = patch.GetAllocator();
  setString(patch, "/status/phase", "Running");
  setString(patch, "/status/hostIP", hostIP);
  setString(patch, "/status/podIP", podIP);
  JsonValue ips(rapidjson::kArrayType);
  ips.PushBack(stringObject({{"ip", podIP}}, allocator), allocator);
  setPointer(patch, "/status/podIPs", std::move(ips));
  setString(patch, "/status/startTime", now);
  setPointer(patch, "/status/conditions", podConditions(pod, true, "", now, allocator));
  auto running = [&](const JsonValue& c) {
    return runningContainerStatus(c, false, now, allocator);
  };
  auto completed = [&](const JsonValue& c) {
    return runningContainerStatus(c, true, now, allocator);
  };
  setPointer(patch, "/status/containerStatuses",
             containerStatuses(pod, "containers", running, allocator));
  if (const JsonValue* init = kube::at(pod, "/spec/initContainers"); init != nullptr) {
    setPointer(patch, "/status/initContainerStatuses",
               containerStatuses(pod, "initContainers", completed, allocator));
  }
  return patch;
}

kube::Json failedStatusPatch(const JsonValue& pod, const std::string& reason,
                             const std::string& message, const std::string& now) {
  Json patch = statusPatchFor(pod);
  auto& allocator = patch.GetAllocator();
  setString(patch, "/status/phase", "Failed");
  setString(patch, "/status/reason", reason);
  setString(patch, "/status/message", message);
  setPointer(patch, "/status/conditions",
             podConditions(pod, false, "ContainersNotReady", now, allocator));
  auto failed = [&](const JsonValue& c) { return failedContainerStatus(c, now, allocator); };
  setPointer(patch, "/status/containerStatuses",
             containerStatuses(pod, "containers", failed, allocator));
  return patch;
}

kube::Json containerEvent(const JsonValue& pod, std::string_view container,
                          const std::string& reason, const std::string& message,
                          const std::string& node, const std::string& now) {
  Json event(rapidjson::kObjectType);
  auto& allocator = event.GetAllocator();
  const std::string_view ns = kube::namespaceOf(pod);
  setString(event, "/apiVersion", "v1");
  setString(event, "/kind", "Event");
  setString(event, "/metadata/name", std::string(kube::nameOf(pod)) + "." + randomHex(8));
  setString(event, "/metadata/namespace", ns);
  setPointer(event, "/involvedObject",
             stringObject({{"apiVersion", "v1"},
                           {"kind", "Pod"},
                           {"namespace", ns},
                           {"name", kube::nameOf(pod)},
                           {"uid", kube::uidOf(pod)},
                           {"fieldPath", "spec.containers{" + std::string(container) + "}"}},
                          allocator));
  setString(event, "/reason", reason);
  setString(event, "/message", message);
  setPointer(event, "/source", stringObject({{"component", "kubelet"}, {"host", node}}, allocator));
  setString(event, "/firstTimestamp", now);
  setString(event, "/lastTimestamp", now);
  setPointer(event, "/count", JsonValue(1));
  setString(event, "/type", "Normal");
  setString(event, "/reportingComponent", "kubelet");
  setString(event, "/reportingInstance", node);
  return event;
}

kube::Json evictionObject(const std::string& ns, const std::string& name) {
  Json eviction(rapidjson::kObjectType);
  setString(eviction, "/apiVersion", "policy/v1beta1");
  setString(eviction, "/kind", "Eviction");
  setString(eviction, "/metadata/name", name);
  setString(eviction, "/metadata/namespace", ns);
  return eviction;
}

}  // namespace bisync::testing::simulated
