#include "tests/chaos/pods.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>

#include "syncer/kube/json.hpp"
#include "tests/support/sync_scene.hpp"

namespace bisync::chaos {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kDeploymentPrefix = "dep-";

// A Deployment of `name` with one pause container. A grace of 1 s keeps scale-downs short: the
// simulated kubelet caps the grace anyway, but the syncer passes the virtual one down.
kube::Json deploymentObject(const std::string& ns, const std::string& name) {
  const std::string labels = R"({")" + std::string(kDeploymentLabel) + R"(":")" + name + R"("})";
  const std::string text =
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
      R"(","namespace":")" + ns + R"("},"spec":{"replicas":1,"selector":{"matchLabels":)" + labels +
      R"(},"template":{"metadata":{"labels":)" + labels +
      R"(},"spec":{"terminationGracePeriodSeconds":1,"containers":[{"name":"app",)"
      R"("image":"registry.k8s.io/pause:3.9"}]}}}})";
  kube::Result<kube::Json> json = kube::parseJson(text, "chaos Deployment");
  if (!json) throw std::logic_error("chaos pods built bad JSON: " + text);
  return std::move(*json);
}

int intAt(const kube::JsonValue& object, std::string_view pointer) {
  const kube::JsonValue* value = kube::at(object, pointer);
  return value != nullptr && value->IsInt() ? value->GetInt() : 0;
}

std::string readyOf(const kube::JsonValue& node) {
  const kube::JsonValue* conditions = kube::at(node, "/status/conditions");
  if (conditions == nullptr || !conditions->IsArray()) return "";
  for (const kube::JsonValue& condition : conditions->GetArray()) {
    if (kube::stringAt(condition, "/type") == "Ready") {
      return std::string(kube::stringAt(condition, "/status"));
    }
  }
  return "";
}

PodObserved podOf(const kube::JsonValue& pod) {
  const testing::StringMap labels = testing::stringMapAt(pod, "/metadata/labels");
  const auto label = labels.find(std::string(kDeploymentLabel));
  return PodObserved{.uid = std::string(kube::uidOf(pod)),
                     .resourceVersion = std::string(kube::resourceVersionOf(pod)),
                     .phase = std::string(kube::stringAt(pod, "/status/phase")),
                     .podIP = std::string(kube::stringAt(pod, "/status/podIP")),
                     .nodeName = std::string(kube::stringAt(pod, "/spec/nodeName")),
                     .sourceUid = sourceUidOf(pod),
                     .deployment = label == labels.end() ? "" : label->second,
                     .deleting = kube::at(pod, "/metadata/deletionTimestamp") != nullptr};
}

}  // namespace

PodWorkload::PodWorkload(testing::Testbed& testbed, testing::LoopThread& loop, kube::Client& source,
                         kube::Client& target, Scope scope, PodWorkloadOptions options)
    : loop_(loop),
      source_(source),
      target_(target),
      scope_(std::move(scope)),
      options_(options),
      random_(options.seed ^ 0x51ed270b27f4a7c1ULL),
      // Host nodes whose Pods leave at once when deleted (a grace of their own would only make
      // every convergence wait), with Events off: they are the Pod workload's noise, not its
      // subject.
      nodes_(testbed, testing::NodeSimulatorOptions{.nodes = options.nodes,
                                                    .namePrefix = "chaos-node-",
                                                    .gracePeriodCap = std::chrono::milliseconds(0),
                                                    .events = false}) {}

void PodWorkload::start() {
  nodes_.start();
  for (const std::string& name : nodes_.nodeNames()) nodeReady_[name] = true;
  const kube::ResourceInfo deployments = resourceOf(Kind::Deployment);
  for (const std::string& ns : scope_.namespaces) {
    for (int i = 0; i < options_.deploymentsPerNamespace; ++i) {
      const std::string name = std::string(kDeploymentPrefix) + std::to_string(i);
      const kube::Json object = deploymentObject(ns, name);
      kube::Result<kube::Json> created = loop_.run(source_.create(deployments, ns, object));
      if (!created) {
        throw std::runtime_error("create Deployment " + ns + "/" + name + ": " +
                                 created.error().describe());
      }
      model_.replicas[Key{Kind::Deployment, ns, name}] = 1;
    }
  }
}

void PodWorkload::run(Clock::time_point until) {
  const auto interval = std::chrono::duration<double>(1.0 / options_.opsPerSecond);
  std::exponential_distribution<double> gap(1.0);
  while (true) {
    const auto next =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(interval * gap(random_));
    if (next >= until) break;
    std::this_thread::sleep_until(next);
    const int dice = pick(100);
    if (dice < 45) {
      scale();
    } else if (dice < 85) {
      evict();
    } else {
      flipNode();
    }
  }
}

int PodWorkload::pick(int below) {
  return std::uniform_int_distribution<int>(0, below - 1)(random_);
}

void PodWorkload::count(const std::string& op, bool ok, bool unknown) {
  OpCount& entry = counts_[op];
  ++(ok ? entry.ok : unknown ? entry.unknown : entry.refused);
}

// A Deployment to a random number of replicas (0 to maxReplicas).
void PodWorkload::scale() {
  auto chosen = model_.replicas.begin();
  std::advance(chosen, pick(static_cast<int>(model_.replicas.size())));
  const Key key = chosen->first;
  const int wanted = pick(options_.maxReplicas + 1);
  const std::string body = R"({"spec":{"replicas":)" + std::to_string(wanted) + "}}";
  const kube::ResourceInfo deployments = resourceOf(Kind::Deployment);
  const kube::Result<kube::Json> patched =
      loop_.run(source_.patch(deployments, key.ns, key.name, kube::PatchType::Merge, body));
  if (patched) {
    effective_ += model_.replicas[key] != wanted || unknown_.contains(key) ? 1 : 0;
    model_.replicas[key] = wanted;
    unknown_.erase(key);
    count("scale", true);
  } else {
    const bool refused = refusedByServer(patched.error());
    if (!refused) unknown_.insert(key);
    count("scale", false, !refused);
  }
}

// A random host Pod of the workload, evicted (the server deletes it; the simulated kubelet
// removes it at once), whether or not its virtual Pod shows it running yet. The virtual Pod must
// go and its ReplicaSet make a new one (docs/workloads.md, "Lifecycle").
void PodWorkload::evict() {
  const kube::ResourceInfo pods = resourceOf(Kind::Pod);
  const kube::Result<kube::ListResult> hosts = loop_.run(target_.list(pods, ""));
  if (!hosts) {
    count("evict", false, true);
    return;
  }
  std::vector<std::pair<std::string, PodObserved>> candidates;  // host namespace, Pod
  for (const kube::JsonValue& pod : hosts->items().GetArray()) {
    const std::string ns(kube::namespaceOf(pod));
    PodObserved observed = podOf(pod);
    if (sourceNamespaceOf(ns, true, scope_).empty() || observed.deleting) continue;
    candidates.emplace_back(ns + "/" + std::string(kube::nameOf(pod)), std::move(observed));
  }
  if (!candidates.empty())
    evictOne(candidates.at(static_cast<std::size_t>(pick(static_cast<int>(candidates.size())))));
}

void PodWorkload::evictOne(const std::pair<std::string, PodObserved>& chosen) {
  const std::string& key = chosen.first;
  const std::size_t slash = key.find('/');
  try {
    nodes_.evictPod(key.substr(0, slash), key.substr(slash + 1));
    model_.evicted.insert(chosen.second.sourceUid);
    ++effective_;
    count("evict", true);
  } catch (const std::exception&) {
    count("evict", false, true);  // gone meanwhile, or the server is down: either is fine
  }
}

// A random host node's Ready condition flipped. The simulator keeps the new value (its
// heartbeats write it) even when this write fails.
void PodWorkload::flipNode() {
  auto chosen = nodeReady_.begin();
  std::advance(chosen, pick(static_cast<int>(nodeReady_.size())));
  const bool ready = !chosen->second;
  chosen->second = ready;
  const std::string op = ready ? "node-ready" : "node-not-ready";
  ++effective_;
  try {
    nodes_.setNodeReady(chosen->first, ready);
    count(op, true);
  } catch (const std::exception&) {
    count(op, false, true);
  }
}

std::size_t PodWorkload::resolveUnknown() {
  const kube::ResourceInfo deployments = resourceOf(Kind::Deployment);
  for (auto key = unknown_.begin(); key != unknown_.end();) {
    const kube::Result<kube::Json> read = loop_.run(source_.get(deployments, key->ns, key->name));
    if (!read) {
      ++key;
      continue;
    }
    model_.replicas[*key] = intAt(*read, "/spec/replicas");
    key = unknown_.erase(key);
  }
  return unknown_.size();
}

std::optional<PodSnapshot> PodWorkload::read() {
  const kube::ResourceInfo pods = resourceOf(Kind::Pod);
  const kube::ResourceInfo nodes = resourceOf(Kind::Node);
  const kube::ResourceInfo deployments = resourceOf(Kind::Deployment);
  const kube::Result<kube::ListResult> sourcePods = loop_.run(source_.list(pods, ""));
  const kube::Result<kube::ListResult> targetPods = loop_.run(target_.list(pods, ""));
  const kube::Result<kube::ListResult> sourceNodes = loop_.run(source_.list(nodes, ""));
  const kube::Result<kube::ListResult> targetNodes = loop_.run(target_.list(nodes, ""));
  const kube::Result<kube::ListResult> sourceDeployments = loop_.run(source_.list(deployments, ""));
  if (!sourcePods || !targetPods || !sourceNodes || !targetNodes || !sourceDeployments) {
    return std::nullopt;
  }
  PodSnapshot snapshot;
  snapshot.sourcePods = podsIn(*sourcePods, false);
  snapshot.targetPods = podsIn(*targetPods, true);
  snapshot.sourceNodes = nodesIn(*sourceNodes, {});
  snapshot.targetNodes = nodesIn(*targetNodes, nodes_.nodeNames());
  for (const kube::JsonValue& deployment : sourceDeployments->items().GetArray()) {
    const std::string ns =
        sourceNamespaceOf(std::string(kube::namespaceOf(deployment)), false, scope_);
    if (ns.empty()) continue;
    snapshot.deployments[Key{Kind::Deployment, ns, std::string(kube::nameOf(deployment))}] =
        DeploymentObserved{std::string(kube::resourceVersionOf(deployment)),
                           intAt(deployment, "/spec/replicas"),
                           intAt(deployment, "/status/readyReplicas")};
  }
  return snapshot;
}

std::map<Key, PodObserved> PodWorkload::podsIn(const kube::ListResult& listed, bool target) const {
  std::map<Key, PodObserved> found;
  for (const kube::JsonValue& pod : listed.items().GetArray()) {
    const std::string ns = sourceNamespaceOf(std::string(kube::namespaceOf(pod)), target, scope_);
    if (!ns.empty()) found[Key{Kind::Pod, ns, std::string(kube::nameOf(pod))}] = podOf(pod);
  }
  return found;
}

std::map<std::string, NodeObserved> PodWorkload::nodesIn(const kube::ListResult& listed,
                                                         const std::vector<std::string>& only) {
  std::map<std::string, NodeObserved> found;
  for (const kube::JsonValue& node : listed.items().GetArray()) {
    const std::string name(kube::nameOf(node));
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    found[name] = NodeObserved{std::string(kube::resourceVersionOf(node)), readyOf(node)};
  }
  return found;
}

}  // namespace bisync::chaos
