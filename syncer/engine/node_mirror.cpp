// The host Nodes of synced Pods, shown read-only in the source cluster (internal/node_mirror.hpp).
// What a virtual Node holds and when it is written is node_mirror_rules.hpp's; here are the
// informers, the Pod count per node, the writes and the ownership record entries.
#include "syncer/engine/internal/node_mirror.hpp"

#include <spdlog/spdlog.h>

#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::CachedObjectPtr;
using kube::Json;
using kube::JsonValue;

namespace {

// The record's resource for virtual Nodes. A policy that mirrors Nodes itself (a cluster-scoped
// kind under direction up) would share it, so the node mirror stays off then.
constexpr std::string_view kNodesRecord = "nodes";

kube::ResourceInfo nodes() { return {"", "v1", "nodes", "Node", false, true, {}}; }

WorkQueueOptions nodeQueueOptions() {
  WorkQueueOptions options;
  options.name = "nodes";
  options.baseDelay = std::chrono::milliseconds(200);
  options.maxDelay = std::chrono::seconds(60);
  return options;
}

}  // namespace

NodeMirror::NodeMirror(SyncState& state)
    : state_(state), queue_(state.sourceClient.ioContext(), nodeQueueOptions()) {}

NodeMirror::~NodeMirror() {
  queue_.shutDown();
  for (kube::Informer* informer : informers()) informer->stop();
}

void NodeMirror::enable() {
  if (hosts_) return;
  if (!state_.record) {
    spdlog::warn(
        "host Nodes of synced Pods are not shown in the source cluster in single namespace mode: "
        "the ownership record that proves which Nodes are the syncer's exists in prefix mode only");
    return;
  }
  if (state_.resources.contains(std::string(kNodesRecord))) {
    spdlog::warn("a policy mirrors Nodes: the Nodes of synced Pods are left to it");
    return;
  }
  kube::InformerOptions hostOptions;
  hostOptions.transform = compactHostNode;
  kube::InformerHandlers hostHandlers;
  // A host Node matters when Pods of ours run there or its virtual Node may be ours; heartbeats
  // of the other nodes of the host are not even looked at.
  const auto queueIfRelevant = [this](const CachedObjectPtr& node) {
    const std::string name(node->key);
    if (podsByNode_.contains(name) || (virtuals_ && virtuals_->store().get(name))) {
      queue_.add(name);
    }
  };
  hostHandlers.onAdd = queueIfRelevant;
  hostHandlers.onUpdate = [queueIfRelevant](const CachedObjectPtr&, const CachedObjectPtr& node) {
    queueIfRelevant(node);
  };
  hostHandlers.onDelete = queueIfRelevant;
  hosts_ = std::make_unique<kube::Informer>(state_.targetClient, nodes(), hostOptions,
                                            std::move(hostHandlers));
  kube::InformerHandlers virtualHandlers;
  virtualHandlers.onAdd = [this](const CachedObjectPtr& node) {
    queue_.add(std::string(node->key));
  };
  virtualHandlers.onUpdate = [this](const CachedObjectPtr&, const CachedObjectPtr& node) {
    queue_.add(std::string(node->key));
  };
  virtualHandlers.onDelete = virtualHandlers.onAdd;
  virtuals_ = std::make_unique<kube::Informer>(state_.sourceClient, nodes(),
                                               kube::InformerOptions{}, std::move(virtualHandlers));
  hosts_->start();
  virtuals_->start();
  spdlog::info("showing the host Nodes of synced Pods in the source cluster");
}

kube::InformerHandlers NodeMirror::observePods(kube::InformerHandlers handlers) {
  kube::InformerHandlers observed;
  observed.onAdd = [this, inner = std::move(handlers.onAdd)](const CachedObjectPtr& pod) {
    notePod(pod, true);
    if (inner) inner(pod);
  };
  observed.onUpdate = [this, inner = std::move(handlers.onUpdate)](const CachedObjectPtr& old,
                                                                   const CachedObjectPtr& pod) {
    notePod(pod, true);
    if (inner) inner(old, pod);
  };
  observed.onDelete = [this, inner = std::move(handlers.onDelete)](const CachedObjectPtr& pod) {
    notePod(pod, false);
    if (inner) inner(pod);
  };
  return observed;
}

void NodeMirror::notePod(const CachedObjectPtr& pod, bool present) {
  const std::string key(pod->key);
  std::string node;
  if (present) {
    const Json json = pod->parse();
    if (ownsCopy(state_, json)) node = std::string(kube::stringAt(json, "/spec/nodeName"));
  }
  const auto before = nodeOfPod_.find(key);
  if (before != nodeOfPod_.end() && before->second != node) {
    const auto pods = podsByNode_.find(before->second);
    if (pods != podsByNode_.end()) pods->second.erase(key);
    queue_.add(before->second);  // may have lost its last Pod
    nodeOfPod_.erase(before);
  }
  if (node.empty()) return;
  if (nodeOfPod_.emplace(key, node).second) {
    podsByNode_[node].insert(key);
    queue_.add(node);
  }
}

bool NodeMirror::podsRunOn(const std::string& node) {
  const auto pods = podsByNode_.find(node);
  if (pods == podsByNode_.end()) return false;
  const auto sync = state_.resources.find(std::string(kPodsResource));
  // An entry whose Pod is no longer cached (its namespace is not watched any more) is stale.
  std::erase_if(pods->second, [&](const std::string& key) {
    const bool cached = sync != state_.resources.end() && sync->second.targetObject(key);
    if (!cached) nodeOfPod_.erase(key);
    return !cached;
  });
  if (!pods->second.empty()) return true;
  podsByNode_.erase(pods);
  return false;
}

void NodeMirror::start() {
  if (started_) return;
  started_ = true;
  queue_.run(2, [this](const std::string& node) { return handle(node); });
}

asio::awaitable<void> NodeMirror::shutdown() {
  co_await queue_.drain();
  for (kube::Informer* informer : informers()) informer->stop();
}

std::vector<kube::Informer*> NodeMirror::informers() {
  std::vector<kube::Informer*> out;
  if (hosts_) out.push_back(hosts_.get());
  if (virtuals_) out.push_back(virtuals_.get());
  return out;
}

asio::awaitable<bool> NodeMirror::handle(const std::string& node) {
  if (!hosts_ || !hosts_->hasSynced() || !virtuals_->hasSynced()) co_return false;
  const CachedObjectPtr host = hosts_->store().get(node);
  const CachedObjectPtr current = virtuals_->store().get(node);
  // Until the cache shows our last write, it would show a Node older than the one written (a
  // write with its resourceVersion fails with 409) or none at all (the record entry would be
  // forgotten as if the Node were gone).
  if (const auto wait = waitForOwnWrite(ownWrites_, node, current, virtuals_.get())) {
    queue_.addAfter(node, *wait + std::chrono::milliseconds(1));
    co_return true;
  }
  std::optional<CopiedUp> entry;
  if (const CopiedUp* found = state_.record->findCopiedUp(kNodesRecord, "", node)) entry = *found;
  // An unfinished creation is settled once a Node of that name shows. Until then it counts as
  // no entry and stays in the record: the POST may have landed, its answer lost, and the cache
  // not show the Node yet (creating again then fails with AlreadyExists and retries).
  if (entry && entry->sourceUid.empty()) {
    kube::Result<std::optional<CopiedUp>> settled = std::nullopt;
    if (current) settled = co_await settleIntent(*entry, current);
    if (!settled) co_return false;
    entry = std::move(*settled);
  }
  const bool ours = entry && current && current->uid == entry->sourceUid;
  const Json hostJson = host ? host->parse() : Json();
  switch (
      decideNode(host != nullptr, podsRunOn(node), current != nullptr, entry.has_value(), ours)) {
    case NodeAction::None: co_return true;
    case NodeAction::Clash:
      if (clashesReported_.insert(node).second) {
        spdlog::warn(
            "Node {} exists in the source cluster and was not made by the syncer: leaving "
            "it (the host Node of synced Pods is not shown)",
            node);
      }
      co_return true;
    case NodeAction::Forget: {
      const kube::Result<void> forgotten = co_await state_.record->forgetCopiedUp(*entry);
      if (forgotten) queue_.add(node);
      co_return forgotten.has_value();
    }
    case NodeAction::Remove: co_return co_await remove(node, std::string(current->uid));
    case NodeAction::Create: co_return co_await create(node, hostJson);
    case NodeAction::Sync: co_return co_await sync(node, hostJson, current->parse());
  }
  co_return true;
}

asio::awaitable<kube::Result<std::optional<CopiedUp>>> NodeMirror::settleIntent(
    const CopiedUp& intent, const kube::CachedObjectPtr& current) {
  const bool proven = madeFromHostNode(current->parse(), intent.targetUid);
  kube::Result<std::optional<CopiedUp>> settled =
      co_await state_.record->finishOrForgetIntent(intent, proven, std::string(current->uid));
  if (settled && *settled) {
    spdlog::info("Node {}: finished its creation in the source cluster, which was interrupted",
                 intent.name);
  } else if (settled) {
    spdlog::info(
        "Node {} in the source cluster was not made from host Node uid {}; forgetting "
        "the unfinished creation",
        intent.name, intent.targetUid);
  }
  co_return settled;
}

asio::awaitable<bool> NodeMirror::create(const std::string& node, const JsonValue& host) {
  clashesReported_.erase(node);
  // The intent goes into the record before the POST, and the Node carries the host Node's uid:
  // a syncer that dies, loses its Lease or loses the answer in between finds the Node it made
  // (settleIntent) instead of taking it for a tenant's, which it would never remove.
  const std::string hostUid(kube::uidOf(host));
  const CopiedUp intent{std::string(kNodesRecord), "", node, hostUid, ""};
  if (const kube::Result<void> recorded = co_await state_.record->recordCopiedUp(intent);
      !recorded) {
    spdlog::warn("could not record the creation of Node {}: {}", node, recorded.error().describe());
    co_return false;
  }
  const Json wanted = virtualNodeOf(host, state_.mapper.config().clusterName);
  const kube::ResourceInfo resource = nodes();
  const kube::Result<Json> created = co_await state_.sourceClient.create(resource, "", wanted);
  if (!created) {
    spdlog::warn("could not create Node {} in the source cluster: {}", node,
                 created.error().describe());
    co_return false;  // AlreadyExists: the retry finds the tenant's Node and reports the clash
  }
  ++stats_.created;
  recordPendingWrite(ownWrites_, node, kube::resourceVersionOf(*created));
  logWrite(state_, "created Node " + node + " in the source cluster from the host's");
  CopiedUp entry = intent;
  entry.sourceUid = std::string(kube::uidOf(*created));
  if (const kube::Result<void> recorded = co_await state_.record->recordCopiedUp(entry);
      !recorded) {
    spdlog::warn("could not record Node {}: {}", node, recorded.error().describe());
    co_return false;
  }
  co_return co_await writeStatus(node, host, *created);
}

asio::awaitable<bool> NodeMirror::sync(const std::string& node, const JsonValue& host,
                                       Json current) {
  const NodeDrift drift = nodeDrift(host, current);
  if (drift.metadata) {
    const Json wanted = withHostMetadata(current, host, state_.mapper.config().clusterName);
    const kube::ResourceInfo resource = nodes();
    kube::Result<Json> updated = co_await state_.sourceClient.update(resource, "", wanted);
    if (!updated) {
      spdlog::warn("could not restore Node {} in the source cluster: {}", node,
                   updated.error().describe());
      co_return false;  // a conflict: the retry reads the newer Node
    }
    ++stats_.metadataWrites;
    recordPendingWrite(ownWrites_, node, kube::resourceVersionOf(*updated));
    logWrite(state_, "restored the labels and taints of Node " + node + " from the host's");
    current = std::move(*updated);
  }
  if (!drift.status) co_return true;
  co_return co_await writeStatus(node, host, current);
}

asio::awaitable<bool> NodeMirror::writeStatus(const std::string& node, const JsonValue& host,
                                              const JsonValue& current) {
  const Json wanted = withHostStatus(current, host);
  const kube::ResourceInfo resource = nodes();
  const std::string_view subresource = "status";
  const kube::Result<Json> updated =
      co_await state_.sourceClient.update(resource, "", wanted, subresource);
  if (!updated) {
    spdlog::warn("could not write the status of Node {} in the source cluster: {}", node,
                 updated.error().describe());
    co_return false;
  }
  ++stats_.statusWrites;
  recordPendingWrite(ownWrites_, node, kube::resourceVersionOf(*updated));
  logWrite(state_, "wrote the status of Node " + node + " from the host's");
  co_return true;
}

asio::awaitable<bool> NodeMirror::remove(const std::string& node, std::string uid) {
  const kube::ResourceInfo resource = nodes();
  const kube::Result<bool> removed =
      co_await removeIncarnation(state_.sourceClient, resource, "", node, uid);
  if (!removed) {
    spdlog::warn("could not delete Node {} from the source cluster: {}", node,
                 removed.error().describe());
    co_return false;
  }
  if (*removed) ++stats_.removed;
  recordPendingDeletion(ownWrites_, node, uid);
  logWrite(state_, "deleted Node " + node + " from the source cluster: no synced Pod runs there");
  // The record entry goes once the informer no longer shows the Node (decideNode: Forget).
  co_return true;
}

}  // namespace bisync::engine::internal
