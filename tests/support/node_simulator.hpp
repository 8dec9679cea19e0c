// NodeSimulator: the kubelets of the tests' own, so that Pods "run" on a testbed server (the
// target, the host side, by default) as far as the API can tell. No containers run.
//
// start() registers N Nodes (capacity, allocatable, labels, addresses, conditions) and then,
// on every heartbeat interval, renews each node's Lease in kube-node-lease and rewrites its
// status with a new lastHeartbeatTime (nothing else changes, like a 1.20 kubelet). It watches
// the Pods bound to its nodes (spec.nodeName, set by the real kube-scheduler or by a test):
//   - a Pod without status from it is marked Running through the status subresource (phase,
//     conditions, hostIP, a podIP unique per Pod, containerStatuses, startTime; qosClass is
//     kept) and, with `events`, gets kubelet-style Pulled/Created/Started Events;
//   - a Pod with a deletionTimestamp is deleted with gracePeriodSeconds 0 and a uid
//     precondition after its deletionGracePeriodSeconds, capped by `gracePeriodCap`; the grace
//     it saw is recorded (observedGracePeriod) so a test can assert it was honoured.
// Tests can also fail or evict a Pod and flip a node's Ready condition.
//
// Pod IPs are unique among the Pods one simulator started (a new simulator on the same node
// names starts counting again). A status write that fails is retried for about a minute, as a
// kubelet would, unless the Pod is gone or replaced.
//
// Thread-safety: every public method may be called from any thread. The simulator owns an
// io_context on a thread of its own (LoopThread) with its own kube::Client (admin token);
// public calls run on it and block until done, throwing std::runtime_error on API errors.
// stop() (and the destructor) ends the heartbeats and the watch, and deletes the Nodes and
// Leases when `deleteNodesOnStop`.
//
// Typical use:
//   NodeSimulator nodes(bed, NodeSimulatorOptions{.nodes = 3});
//   nodes.start();
//   ... nodes.evictPod(ns, name); nodes.failPod(ns, name, "OOMKilled");
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/testbed.hpp"

namespace bisync::testing {

struct NodeSimulatorOptions {
  int nodes = 1;
  // Node names: namePrefix + 1..nodes ("host-node-1", ...), unless `names` is given.
  std::string namePrefix = "host-node-";
  std::vector<std::string> names{};
  Side side = Side::Target;
  // Capacity and allocatable of each node (the same values for both).
  std::string cpu = "4";
  std::string memory = "16Gi";
  std::string pods = "110";
  // Added to the kubelet's own labels (kubernetes.io/hostname, kubernetes.io/os,
  // kubernetes.io/arch, node.kubernetes.io/instance-type).
  std::map<std::string, std::string> labels{};
  // Lease renewal and node status heartbeat (lastHeartbeatTime), like a kubelet's 10 s.
  std::chrono::milliseconds heartbeatInterval{10000};
  // A Pod being deleted is removed after min(its deletionGracePeriodSeconds, this): the real
  // grace would make tests wait 30 s. Zero removes at once.
  std::chrono::milliseconds gracePeriodCap{2000};
  // Marks Pods bound to the nodes Running (false: the Pods stay Pending, for tests of
  // Pods that never start).
  bool runPods = true;
  // Writes core v1 Events Pulled, Created and Started for each container of a Pod it starts
  // (source component "kubelet", host = the node), as a kubelet would.
  bool events = true;
  bool deleteNodesOnStop = true;
  // Client-side rate limit of all its nodes together (<= 0: none). The default does not slow
  // a benchmark: N real kubelets have a client each.
  double qps = 0;
  int burst = 1000;
};

class NodeSimulator {
 public:
  NodeSimulator(Testbed& testbed, NodeSimulatorOptions options = {});
  ~NodeSimulator();  // stop()
  NodeSimulator(const NodeSimulator&) = delete;
  NodeSimulator& operator=(const NodeSimulator&) = delete;

  // Registers the nodes (an existing Node of the same name is taken over), writes their
  // Leases, starts the heartbeats and the Pod watch; returns once the nodes exist and the Pod
  // watch has listed. Throws std::runtime_error when the server refuses.
  void start();
  // Ends heartbeats and the watch; deletes the Nodes and Leases with deleteNodesOnStop.
  // Idempotent.
  void stop();

  const std::vector<std::string>& nodeNames() const;

  // The Pod's phase becomes Failed (reason, message; containers terminated with exit code 1,
  // Ready False) through the status subresource; the simulator never marks it Running again.
  void failPod(const std::string& ns, const std::string& name, const std::string& reason,
               const std::string& message = "simulated failure");
  // POST pods/NAME/eviction (policy/v1beta1 Eviction): the server deletes the Pod gracefully
  // (unless a PodDisruptionBudget refuses: then this throws), and the simulator then removes it.
  void evictPod(const std::string& ns, const std::string& name);
  // Sets the node's Ready condition (reason KubeletReady / KubeletNotReady) and writes it at
  // once; heartbeats keep the new value.
  void setNodeReady(const std::string& node, bool ready);

  // Status writes made for `node`: node status heartbeats and Ready changes.
  std::uint64_t nodeStatusWrites(const std::string& node) const;
  // Status writes made to Pods on `node` (Running, Failed).
  std::uint64_t podStatusWrites(const std::string& node) const;
  // The deletionGracePeriodSeconds the simulator saw when it noticed the deletion of the Pod
  // (the last incarnation of that name); nullopt when it saw none.
  std::optional<std::int64_t> observedGracePeriod(const std::string& ns,
                                                  const std::string& name) const;
  // The pod IP it gave the Pod ("" when it has not started it).
  std::string podIP(const std::string& ns, const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bisync::testing
