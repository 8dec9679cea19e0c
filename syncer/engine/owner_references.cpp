// Owner references of target copies. A source object's ownerReferences name objects of the
// source cluster by uid; on the target those uids mean nothing. A reference to an owner the
// syncer also syncs (same namespace, a kind it syncs) is rewritten to the owner's target copy,
// its name and its uid there, so that the target's garbage collector deletes the copies of the
// children with the copy of their parent, as the source's does. References to anything else are
// dropped: the syncer manages the copy's lifetime itself. `controller` and `blockOwnerDeletion`
// are kept. docs/sync-engine.md ("Owner references").
#include <set>
#include <string_view>

#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

using kube::Json;
using kube::JsonValue;

namespace {

// "apps" of "apps/v1", "" of "v1".
std::string_view groupOf(std::string_view apiVersion) {
  const auto slash = apiVersion.find('/');
  return slash == std::string_view::npos ? std::string_view() : apiVersion.substr(0, slash);
}

// The synced kind of an owner reference's apiVersion and kind (any version of the group).
const ResourceSync* syncedKindOf(const SyncState& state, const JsonValue& reference) {
  const std::string_view group = groupOf(kube::stringMember(reference, "apiVersion"));
  const std::string_view kind = kube::stringMember(reference, "kind");
  for (const auto& [name, sync] : state.resources) {
    const kube::ResourceInfo& resource = sync.translator->resource();
    // A namespaced child's copy cannot name a cluster-scoped mirror (it lives on the source).
    if (!sync.clusterScoped && resource.group == group && resource.kind == kind) return &sync;
  }
  return nullptr;
}

// The target copy (ours) of the source owner `name` with uid `uid` in source namespace `ns`.
kube::CachedObjectPtr ownerCopy(const SyncState& state, const ResourceSync& owner,
                                const std::string& ns, std::string_view name,
                                std::string_view uid) {
  const mapping::TargetKey target = state.mapper.toTarget(mapping::SourceKey{ns, std::string(name)},
                                                          owner.translator->nameLimit());
  kube::CachedObjectPtr cached = owner.targetObject(kube::objectKey(target.ns, target.name));
  if (!cached) return nullptr;
  const Json copy = cached->parse();
  const auto origin = state.mapper.originOf(copy);
  if (!ownsCopy(state, copy) || origin->ns != ns || origin->name != name || origin->uid != uid) {
    return nullptr;
  }
  return cached;
}

// The rewritten reference to `copy`, of `owner`'s kind, keeping the source's flags.
JsonValue referenceTo(const ResourceSync& owner, const kube::CachedObjectPtr& copy,
                      const JsonValue& reference, Json::AllocatorType& allocator) {
  const kube::ResourceInfo& resource = owner.translator->resource();
  const std::string_view key = copy->key;
  JsonValue out(rapidjson::kObjectType);
  out.AddMember("apiVersion", kube::stringValue(resource.apiVersion(), allocator), allocator);
  out.AddMember("kind", kube::stringValue(resource.kind, allocator), allocator);
  out.AddMember("name", kube::stringValue(key.substr(key.find('/') + 1), allocator), allocator);
  out.AddMember("uid", kube::stringValue(copy->uid, allocator), allocator);
  for (const char* flag : {"controller", "blockOwnerDeletion"}) {
    const JsonValue* value = kube::member(reference, flag);
    if (value != nullptr && value->IsBool()) {
      out.AddMember(JsonValue(flag, allocator), JsonValue(value->GetBool()), allocator);
    }
  }
  return out;
}

}  // namespace

OwnerLinks ownerLinks(const SyncState& state, const SyncKey& key, const JsonValue& source) {
  OwnerLinks links;
  const JsonValue* references = kube::at(source, "/metadata/ownerReferences");
  if (references == nullptr || !references->IsArray()) return links;
  auto& allocator = links.references.GetAllocator();
  // Server-side apply keys the list by uid: one reference per owner, whatever the source holds.
  std::set<std::string_view> seen;
  for (const JsonValue& reference : references->GetArray()) {
    if (!reference.IsObject()) continue;
    const ResourceSync* owner = syncedKindOf(state, reference);
    const std::string_view name = kube::stringMember(reference, "name");
    const std::string_view uid = kube::stringMember(reference, "uid");
    if (owner == nullptr || name.empty() || uid.empty()) continue;  // not synced: dropped
    if (!seen.insert(uid).second) continue;
    if (const kube::CachedObjectPtr copy = ownerCopy(state, *owner, key.ns, name, uid)) {
      links.references.PushBack(referenceTo(*owner, copy, reference, allocator), allocator);
    } else {
      links.pendingOwners.emplace_back(uid);  // its copy is not there (yet)
    }
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
