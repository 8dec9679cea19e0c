// The objects a NodeSimulator writes, as a 1.20 kubelet writes them: Nodes and their status,
// Leases, Pod status patches, Events. Pure: no I/O, so the shapes are easy to read in one place.
// Times are RFC 3339 strings the caller passes in (one "now" per write).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/node_simulator.hpp"

namespace bisync::testing::simulated {

kube::ResourceInfo pods();
kube::ResourceInfo nodes();
kube::ResourceInfo leases();
// POST target for pods/NAME/eviction (the collection path of this pseudo-resource).
kube::ResourceInfo podEviction(const std::string& podName);

// metav1.Time ("2026-12-05T09:30:00Z") and metav1.MicroTime (six fractional digits).
std::string timestamp(std::chrono::system_clock::time_point time);
std::string microTimestamp(std::chrono::system_clock::time_point time);

// Node number `index` (1-based) has InternalIP 10.0.0.<index> and pod CIDR 10.244.<index>.0/24.
std::string nodeIP(int index);
// The podNumber-th (0-based) Pod on node `index`: 10.(244 + n / 254).<index>.(n % 254 + 1),
// unique per node for the first 2,794 Pods.
std::string podIP(int index, int podNumber);

// A Node without status: labels (the kubelet's own and options.labels), podCIDR.
kube::Json nodeObject(const std::string& name, int index, const NodeSimulatorOptions& options);

struct NodeCondition {
  bool ready = true;
  std::string readySince;  // lastTransitionTime of Ready
  std::string createdAt;   // lastTransitionTime of the pressure conditions
};
// A merge patch of the whole status (capacity, allocatable, conditions with lastHeartbeatTime
// `now`, addresses, nodeInfo, daemonEndpoints).
kube::Json nodeStatusPatch(const std::string& name, int index, const NodeSimulatorOptions& options,
                           const NodeCondition& condition, const std::string& now);
// {"spec":{"taints":null}}: the TaintNodesByCondition admission plugin puts not-ready:NoSchedule
// on a new Node; the node lifecycle controller (not run on the testbed) would remove it.
kube::Json clearTaintsPatch();

// The node's Lease in kube-node-lease, owned by the Node (as the kubelet makes it).
kube::Json leaseObject(const std::string& node, std::string_view nodeUid, const std::string& now);
kube::Json leaseRenewPatch(const std::string& now);

// Status patches of the status subresource, with metadata.uid so that they apply to the Pod
// incarnation that was seen. qosClass and everything else not named is kept.
kube::Json runningStatusPatch(const kube::JsonValue& pod, const std::string& hostIP,
                              const std::string& podIP, const std::string& now);
kube::Json failedStatusPatch(const kube::JsonValue& pod, const std::string& reason,
                             const std::string& message, const std::string& now);

// A core v1 Event about container `container` of `pod` from the kubelet of `node`.
kube::Json containerEvent(const kube::JsonValue& pod, std::string_view container,
                          const std::string& reason, const std::string& message,
                          const std::string& node, const std::string& now);

// policy/v1beta1 Eviction of ns/name.
kube::Json evictionObject(const std::string& ns, const std::string& name);

}  // namespace bisync::testing::simulated
