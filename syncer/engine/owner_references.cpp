// Owner references of target copies: the rewrite itself is translators::rewriteOwnerReferences
// (pure); here the engine says which owners have a target copy (same namespace, a kind it
// syncs, a copy in its cache that is ours and of that very source object) and makes children
// whose owner has no copy yet wait for it. docs/sync-engine.md ("Owner references").
#include <optional>
#include <string_view>

#include "syncer/engine/internal/sync_state.hpp"
#include "translators/generic/owner_references.hpp"

namespace bisync::engine::internal {

using kube::Json;
using kube::JsonValue;

namespace {

// "apps" of "apps/v1", "" of "v1".
std::string_view groupOf(std::string_view apiVersion) {
  const auto slash = apiVersion.find('/');
  return slash == std::string_view::npos ? std::string_view() : apiVersion.substr(0, slash);
}

// The synced kind of an owner's apiVersion and kind (any version of the group).
const ResourceSync* syncedKindOf(const SyncState& state, const translators::SourceOwner& owner) {
  const std::string_view group = groupOf(owner.apiVersion);
  for (const auto& [name, sync] : state.resources) {
    const kube::ResourceInfo& resource = sync.translator->resource();
    // A namespaced child's copy cannot name a cluster-scoped mirror (it lives on the source).
    if (!sync.clusterScoped && resource.group == group && resource.kind == owner.kind) {
      return &sync;
    }
  }
  return nullptr;
}

// The target copy (ours) of the source owner `owner` of kind `sync` in source namespace `ns`.
kube::CachedObjectPtr ownerCopy(const SyncState& state, const ResourceSync& sync,
                                const std::string& ns, const translators::SourceOwner& owner) {
  const mapping::TargetKey target =
      state.mapper.toTarget(mapping::SourceKey{ns, owner.name}, sync.translator->nameLimit());
  kube::CachedObjectPtr cached = sync.targetObject(kube::objectKey(target.ns, target.name));
  if (!cached) return nullptr;
  const Json copy = cached->parse();
  const auto origin = state.mapper.originOf(copy);
  if (!ownsCopy(state, copy) || origin->ns != ns || origin->name != owner.name ||
      origin->uid != owner.uid) {
    return nullptr;
  }
  return cached;
}

// The target copy of `owner`, a source object of namespace `ns`, when the syncer has one.
std::optional<translators::TargetOwner> targetOwner(const SyncState& state, const std::string& ns,
                                                    const translators::SourceOwner& owner) {
  const ResourceSync* sync = syncedKindOf(state, owner);
  if (sync == nullptr) return std::nullopt;
  const kube::CachedObjectPtr copy = ownerCopy(state, *sync, ns, owner);
  if (!copy) return std::nullopt;
  const kube::ResourceInfo& resource = sync->translator->resource();
  const std::string_view key = copy->key;
  return translators::TargetOwner{resource.apiVersion(), resource.kind,
                                  std::string(key.substr(key.find('/') + 1)),
                                  std::string(copy->uid)};
}

}  // namespace

OwnerLinks ownerLinks(const SyncState& state, const SyncKey& key, const JsonValue& source) {
  OwnerLinks links;
  const JsonValue* references = kube::at(source, "/metadata/ownerReferences");
  if (references == nullptr) return links;
  translators::RewrittenOwners rewritten = translators::rewriteOwnerReferences(
      *references,
      [&](const translators::SourceOwner& owner) { return targetOwner(state, key.ns, owner); });
  links.references = std::move(rewritten.references);
  for (const translators::SourceOwner& owner : rewritten.unresolved) {
    // Owners of a synced kind get a copy (soon): the child waits for it. Others are dropped.
    if (syncedKindOf(state, owner) != nullptr) links.pendingOwners.push_back(owner.uid);
  }
  return links;
}

void awaitOwners(SyncState& state, const SyncKey& key, const OwnerLinks& links) {
  for (const std::string& uid : links.pendingOwners) {
    state.childrenAwaitingOwner[uid].insert(key.str());
  }
}

void releaseChildren(SyncState& state, const JsonValue& targetCopy) {
  if (state.childrenAwaitingOwner.empty()) return;
  const std::string_view uid =
      metadataEntry(targetCopy, "annotations", mapping::kSourceUidAnnotation);
  const auto it = state.childrenAwaitingOwner.find(std::string(uid));
  if (it == state.childrenAwaitingOwner.end()) return;
  const std::set<std::string> children = std::move(it->second);
  state.childrenAwaitingOwner.erase(it);
  if (state.stopping) return;
  for (const std::string& child : children) state.queue.add(child);
}

}  // namespace bisync::engine::internal
