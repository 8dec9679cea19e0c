// The chaos checker's Pod checks (issue 16, point 3; docs/reliability.md, "Chaos"): once the
// syncer has converged, every virtual Pod has exactly one host Pod and the reverse, each pair
// agrees on phase, node and IP, every Deployment has its replicas and sees them ready, and the
// virtual Nodes are the host nodes that run synced Pods, each with the host's Ready status.
// Pure code: the verdict is a function of the expected replicas and one snapshot.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>

#include "tests/chaos/model.hpp"

namespace bisync::chaos {

// The label the workload's Deployments put on their Pods: the Deployment's name.
inline constexpr std::string_view kDeploymentLabel = "chaos-deployment";

// A Pod as the checker compares it, on either side.
struct PodObserved {
  std::string uid;
  std::string resourceVersion;
  std::string phase;
  std::string podIP;
  std::string nodeName;
  std::string sourceUid;   // host Pods: annotation kube-bisync.io/source-uid
  std::string deployment;  // label chaos-deployment
  bool deleting = false;
};

struct NodeObserved {
  std::string resourceVersion;
  std::string ready;  // status of the Ready condition: "True", "False", "Unknown", "" (none)
};

struct DeploymentObserved {
  std::string resourceVersion;
  int replicas = 0;  // spec
  int readyReplicas = 0;
};

// One read of both sides. Pods by Key{Kind::Pod, source namespace, name} (host Pods filed under
// the source namespace their namespace maps back to); Deployments (source only) by
// Key{Kind::Deployment, ...}; Nodes by name.
struct PodSnapshot {
  std::map<Key, PodObserved> sourcePods;
  std::map<Key, PodObserved> targetPods;
  std::map<std::string, NodeObserved> sourceNodes;  // every virtual Node
  std::map<std::string, NodeObserved> targetNodes;  // the simulated host nodes
  std::map<Key, DeploymentObserved> deployments;
};

// What the Pod workload did that must show: the replicas it last set on each Deployment, and
// the virtual Pods (uids) whose host Pods it evicted, which must be gone (their ReplicaSets make
// new ones): a syncer that made the host Pod again would hide the eviction.
struct PodModel {
  std::map<Key, int> replicas;
  std::set<std::string> evicted;
};

// Adds to `verdict` (counts and divergences) what does not hold in `pods`.
void verifyPods(const PodModel& model, const PodSnapshot& pods, Verdict& verdict);

// "12 virtual Pods (12 host Pods), 3 virtual Nodes (1 not Ready), 8 Deployments": what the
// checker compared, for the progress lines.
std::string summary(const PodSnapshot& pods);

// Objects that changed from `before` to `after` (resourceVersion, appeared, gone): Pods of both
// sides, Deployments and virtual Nodes. Host Nodes are left out: the simulated kubelets'
// heartbeats change them every 10 s, and the syncer must write nothing for those.
std::size_t changedObjects(const PodSnapshot& before, const PodSnapshot& after);

}  // namespace bisync::chaos
