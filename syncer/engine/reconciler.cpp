// The reconcile of one key: make the target hold what the source says, from the current
// state of both caches. See docs/sync-engine.md for the rules; the short version:
//   - write only when the target differs (content, origin metadata, or last-synced);
//   - never touch a target object that is not ours: report the clash and leave it;
//   - delete with a uid precondition, so only the incarnation we saw is deleted.
#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "syncer/engine/drift.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

bool isTerminating(const JsonValue& object) {
  return kube::at(object, "/metadata/deletionTimestamp") != nullptr ||
         kube::stringAt(object, "/status/phase") == "Terminating";
}

// Kubernetes answers that retrying the same write cannot fix: the user must change something.
bool isRejection(const kube::Error& error) {
  return error.kind == kube::ErrorKind::Api && error.httpStatus >= 400 && error.httpStatus < 500 &&
         !error.isConflict() && !error.isTooManyRequests() && !error.isNotFound();
}

enum class NamespaceState { Missing, Terminating, Foreign, Usable };

// `ns` is the target namespace as cached, nullptr when the cache has none.
NamespaceState namespaceState(const SyncState& state, const JsonValue* ns) {
  if (ns == nullptr) return NamespaceState::Missing;
  if (isTerminating(*ns)) return NamespaceState::Terminating;
  // A prefix-mode namespace belongs to one source namespace, so it must be ours; the
  // single-mode namespace is shared and may well be the user's.
  if (state.mapper.config().mode == mapping::NamespaceMode::Prefix && !labelledAsOurs(state, *ns)) {
    return NamespaceState::Foreign;
  }
  return NamespaceState::Usable;
}

NamespaceState targetNamespaceState(const SyncState& state, std::string_view name) {
  const kube::CachedObjectPtr cached = state.targetNamespaces->store().get(name);
  if (!cached) return NamespaceState::Missing;
  const Json ns = cached->parse();
  return namespaceState(state, &ns);
}

Outcome fail(SyncState& state, const SyncKey& key, std::string reason) {
  state.lastErrors[key.str()] = std::move(reason);
  return Outcome::Retry;
}

void logWrite(const SyncState& state, std::string_view what) {
  if (state.options.logWrites) spdlog::info("{}", what);
}

asio::awaitable<Outcome> reportClash(SyncState& state, const kube::ResourceInfo& resource,
                                     const SyncKey& key, const JsonValue& source,
                                     const std::string& message) {
  ++state.stats.clashes;
  spdlog::warn("clash: {}", message);
  const std::string_view reason = kReasonNameClash;
  co_await state.recorder.record(resource, source, EventType::Warning, reason, message);
  // The object in the way is not in our caches, so no event will say when it is gone.
  state.queue.addAfter(key.str(), state.options.clashRecheck);
  co_return Outcome::Done;
}

// Deletes the target object cached under `targetKey` if its origin is `key`.
asio::awaitable<Outcome> deleteTarget(SyncState& state, ResourceSync& sync,
                                      const std::string& targetKey, const SyncKey& key) {
  const kube::CachedObjectPtr cached = sync.target->store().get(targetKey);
  if (!cached) co_return Outcome::Done;
  const Json object = cached->parse();
  const auto origin = state.mapper.originOf(object);
  if (!origin || origin->ns != key.ns || origin->name != key.name) co_return Outcome::Done;

  const std::string ns(kube::namespaceOf(object));
  const std::string name(kube::nameOf(object));
  kube::DeleteOptions options;
  options.uid = cached->uid;  // never a newer incarnation someone else created
  const kube::ResourceInfo& resource = sync.translator->resource();
  const kube::Result<void> removed =
      co_await state.targetClient.remove(resource, ns, name, options);
  sync.pendingWrites.erase(targetKey);
  if (!removed && !removed.error().isNotFound()) {
    co_return fail(state, key, "delete " + targetKey + ": " + removed.error().describe());
  }
  if (removed) {
    ++state.stats.deletes;
    logWrite(state, "deleted " + sync.name() + " " + targetKey);
  }
  co_return Outcome::Done;
}

asio::awaitable<Outcome> reconcileObject(SyncState& state, ResourceSync& sync, const SyncKey& key) {
  const translators::Translator& translator = *sync.translator;
  const kube::ResourceInfo& resource = translator.resource();
  const std::string sourceKey = kube::objectKey(key.ns, key.name);

  // A source namespace being deleted takes its objects with it: do not copy them any more.
  // One the namespace cache has not seen yet (it lags the object's informer) is waited for.
  const kube::CachedObjectPtr sourceNamespace = state.sourceNamespaces->store().get(key.ns);
  const bool namespaceGoing = sourceNamespace && isTerminating(sourceNamespace->parse());
  std::optional<Json> source;
  if (state.options.namespaces.selects(key.ns) && !namespaceGoing) {
    if (const kube::CachedObjectPtr cached = sync.sourceObject(key.ns, key.name)) {
      source = cached->parse();
      if (!translator.shouldSync(*source)) source.reset();
    }
  }
  const mapping::TargetKey target =
      state.mapper.toTarget(mapping::SourceKey{key.ns, key.name}, translator.nameLimit());
  const std::string targetKey = kube::objectKey(target.ns, target.name);

  // Our target objects of this source that should not exist (any, once the source is gone;
  // ones at another name, after a mapping change).
  Outcome outcome = Outcome::Done;
  if (auto it = sync.targetsBySource.find(sourceKey); it != sync.targetsBySource.end()) {
    std::vector<std::string> unwanted;
    for (const std::string& existing : it->second) {
      if (!source || existing != targetKey) unwanted.push_back(existing);
    }
    for (const std::string& existing : unwanted) {
      if (co_await deleteTarget(state, sync, existing, key) == Outcome::Retry) {
        outcome = Outcome::Retry;
      }
    }
  }
  if (!source || outcome == Outcome::Retry) co_return outcome;
  if (!sourceNamespace) {
    state.park(target.ns, key);  // released when the namespace key creates the target one
    co_return Outcome::Parked;
  }

  switch (targetNamespaceState(state, target.ns)) {
    case NamespaceState::Usable: break;
    case NamespaceState::Missing:
      state.enqueue(SyncKey::namespaceKey(key.ns));
      state.park(target.ns, key);
      co_return Outcome::Parked;
    case NamespaceState::Terminating:
      state.park(target.ns, key);  // its deletion event brings it back
      co_return Outcome::Parked;
    case NamespaceState::Foreign:
      state.park(target.ns, key);  // the namespace key reports the clash
      co_return Outcome::Done;
  }

  kube::Result<Json> translated = translator.toTarget(*source, state.mapper);
  if (!translated) {
    // Retrying cannot help; a change of the source re-queues the key.
    spdlog::warn("cannot translate {}: {}", key.describe(), translated.error().describe());
    const std::string message = translated.error().message;
    const std::string_view reason = kReasonSyncFailed;
    co_await state.recorder.record(resource, *source, EventType::Warning, reason, message);
    co_return Outcome::Done;
  }
  Json& desired = *translated;
  const std::string hash = mapping::contentHash(desired);
  if (auto stamped = mapping::setLastSynced(desired, desired.GetAllocator(), hash); !stamped) {
    co_return fail(state, key, stamped.error().describe());
  }
  const std::vector<std::string>& fields = translator.contentFields();

  bool force = true;  // take back fields other managers changed (drift)
  std::string cachedVersion;
  if (const kube::CachedObjectPtr cached = sync.target->store().get(targetKey)) {
    const Json actual = cached->parse();
    cachedVersion = cached->resourceVersion;
    const auto origin = state.mapper.originOf(actual);
    if (origin && (origin->ns != key.ns || origin->name != key.name)) {
      const std::string message = "target " + sync.name() + " " + targetKey +
                                  " already holds the copy of " + origin->ns + "/" + origin->name;
      co_return co_await reportClash(state, resource, key, *source, message);
    }
    // A write of ours that the watch has not brought back yet: the cache is behind, not wrong.
    if (auto pending = sync.pendingWrites.find(targetKey);
        pending != sync.pendingWrites.end() && pending->second.hash == hash) {
      ++state.stats.unchanged;
      co_return Outcome::Done;
    }
    if (mapping::lastSyncedOf(actual) == hash && matchesDesired(actual, desired, fields)) {
      ++state.stats.unchanged;
      co_return Outcome::Done;
    }
  } else {
    // Our cache holds only objects labelled as ours: look before writing, so that an object
    // someone else created under this name is never taken over.
    ++state.stats.lookups;
    const kube::Result<Json> existing =
        co_await state.targetClient.get(resource, target.ns, target.name);
    if (existing) {
      const auto origin = state.mapper.originOf(*existing);
      if (!origin || origin->ns != key.ns || origin->name != key.name) {
        const std::string owner(metadataEntry(*existing, "labels", mapping::kManagedByLabel));
        const std::string message =
            "target " + sync.name() + " " + targetKey + " exists and is not managed by " +
            state.mapper.config().clusterName +
            (owner.empty() ? std::string(" (no kube-bisync origin metadata)")
                           : " (managed by " + owner + ")") +
            "; leaving it untouched";
        co_return co_await reportClash(state, resource, key, *source, message);
      }
    } else if (existing.error().isNotFound()) {
      force = false;  // creating: a conflict means someone created it since the GET
    } else {
      co_return fail(state, key, "get " + targetKey + ": " + existing.error().describe());
    }
  }

  kube::ApplyOptions applyOptions;
  applyOptions.fieldManager = state.options.fieldManager;
  applyOptions.force = force;
  kube::Result<Json> applied =
      co_await state.targetClient.apply(resource, target.ns, target.name, desired, applyOptions);
  if (!applied) {
    const kube::Error& error = applied.error();
    const std::string message = error.describe();
    if (isRejection(error)) {
      const std::string_view reason = kReasonSyncFailed;
      const std::string eventMessage = "the target rejected " + targetKey + ": " + error.message;
      co_await state.recorder.record(resource, *source, EventType::Warning, reason, eventMessage);
    }
    co_return fail(state, key, "apply " + targetKey + ": " + message);
  }
  ++state.stats.applies;
  logWrite(state, "applied " + sync.name() + " " + sourceKey + " -> " + targetKey);

  // Keys another manager added to a map the source owns survive an apply: remove them.
  if (!matchesDesired(*applied, desired, fields)) {
    if (const auto patch = foreignKeysRemovalPatch(*applied, desired, fields)) {
      kube::PatchOptions patchOptions;
      patchOptions.fieldManager = state.options.fieldManager;
      kube::Result<Json> patched = co_await state.targetClient.patch(
          resource, target.ns, target.name, kube::PatchType::Merge, *patch, patchOptions);
      if (!patched) {
        co_return fail(state, key, "patch " + targetKey + ": " + patched.error().describe());
      }
      ++state.stats.patches;
      logWrite(state, "removed foreign keys from " + sync.name() + " " + targetKey);
      applied = std::move(patched);
    }
  }
  // An apply that changed nothing keeps the resourceVersion and sends no watch event.
  const std::string written(kube::resourceVersionOf(*applied));
  if (written != cachedVersion) sync.pendingWrites[targetKey] = PendingWrite{hash, written};
  co_return Outcome::Done;
}

Json namespaceObject(const SyncState& state, const std::string& name,
                     const std::string& sourceNamespace) {
  Json object(rapidjson::kObjectType);
  auto& allocator = object.GetAllocator();
  object.AddMember("apiVersion", "v1", allocator);
  object.AddMember("kind", "Namespace", allocator);
  JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", JsonValue(name.c_str(), allocator), allocator);
  object.AddMember("metadata", metadata, allocator);
  // Cannot fail: metadata is an object we just built.
  (void)mapping::mergeMetadata(object, allocator, "labels",
                               state.mapper.namespaceLabels(sourceNamespace));
  (void)mapping::mergeMetadata(object, allocator, "annotations",
                               state.mapper.namespaceAnnotations(sourceNamespace));
  return object;
}

asio::awaitable<Outcome> reconcileNamespace(SyncState& state, const SyncKey& key) {
  const kube::ResourceInfo& resource = state.targetNamespaces->resource();
  const std::string targetName = state.mapper.targetNamespace(key.ns);
  const kube::CachedObjectPtr sourceNs = state.sourceNamespaces->store().get(key.ns);
  const bool wanted =
      state.options.namespaces.selects(key.ns) && sourceNs && !isTerminating(sourceNs->parse());
  const kube::CachedObjectPtr cached = state.targetNamespaces->store().get(targetName);

  if (!wanted) {
    // Only a prefix-mode namespace of ours that belongs to this source namespace goes.
    if (state.mapper.config().mode != mapping::NamespaceMode::Prefix || !cached) {
      co_return Outcome::Done;
    }
    const Json ns = cached->parse();
    if (!labelledAsOurs(state, ns) || isTerminating(ns) ||
        metadataEntry(ns, "annotations", mapping::kSourceNamespaceAnnotation) != key.ns) {
      co_return Outcome::Done;
    }
    kube::DeleteOptions options;
    options.uid = cached->uid;
    const kube::Result<void> removed =
        co_await state.targetClient.remove(resource, "", targetName, options);
    if (!removed && !removed.error().isNotFound()) {
      co_return fail(state, key,
                     "delete namespace " + targetName + ": " + removed.error().describe());
    }
    ++state.stats.namespaceWrites;
    logWrite(state,
             "deleted namespace " + targetName + " (source namespace " + key.ns + " is gone)");
    co_return Outcome::Done;
  }

  if (!cached) {
    if (state.namespacesCreating.contains(targetName)) co_return Outcome::Done;
    const Json desired = namespaceObject(state, targetName, key.ns);
    kube::ApplyOptions options;
    options.fieldManager = state.options.fieldManager;
    const kube::Result<Json> applied =
        co_await state.targetClient.apply(resource, "", targetName, desired, options);
    if (!applied) {
      co_return fail(state, key,
                     "create namespace " + targetName + ": " + applied.error().describe());
    }
    ++state.stats.namespaceWrites;
    state.namespacesCreating.insert(targetName);
    logWrite(state, "created namespace " + targetName);
    co_return Outcome::Done;  // parked objects are released when the informer sees it
  }
  const Json ns = cached->parse();
  const NamespaceState nsState = namespaceState(state, &ns);
  if (nsState == NamespaceState::Terminating) co_return Outcome::Done;  // deletion re-queues it
  if (nsState == NamespaceState::Foreign) {
    const Json source = sourceNs->parse();
    const std::string message = "target namespace " + targetName +
                                " exists and is not managed by " +
                                state.mapper.config().clusterName + "; not syncing into it";
    co_return co_await reportClash(state, resource, key, source, message);
  }
  state.releaseWaiters(targetName);
  co_return Outcome::Done;
}

}  // namespace

std::string_view metadataEntry(const JsonValue& object, std::string_view field,
                               std::string_view key) {
  const JsonValue* metadata = kube::member(object, "metadata");
  const JsonValue* entries = metadata != nullptr ? kube::member(*metadata, field) : nullptr;
  return entries != nullptr ? kube::stringMember(*entries, key) : std::string_view();
}

bool labelledAsOurs(const SyncState& state, const JsonValue& object) {
  return metadataEntry(object, "labels", mapping::kManagedByLabel) ==
         state.mapper.config().clusterName;
}

asio::awaitable<Outcome> reconcile(SyncState& state, const SyncKey& key) {
  if (key.isNamespace()) co_return co_await reconcileNamespace(state, key);
  const auto it = state.resources.find(key.resource);
  if (it == state.resources.end()) co_return Outcome::Done;  // not a resource we sync
  co_return co_await reconcileObject(state, it->second, key);
}

}  // namespace bisync::engine::internal
