// The chaos checker's Pod checks (tests/chaos/pods_check.hpp): what the checker calls lost,
// orphaned, duplicated or stuck among virtual Pods, host Pods, Deployments and virtual Nodes.
// Hand-made snapshots: the checks are pure code, and a wrong verdict would let a chaos run pass
// over a broken syncer.
#include <set>
#include <string>

#include "tests/chaos/pods_check.hpp"
#include "tests/support/catch.hpp"

namespace {

using bisync::chaos::DeploymentObserved;
using bisync::chaos::Key;
using bisync::chaos::Kind;
using bisync::chaos::NodeObserved;
using bisync::chaos::PodModel;
using bisync::chaos::PodObserved;
using bisync::chaos::PodSnapshot;
using bisync::chaos::Verdict;

const Key kDeployment{Kind::Deployment, "chaos-0", "dep-0"};

Key podKey(const std::string& name) { return Key{Kind::Pod, "chaos-0", name}; }

PodObserved virtualPod(const std::string& uid) {
  return PodObserved{.uid = uid,
                     .resourceVersion = "1",
                     .phase = "Running",
                     .podIP = "10.0.0.1",
                     .nodeName = "chaos-node-1",
                     .sourceUid = "",
                     .deployment = "dep-0",
                     .deleting = false};
}

PodObserved hostPodOf(const PodObserved& virt) {
  PodObserved host = virt;
  host.uid = "host-" + virt.uid;
  host.sourceUid = virt.uid;
  return host;
}

// One Deployment of one replica, running and ready on both sides, on a Ready node.
PodSnapshot converged() {
  PodSnapshot pods;
  pods.sourcePods[podKey("dep-0-a")] = virtualPod("v1");
  pods.targetPods[podKey("dep-0-a")] = hostPodOf(virtualPod("v1"));
  pods.sourceNodes["chaos-node-1"] = NodeObserved{"5", "True"};
  pods.targetNodes["chaos-node-1"] = NodeObserved{"9", "True"};
  pods.targetNodes["chaos-node-2"] = NodeObserved{"9", "False"};
  pods.deployments[kDeployment] = DeploymentObserved{"3", 1, 1};
  return pods;
}

Verdict check(const PodSnapshot& pods, int replicas = 1, std::set<std::string> evicted = {}) {
  Verdict verdict;
  bisync::chaos::verifyPods(PodModel{{{kDeployment, replicas}}, std::move(evicted)}, pods, verdict);
  return verdict;
}

std::string problems(const Verdict& verdict) {
  std::string out;
  for (const auto& divergence : verdict.divergences) {
    out += describe(divergence.key) + " (" + divergence.side + "): " + divergence.problem + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("chaos pod check: a converged pair, Deployment and Node pass", "[chaos-checks]") {
  const Verdict verdict = check(converged());
  INFO(problems(verdict));
  CHECK(verdict.ok());
}

TEST_CASE("chaos pod check: a virtual Pod without a host Pod is lost", "[chaos-checks]") {
  PodSnapshot pods = converged();
  pods.targetPods.clear();
  const Verdict verdict = check(pods);
  INFO(problems(verdict));
  CHECK(verdict.lost >= 1);
  CHECK(problems(verdict).find("Pod chaos-0/dep-0-a (target): no host Pod") != std::string::npos);
}

TEST_CASE("chaos pod check: two host Pods of one virtual Pod are duplicates", "[chaos-checks]") {
  PodSnapshot pods = converged();
  pods.targetPods[podKey("dep-0-b")] = hostPodOf(virtualPod("v1"));
  const Verdict verdict = check(pods);
  INFO(problems(verdict));
  CHECK(verdict.duplicates == 1);
}

TEST_CASE("chaos pod check: a host Pod whose virtual Pod is gone is an orphan", "[chaos-checks]") {
  PodSnapshot pods = converged();
  pods.targetPods[podKey("dep-0-old")] = hostPodOf(virtualPod("v0"));
  const Verdict verdict = check(pods);
  INFO(problems(verdict));
  CHECK(verdict.orphans == 1);
  CHECK(verdict.divergences.at(0).key == podKey("dep-0-old"));
}

TEST_CASE("chaos pod check: a virtual Pod whose host Pod was evicted must be gone",
          "[chaos-checks]") {
  // Even with a host Pod made anew for it: that would hide the eviction from its ReplicaSet.
  const Verdict verdict = check(converged(), 1, {"v1"});
  INFO(problems(verdict));
  CHECK(verdict.orphans == 1);
  CHECK(problems(verdict).find("evicted, yet the virtual Pod is still there") != std::string::npos);
  CHECK(check(converged(), 1, {"v0"}).ok());
}

TEST_CASE("chaos pod check: status or node that did not come up is lost", "[chaos-checks]") {
  PodSnapshot pods = converged();
  SECTION("phase") { pods.sourcePods[podKey("dep-0-a")].phase = "Pending"; }
  SECTION("pod IP") { pods.sourcePods[podKey("dep-0-a")].podIP = ""; }
  SECTION("node") { pods.sourcePods[podKey("dep-0-a")].nodeName = ""; }
  const Verdict verdict = check(pods);
  INFO(problems(verdict));
  CHECK(verdict.lost == 1);
  CHECK(problems(verdict).find("differs from its host Pod") != std::string::npos);
}

TEST_CASE("chaos pod check: Pods still deleting are stuck", "[chaos-checks]") {
  PodSnapshot pods = converged();
  SECTION("virtual") { pods.sourcePods[podKey("dep-0-a")].deleting = true; }
  SECTION("host") { pods.targetPods[podKey("dep-0-a")].deleting = true; }
  const Verdict verdict = check(pods);
  INFO(problems(verdict));
  CHECK(verdict.stuck == 1);
}

TEST_CASE("chaos pod check: a Deployment short of ready replicas is lost", "[chaos-checks]") {
  PodSnapshot pods = converged();
  SECTION("fewer Pods than replicas") {
    const Verdict verdict = check(pods, 2);
    INFO(problems(verdict));
    CHECK(verdict.lost == 1);
  }
  SECTION("not ready") {
    pods.deployments[kDeployment].readyReplicas = 0;
    const Verdict verdict = check(pods);
    INFO(problems(verdict));
    CHECK(verdict.lost == 1);
  }
  SECTION("more Pods than replicas") {
    const Verdict verdict = check(pods, 0);
    INFO(problems(verdict));
    CHECK(verdict.orphans == 1);
    CHECK(problems(verdict).find("more Pods than replicas") != std::string::npos);
  }
}

TEST_CASE("chaos pod check: virtual Nodes mirror the host nodes that run Pods", "[chaos-checks]") {
  PodSnapshot pods = converged();
  SECTION("missing") {
    pods.sourceNodes.clear();
    const Verdict verdict = check(pods);
    INFO(problems(verdict));
    CHECK(verdict.lost == 1);
  }
  SECTION("Ready not carried") {
    pods.targetNodes["chaos-node-1"].ready = "False";
    const Verdict verdict = check(pods);
    INFO(problems(verdict));
    CHECK(verdict.lost == 1);
    CHECK(problems(verdict).find("Ready differs") != std::string::npos);
  }
  SECTION("left behind") {
    pods.sourceNodes["chaos-node-2"] = NodeObserved{"6", "False"};
    const Verdict verdict = check(pods);
    INFO(problems(verdict));
    CHECK(verdict.orphans == 1);
  }
}

TEST_CASE("chaos pod check: host node heartbeats are no change in the quiet window",
          "[chaos-checks]") {
  const PodSnapshot before = converged();
  PodSnapshot after = before;
  after.targetNodes["chaos-node-1"].resourceVersion = "10";
  CHECK(bisync::chaos::changedObjects(before, after) == 0);
  after.sourcePods[podKey("dep-0-a")].resourceVersion = "2";
  after.sourceNodes.erase("chaos-node-1");
  CHECK(bisync::chaos::changedObjects(before, after) == 2);
}
