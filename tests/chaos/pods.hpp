// The chaos checker's Pod workload (issue 16, point 3): the virtual cluster as its main use
// runs it. Deployments in the virtual cluster, scaled up and down; host Pods evicted through
// the simulated kubelets (NodeSimulator) of the host; host nodes going NotReady and Ready again.
// Each scale that succeeds sets the model's replicas (pods_check.hpp), one whose outcome is
// unknown is read back; each eviction that succeeds adds the virtual Pod's uid to those that
// must be gone.
//
// run() blocks: the checker gives it a thread of its own, beside the object workload and the
// faults. Its requests go through the driver's clients (straight to the servers) on their loop,
// and through the NodeSimulator's own client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "syncer/kube/client.hpp"
#include "tests/chaos/observe.hpp"
#include "tests/chaos/pods_check.hpp"
#include "tests/chaos/workload.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/node_simulator.hpp"

namespace bisync::chaos {

struct PodWorkloadOptions {
  std::uint64_t seed = 1;
  int deploymentsPerNamespace = 2;
  int maxReplicas = 3;
  double opsPerSecond = 0.5;
  int nodes = 3;
};

class PodWorkload {
 public:
  PodWorkload(testing::Testbed& testbed, testing::LoopThread& loop, kube::Client& source,
              kube::Client& target, Scope scope, PodWorkloadOptions options);

  // Registers the host nodes and creates the Deployments (one replica each). Throws when the
  // servers refuse.
  void start();
  // Scales, evicts and flips node readiness until `until`.
  void run(std::chrono::steady_clock::time_point until);
  // Reads back the replicas of every Deployment whose last scale has an unknown outcome;
  // returns how many are still unknown.
  std::size_t resolveUnknown();
  // Both sides' Pods, the Nodes and the Deployments; nullopt when a server does not answer.
  std::optional<PodSnapshot> read();

  const PodModel& model() const { return model_; }
  const OpCounts& counts() const { return counts_; }
  std::size_t effectiveChanges() const { return effective_; }

 private:
  void scale();
  void evict();
  // Evicts the host Pod `chosen` ("namespace/name" and what was read of it).
  void evictOne(const std::pair<std::string, PodObserved>& chosen);
  void flipNode();
  int pick(int below);
  std::map<Key, PodObserved> podsIn(const kube::ListResult& listed, bool target) const;
  // Every Node listed, or only those named in `only` (when not empty).
  static std::map<std::string, NodeObserved> nodesIn(const kube::ListResult& listed,
                                                     const std::vector<std::string>& only);
  void count(const std::string& op, bool ok, bool unknown = false);

  testing::LoopThread& loop_;
  kube::Client& source_;
  kube::Client& target_;
  Scope scope_;
  PodWorkloadOptions options_;
  std::mt19937_64 random_;
  testing::NodeSimulator nodes_;
  PodModel model_;
  std::set<Key> unknown_;
  std::map<std::string, bool> nodeReady_;
  OpCounts counts_;
  std::size_t effective_ = 0;
};

}  // namespace bisync::chaos
