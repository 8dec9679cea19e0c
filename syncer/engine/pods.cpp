// What a synced Pod needs beyond a copy. The source (virtual) cluster has no kubelet: the host
// runs the Pod, the host scheduler's node choice is bound on the source Pod, a source Pod's
// deletion is finished by the syncer once its host Pod has gone, and a host Pod deleted or
// evicted on the host takes its source Pod with it, so that the Pod's controller replaces it.
// docs/workloads.md, "Lifecycle".
#include <spdlog/spdlog.h>

#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

constexpr std::string_view kNodeNamePointer = "/spec/nodeName";

// The Binding of the source Pod `source` to the host node `node`, uid-checked so that only the
// Pod the syncer looked at is bound.
Json bindingOf(const JsonValue& source, std::string_view node) {
  Json binding(rapidjson::kObjectType);
  auto& allocator = binding.GetAllocator();
  JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", kube::stringValue(kube::nameOf(source), allocator), allocator);
  metadata.AddMember("uid", kube::stringValue(kube::uidOf(source), allocator), allocator);
  JsonValue target(rapidjson::kObjectType);
  target.AddMember("apiVersion", "v1", allocator);
  target.AddMember("kind", "Node", allocator);
  target.AddMember("name", kube::stringValue(node, allocator), allocator);
  binding.AddMember("apiVersion", "v1", allocator);
  binding.AddMember("kind", "Binding", allocator);
  binding.AddMember("metadata", metadata, allocator);
  binding.AddMember("target", target, allocator);
  return binding;
}

// Removes the source Pod of `key` in the incarnation `uid` at once: the step a kubelet takes
// once the containers have stopped.
asio::awaitable<kube::Result<bool>> removeSourcePod(SyncState& state, ResourceSync& sync,
                                                    const SyncKey& key, std::string_view uid) {
  co_return co_await removeIncarnation(state.sourceClient, sync.sourceResource, key.ns, key.name,
                                       uid, 0);
}

}  // namespace

bool syncsPods(const ResourceSync& sync) {
  const kube::ResourceInfo& resource = sync.translator->resource();
  return resource.group.empty() && resource.resource == "pods";
}

std::optional<std::int64_t> hostDeletionGrace(const ResourceSync& sync,
                                              const kube::CachedObjectPtr& sourceCached) {
  if (!sourceCached || !syncsPods(sync)) return std::nullopt;
  const Json source = sourceCached->parse();
  if (!isTerminating(source)) return std::nullopt;
  const JsonValue* metadata = kube::member(source, "metadata");
  return metadata != nullptr ? kube::intMember(*metadata, "deletionGracePeriodSeconds")
                             : std::nullopt;
}

asio::awaitable<Outcome> finishPodDeletion(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                           const std::string& targetKey,
                                           const kube::CachedObjectPtr& sourceCached) {
  const std::string_view targetNs = std::string_view(targetKey).substr(0, targetKey.find('/'));
  // A namespace that is not ours holds no copy of ours; one of ours proves nothing until listed.
  if (ownsCachedNamespace(state, targetNs) && !targetNamespaceWatched(state, targetNs)) {
    state.park(targetNs, key);
    co_return Outcome::Parked;
  }
  if (const kube::CachedObjectPtr copy = sync.targetObject(targetKey);
      copy && ownsCopy(state, copy->parse())) {
    co_return Outcome::Done;  // being deleted (deleteUnwanted): its deletion event comes back
  }
  const kube::Result<bool> removed = co_await removeSourcePod(state, sync, key, sourceCached->uid);
  if (!removed) {
    co_return fail(state, key,
                   "finish the deletion of the source Pod: " + removed.error().describe());
  }
  if (*removed) {
    ++state.stats.source.deletes;
    logWrite(state, "deleted source pod " + key.ns + "/" + key.name + ": its host Pod is gone");
  }
  co_return Outcome::Done;
}

bool ranOnHost(const ResourceSync& sync, const kube::CachedObject& sourceCached,
               const JsonValue& source) {
  // No kubelet runs in the source cluster: only the syncer writes a host IP there.
  if (!kube::stringAt(source, "/status/hostIP").empty()) return true;
  const auto gone = sync.hostPodsGone.find(std::string(sourceCached.key));
  return gone != sync.hostPodsGone.end() && gone->second == sourceCached.uid;
}

void noteHostPodGone(SyncState& state, ResourceSync& sync, const mapping::Origin& origin,
                     const kube::CachedObject& last) {
  // Our own deletions (the tenant's deletion carried out, a replaced copy) are pending ones.
  const auto ours = sync.pendingWrites.find(std::string(last.key));
  if (ours != sync.pendingWrites.end() && ours->second.deletedUid == last.uid) return;
  // Only the copy at the source's own key: a misplaced one going says nothing of it.
  const mapping::TargetKey target = state.mapper.toTarget(
      mapping::SourceKey{origin.ns, origin.name}, sync.translator->nameLimit());
  if (kube::objectKey(target.ns, target.name) != last.key || origin.uid.empty()) return;
  sync.hostPodsGone[kube::objectKey(origin.ns, origin.name)] = origin.uid;
}

asio::awaitable<Outcome> removePodGoneFromHost(SyncState& state, ResourceSync& sync,
                                               const SyncKey& key, const JsonValue& source,
                                               const std::string& targetKey) {
  const std::string message = "its host Pod " + targetKey +
                              " was deleted or evicted on the host: this Pod is removed so that "
                              "its controller replaces it";
  spdlog::info("{}: pods {}: {}", kReasonHostPodGone, key.describe(), message);
  const std::string_view reason = kReasonHostPodGone;
  co_await state.recorder.record(sync.translator->resource(), source, EventType::Warning, reason,
                                 message);
  const kube::Result<bool> removed =
      co_await removeSourcePod(state, sync, key, kube::uidOf(source));
  if (!removed) {
    co_return fail(state, key,
                   "remove the source Pod whose host Pod is gone: " + removed.error().describe());
  }
  if (*removed) ++state.stats.source.deletes;
  sync.hostPodsGone.erase(kube::objectKey(key.ns, key.name));
  co_return Outcome::Done;
}

asio::awaitable<Binding> bindSourcePod(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                       const JsonValue& source, const JsonValue& forSource) {
  const std::string node(kube::stringAt(forSource, kNodeNamePointer));
  // Bound once; a Pod bound to another node (by someone else) keeps it: nodeName is immutable.
  if (node.empty() || !kube::stringAt(source, kNodeNamePointer).empty()) {
    co_return Binding::Unchanged;
  }
  const Json binding = bindingOf(source, node);
  const kube::Result<Json> bound = co_await state.sourceClient.createSubresource(
      sync.sourceResource, key.ns, key.name, "binding", binding);
  if (!bound) {
    if (bound.error().isForbidden()) {
      co_await reportForbidden(state, sync, key.str(), source, "source", bound.error());
    }
    fail(state, key, "bind the source Pod to node " + node + ": " + bound.error().describe());
    co_return Binding::Failed;
  }
  ++state.stats.source.creates;  // a Binding is created
  // Until the cache shows the binding, a reconcile would see the Pod unbound and bind it again
  // (409 "already assigned", then a rate-limited retry).
  recordPendingBinding(sync.pendingSourceWrites, kube::objectKey(key.ns, key.name),
                       kube::resourceVersionOf(source));
  logWrite(state, "bound source pod " + key.ns + "/" + key.name + " to node " + node);
  co_return Binding::Bound;
}

void dropNodeName(Json& body) {
  const auto spec = body.FindMember("spec");
  if (spec == body.MemberEnd() || !spec->value.IsObject()) return;
  spec->value.RemoveMember("nodeName");
  if (spec->value.ObjectEmpty()) body.RemoveMember("spec");
}

}  // namespace bisync::engine::internal
