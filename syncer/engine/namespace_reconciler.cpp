// The reconcile of a namespace key: the target namespace of one source namespace. See
// docs/sync-engine.md ("Namespaces") and docs/security.md. The short version:
//   - prefix mode: the syncer creates the target namespace with a POST and records its uid; a
//     namespace it did not create (AlreadyExists, or a uid the record does not hold) is foreign,
//     whatever its labels say, and nothing is synced into it;
//   - when the source namespace goes (or is no longer selected) the syncer deletes its copies
//     there, and the namespace itself only when nothing else is left in it;
//   - single mode: the one target namespace is configured; created if missing, never deleted.
#include <spdlog/spdlog.h>

#include <set>
#include <string>

#include "syncer/engine/internal/namespace_contents.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

// How many objects the syncer does not manage a "kept" report names.
constexpr std::size_t kLeftoversNamed = 5;

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
  if (!state.options.podSecurityLevel.empty()) {
    const mapping::Metadata podSecurity{
        {"pod-security.kubernetes.io/enforce", state.options.podSecurityLevel}};
    (void)mapping::mergeMetadata(object, allocator, "labels", podSecurity);
  }
  return object;
}

// POSTs the target namespace. An apply would merge into a namespace someone else made.
asio::awaitable<kube::Result<Json>> postNamespace(SyncState& state, const std::string& name,
                                                  const std::string& sourceNamespace) {
  const Json desired = namespaceObject(state, name, sourceNamespace);
  kube::WriteOptions options;
  options.fieldManager = state.options.fieldManager;
  const kube::ResourceInfo resource = kube::resources::namespaces();
  co_return co_await state.targetClient.create(resource, "", desired, options);
}

// Creates the prefix-mode namespace `targetName` and records it as ours.
asio::awaitable<Outcome> createNamespace(SyncState& state, const SyncKey& key,
                                         const std::string& targetName) {
  if (state.namespacesCreating.contains(targetName)) co_return Outcome::Done;
  // Marked before the POST: until it is recorded as ours, objects wait for it instead of taking
  // it for someone else's (its informer event may come before the record is written).
  state.namespacesCreating.insert(targetName);
  const kube::Result<Json> created = co_await postNamespace(state, targetName, key.ns);
  if (!created) state.namespacesCreating.erase(targetName);
  if (!created && created.error().isAlreadyExists()) {
    // Made by someone else since the cache last heard from the server: never adopted. The
    // namespace cache shows it shortly, and the next reconcile reports the clash.
    co_return fail(state, key,
                   "target namespace " + targetName + " was just created by someone else");
  }
  if (!created) {
    co_return fail(state, key,
                   "create namespace " + targetName + ": " + created.error().describe());
  }
  ++state.stats.namespaceWrites;
  const std::string uid(kube::uidOf(*created));
  // Named: g++ 12 miscompiles class temporaries in co_await expressions (docs/architecture.md).
  const OwnedNamespace entry{uid, key.ns};
  const kube::Result<void> recorded = co_await state.record->recordNamespace(targetName, entry);
  if (!recorded) {
    state.namespacesCreating.erase(targetName);
    // Unrecorded, the namespace could never be proven ours: take it back rather than leave it.
    const kube::ResourceInfo resource = kube::resources::namespaces();
    const kube::Result<bool> removed =
        co_await removeIncarnation(state.targetClient, resource, "", targetName, uid);
    if (!removed) {
      spdlog::error("target namespace {} was created but cannot be recorded or deleted: {}",
                    targetName, removed.error().describe());
    }
    co_return fail(state, key, recorded.error().describe());
  }
  // Seen already: its informer event came while the record was written, and left the mark.
  if (state.targetNamespaces->store().get(targetName)) state.namespacesCreating.erase(targetName);
  logWrite(state, "created namespace " + targetName + " (uid " + uid + ")");
  watchTargetNamespace(state, targetName);
  co_return Outcome::Done;
}

asio::awaitable<void> reportKept(SyncState& state, const kube::CachedObjectPtr& cached,
                                 const std::string& message) {
  ++state.stats.namespacesKept;
  spdlog::warn("{}: namespace {}: {}", kReasonNamespaceKept, cached->key, message);
  const Json involved = cached->parse();
  const kube::ResourceInfo resource = kube::resources::namespaces();
  co_await state.targetRecorder.record(resource, involved, EventType::Warning, kReasonNamespaceKept,
                                       message);
}

// Deletes every copy of ours in target namespace `targetName`; adds "<resource>/<name>" of each
// to `removed`. False (with the reason in `error`) when a delete failed.
asio::awaitable<bool> deleteCopiesIn(SyncState& state, const std::string& targetName,
                                     std::set<std::string>& removed, std::string& error) {
  for (auto& [resourceName, sync] : state.resources) {
    const kube::Informer* informer = sync.targetInformer(targetName);
    if (informer == nullptr) continue;
    const std::vector<kube::CachedObjectPtr> objects = informer->store().list();
    const kube::ResourceInfo& resource = sync.translator->resource();
    for (const kube::CachedObjectPtr& object : objects) {
      const Json json = object->parse();
      if (!ownsCopy(state, json)) continue;
      const std::string name(kube::nameOf(json));
      const kube::Result<bool> done =
          co_await removeIncarnation(state.targetClient, resource, targetName, name, object->uid);
      if (!done) {
        error = "delete " + resourceName + " " + std::string(object->key) + ": " +
                done.error().describe();
        co_return false;
      }
      if (*done) ++state.stats.target.deletes;
      removed.insert(resourceName + "/" + name);
    }
  }
  co_return true;
}

// A namespace of ours whose source namespace is gone or no longer selected: our copies go, and
// the namespace goes when nothing else is left in it; otherwise it is kept and reported.
asio::awaitable<Outcome> retireNamespace(SyncState& state, const SyncKey& key,
                                         const std::string& targetName,
                                         const kube::CachedObjectPtr& cached) {
  if (isTerminating(cached->parse())) co_return Outcome::Done;  // its deletion re-queues the key
  if (!targetNamespaceWatched(state, targetName)) {
    watchTargetNamespace(state, targetName);  // our copies must be known before anything goes
    state.park(targetName, key);
    co_return Outcome::Parked;
  }
  std::set<std::string> removed;
  std::string error;
  if (!co_await deleteCopiesIn(state, targetName, removed, error)) {
    co_return fail(state, key, error);
  }
  const NamespaceContents contents =
      co_await namespaceContents(state.targetClient, targetName, removed, kLeftoversNamed);
  const std::string why = state.sourceNamespaces->store().get(key.ns)
                              ? "source namespace " + key.ns + " is no longer synced"
                              : "source namespace " + key.ns + " is gone";
  if (!contents.error.empty() || !contents.others.empty()) {
    std::string message = "kept although " + why + ": ";
    if (!contents.error.empty()) {
      message += "cannot tell whether anything else is left in it (" + contents.error + ")";
    } else {
      message += "it holds objects kube-bisync does not manage:";
      for (const std::string& other : contents.others) message += " " + other;
      if (contents.more) message += " ...";
    }
    co_await reportKept(state, cached, message);
    state.queue.addAfter(key.str(), state.options.clashRecheck);
    co_return Outcome::Done;
  }
  const kube::ResourceInfo resource = kube::resources::namespaces();
  const kube::Result<bool> gone =
      co_await removeIncarnation(state.targetClient, resource, "", targetName, cached->uid);
  if (!gone) {
    co_return fail(state, key, "delete namespace " + targetName + ": " + gone.error().describe());
  }
  ++state.stats.namespaceWrites;
  logWrite(state, "deleted namespace " + targetName + " (" + why + ")");
  co_return Outcome::Done;  // the record forgets it once it is gone
}

// The record holds `targetName`, which is gone: forget it, and what was copied up from it.
asio::awaitable<Outcome> forgetGoneNamespace(SyncState& state, const SyncKey& key,
                                             const std::string& targetName) {
  for (const CopiedUp& entry : state.record->copiedUpIn(targetName)) {
    if (const kube::Result<void> done = co_await state.record->forgetCopiedUp(entry); !done) {
      co_return fail(state, key, done.error().describe());
    }
  }
  if (const kube::Result<void> done = co_await state.record->forgetNamespace(targetName); !done) {
    co_return fail(state, key, done.error().describe());
  }
  co_return Outcome::Done;
}

asio::awaitable<Outcome> reconcileSharedNamespace(SyncState& state, const SyncKey& key) {
  const std::string& targetName = state.mapper.config().targetNamespace;
  const kube::CachedObjectPtr cached = state.targetNamespaces->store().get(targetName);
  if (cached) {
    if (targetNamespaceWatched(state, targetName)) state.releaseWaiters(targetName);
    co_return Outcome::Done;
  }
  if (state.namespacesCreating.contains(targetName)) co_return Outcome::Done;
  const kube::Result<Json> created = co_await postNamespace(state, targetName, key.ns);
  // The configured namespace is ours to use whoever made it; it is never deleted.
  if (!created && !created.error().isAlreadyExists()) {
    co_return fail(state, key,
                   "create namespace " + targetName + ": " + created.error().describe());
  }
  if (created) {
    ++state.stats.namespaceWrites;
    logWrite(state, "created namespace " + targetName);
  }
  state.namespacesCreating.insert(targetName);
  co_return Outcome::Done;  // parked objects are released when the informer sees it
}

}  // namespace

asio::awaitable<Outcome> reconcileNamespace(SyncState& state, const SyncKey& key) {
  if (state.mapper.config().mode == mapping::NamespaceMode::Single) {
    co_return co_await reconcileSharedNamespace(state, key);
  }
  const std::string targetName = state.mapper.targetNamespace(key.ns);
  const kube::CachedObjectPtr sourceNs = state.sourceNamespaces->store().get(key.ns);
  const bool wanted =
      state.options.namespaces.selects(key.ns) && sourceNs && !isTerminating(sourceNs->parse());
  const kube::CachedObjectPtr cached = state.targetNamespaces->store().get(targetName);
  const bool recorded = state.record->findNamespace(targetName) != nullptr;
  const bool owned = cached && state.record->ownsNamespace(targetName, cached->uid);

  if (!wanted) {
    if (owned) co_return co_await retireNamespace(state, key, targetName, cached);
    if (recorded && !cached) co_return co_await forgetGoneNamespace(state, key, targetName);
    co_return Outcome::Done;  // nothing of ours there
  }
  if (!cached) co_return co_await createNamespace(state, key, targetName);
  if (!owned) {
    unwatchTargetNamespace(state, targetName);
    const Json source = sourceNs->parse();
    const std::string message =
        "target namespace " + targetName + " exists and was not created by " +
        state.mapper.config().clusterName +
        (recorded ? " (it was deleted and made again by someone else)" : "") +
        "; not syncing into it";
    co_return co_await reportClash(state, state.targetNamespaces->resource(), key, source, message);
  }
  if (isTerminating(cached->parse())) co_return Outcome::Done;  // its deletion re-queues the key
  watchTargetNamespace(state, targetName);  // released when its informers have listed
  if (targetNamespaceWatched(state, targetName)) state.releaseWaiters(targetName);
  co_return Outcome::Done;
}

}  // namespace bisync::engine::internal
