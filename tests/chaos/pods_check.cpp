#include "tests/chaos/pods_check.hpp"

#include <set>
#include <vector>

namespace bisync::chaos {

namespace {

std::string describe(const PodObserved& pod) {
  std::string out = "uid " + pod.uid + ", " + (pod.phase.empty() ? "no phase" : pod.phase);
  if (!pod.nodeName.empty()) out += " on " + pod.nodeName;
  if (!pod.podIP.empty()) out += " at " + pod.podIP;
  if (!pod.sourceUid.empty()) out += ", source-uid " + pod.sourceUid;
  if (pod.deleting) out += ", deleting";
  return out;
}

std::string readyText(const std::string& ready) { return "Ready " + (ready.empty() ? "-" : ready); }

class PodChecker {
 public:
  PodChecker(const PodSnapshot& pods, Verdict& verdict) : pods_(pods), verdict_(verdict) {
    for (const auto& [key, pod] : pods_.targetPods) {
      if (!pod.sourceUid.empty()) hostPodsBySourceUid_[pod.sourceUid].push_back(key);
    }
  }

  // The Deployment holds the replicas the workload set, and the virtual cluster sees them
  // ready (their host Pods' status came up).
  void checkDeployment(const Key& key, int replicas) {
    const std::string want = std::to_string(replicas) + " replicas ready";
    const auto found = pods_.deployments.find(key);
    if (found == pods_.deployments.end()) {
      lost(key, "source", "the Deployment is gone", want, "absent");
      return;
    }
    const int pods = podsOf(key);
    const std::string have = std::to_string(pods) + " Pods, spec.replicas " +
                             std::to_string(found->second.replicas) + ", readyReplicas " +
                             std::to_string(found->second.readyReplicas);
    if (pods > replicas) {
      ++verdict_.orphans;
      add(key, "source", "the Deployment has more Pods than replicas", want, have);
    } else if (pods < replicas || found->second.readyReplicas != replicas) {
      lost(key, "source", "the Deployment does not run its replicas, ready", want, have);
    }
  }

  // A virtual Pod: not stuck deleting, exactly one host Pod of the same name made from it,
  // which agrees on phase, node and IP.
  void checkVirtualPod(const Key& key, const PodObserved& pod) {
    if (pod.deleting) {
      ++verdict_.stuck;
      add(key, "source", "a virtual Pod still deleting", "gone or running", describe(pod));
      return;
    }
    const auto hosts = hostPodsBySourceUid_.find(pod.uid);
    const std::size_t count = hosts == hostPodsBySourceUid_.end() ? 0 : hosts->second.size();
    if (count == 0) {
      lost(key, "target", "no host Pod for the virtual Pod", describe(pod), "absent");
      return;
    }
    if (count > 1) {
      ++verdict_.duplicates;
      add(key, "target", "several host Pods of one virtual Pod", "one", std::to_string(count));
      return;
    }
    const Key& hostKey = hosts->second.front();
    const PodObserved& host = pods_.targetPods.at(hostKey);
    if (hostKey != key || host.phase != pod.phase || host.nodeName != pod.nodeName ||
        host.podIP != pod.podIP) {
      lost(key, "source", "the virtual Pod differs from its host Pod " + chaos::describe(hostKey),
           describe(host), describe(pod));
    }
  }

  // A virtual Pod whose host Pod was evicted: it must have gone.
  void evictedYetThere(const Key& key, const PodObserved& pod) {
    ++verdict_.orphans;
    add(key, "source", "its host Pod was evicted, yet the virtual Pod is still there", "gone",
        describe(pod));
  }

  // A host Pod: not stuck deleting, made from a virtual Pod that exists.
  void checkHostPod(const Key& key, const PodObserved& pod, const std::set<std::string>& uids) {
    if (pod.deleting) {
      ++verdict_.stuck;
      add(key, "target", "a host Pod still deleting", "gone or running", describe(pod));
    } else if (!uids.contains(pod.sourceUid)) {
      ++verdict_.orphans;
      add(key, "target", "a host Pod without its virtual Pod", "none", describe(pod));
    }
  }

  // The virtual Nodes are exactly the host nodes that run synced Pods, with their Ready status.
  void checkNodes() {
    std::set<std::string> used;
    for (const auto& [key, pod] : pods_.targetPods) {
      if (!pod.deleting && !pod.nodeName.empty()) used.insert(pod.nodeName);
    }
    for (const std::string& name : used) {
      const Key key{Kind::Node, "", name};
      const auto host = pods_.targetNodes.find(name);
      const std::string want =
          host == pods_.targetNodes.end() ? "?" : readyText(host->second.ready);
      const auto virt = pods_.sourceNodes.find(name);
      if (virt == pods_.sourceNodes.end()) {
        lost(key, "source", "no virtual Node for a host node that runs synced Pods", want,
             "absent");
      } else if (host != pods_.targetNodes.end() && virt->second.ready != host->second.ready) {
        lost(key, "source", "the virtual Node's Ready differs from the host's", want,
             readyText(virt->second.ready));
      }
    }
    for (const auto& [name, node] : pods_.sourceNodes) {
      if (used.contains(name)) continue;
      ++verdict_.orphans;
      add(Key{Kind::Node, "", name}, "source", "a virtual Node no synced Pod runs on", "gone",
          readyText(node.ready));
    }
  }

 private:
  int podsOf(const Key& deployment) const {
    int count = 0;
    for (const auto& [key, pod] : pods_.sourcePods) {
      if (key.ns == deployment.ns && pod.deployment == deployment.name && !pod.deleting) ++count;
    }
    return count;
  }

  void lost(const Key& key, std::string side, std::string problem, std::string expected,
            std::string actual) {
    ++verdict_.lost;
    add(key, std::move(side), std::move(problem), std::move(expected), std::move(actual));
  }

  void add(const Key& key, std::string side, std::string problem, std::string expected,
           std::string actual) {
    verdict_.divergences.push_back(
        {key, std::move(side), std::move(problem), std::move(expected), std::move(actual)});
  }

  const PodSnapshot& pods_;
  Verdict& verdict_;
  std::map<std::string, std::vector<Key>> hostPodsBySourceUid_;
};

}  // namespace

void verifyPods(const PodModel& model, const PodSnapshot& pods, Verdict& verdict) {
  PodChecker checker(pods, verdict);
  for (const auto& [key, count] : model.replicas) checker.checkDeployment(key, count);
  std::set<std::string> virtualUids;
  for (const auto& [key, pod] : pods.sourcePods) {
    if (model.evicted.contains(pod.uid)) {
      checker.evictedYetThere(key, pod);
    } else {
      checker.checkVirtualPod(key, pod);
    }
    virtualUids.insert(pod.uid);
  }
  for (const auto& [key, pod] : pods.targetPods) checker.checkHostPod(key, pod, virtualUids);
  checker.checkNodes();
}

std::string summary(const PodSnapshot& pods) {
  std::size_t notReady = 0;
  for (const auto& [name, node] : pods.sourceNodes) notReady += node.ready == "True" ? 0 : 1;
  return std::to_string(pods.sourcePods.size()) + " virtual Pods (" +
         std::to_string(pods.targetPods.size()) + " host Pods), " +
         std::to_string(pods.sourceNodes.size()) + " virtual Nodes (" + std::to_string(notReady) +
         " not Ready), " + std::to_string(pods.deployments.size()) + " Deployments";
}

std::size_t changedObjects(const PodSnapshot& before, const PodSnapshot& after) {
  return changedEntries(before.sourcePods, after.sourcePods) +
         changedEntries(before.targetPods, after.targetPods) +
         changedEntries(before.sourceNodes, after.sourceNodes) +
         changedEntries(before.deployments, after.deployments);
}

}  // namespace bisync::chaos
