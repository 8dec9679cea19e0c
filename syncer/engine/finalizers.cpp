// The syncer's finalizer on the source objects it copies down (finalizer.hpp has the rules and
// the patches; docs/sync-engine.md, "Finalizer"): the reconcile of an object adds it, holds the
// source's deletion until the copy is gone, and takes it off again.
#include <spdlog/spdlog.h>

#include "syncer/engine/finalizer.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;

bool syncsDown(const policies::SyncPolicy& policy) {
  return policy.direction == policies::Direction::Down ||
         policy.direction == policies::Direction::Bidirectional;
}

// The target object cached under `targetKey` is our copy of `key` (whatever its state).
bool isOurCopyOf(const SyncState& state, const ResourceSync& sync, const std::string& targetKey,
                 const SyncKey& key) {
  const kube::CachedObjectPtr cached = sync.targetObject(targetKey);
  if (!cached) return false;
  const Json object = cached->parse();
  const auto origin = state.mapper.originOf(object);
  return ownsCopy(state, object) && origin && origin->ns == key.ns && origin->name == key.name;
}

// A copy of ours of `key` is still on the target: at its key or at a misplaced one.
bool copyPresent(const SyncState& state, const ResourceSync& sync, const SyncKey& key,
                 const std::string& targetKey) {
  if (isOurCopyOf(state, sync, targetKey, key)) return true;
  const auto misplaced = sync.misplacedCopies.find(kube::objectKey(key.ns, key.name));
  if (misplaced == sync.misplacedCopies.end()) return false;
  for (const std::string& other : misplaced->second) {
    if (isOurCopyOf(state, sync, other, key)) return true;
  }
  return false;
}

// Adds or removes our finalizer on `source`; false (the failure recorded) when it failed.
asio::awaitable<bool> writeFinalizer(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                     const kube::JsonValue& source, bool present) {
  const kube::Result<FinalizerWrite> written =
      co_await setFinalizer(state.sourceClient, sync.sourceResource, source, kCleanupFinalizer,
                            present, state.options.fieldManager);
  const std::string what = std::string(present ? "add" : "remove") + " finalizer " +
                           std::string(kCleanupFinalizer) + " on " + sync.name() + " " +
                           kube::objectKey(key.ns, key.name);
  if (!written) {
    fail(state, key, what + ": " + written.error().describe());
    co_return false;
  }
  if (written->written) {
    ++state.stats.source.patches;
    recordPendingWrite(sync.pendingSourceWrites, kube::objectKey(key.ns, key.name),
                       written->resourceVersion);
    logWrite(state, what);
  }
  co_return true;
}

}  // namespace

asio::awaitable<std::optional<Outcome>> guardWithFinalizer(
    SyncState& state, ResourceSync& sync, const SyncKey& key, const mapping::TargetKey& target,
    const kube::CachedObjectPtr& sourceCached, bool sourceSynced, bool copiedUp) {
  if (!sourceCached) co_return std::nullopt;
  const Json source = sourceCached->parse();
  const std::string targetKey = kube::objectKey(target.ns, target.name);
  FinalizerInputs inputs;
  // A Pod needs none: once it ran, no kubelet ends its deletion but the syncer (pods.cpp).
  inputs.enabled = state.options.finalizer && !syncsPods(sync);
  // A source copied up from a target object (createOnSource) has no copy of ours to guard.
  inputs.syncsDown = syncsDown(sync.policy) && !copiedUp;
  inputs.sourceSynced = sourceSynced;
  inputs.terminating = isTerminating(source);
  inputs.hasOurs = hasFinalizer(source, kCleanupFinalizer);
  // Only a source that has ours and is no longer synced asks about the copy (a parse of it).
  inputs.copyPresent = inputs.hasOurs && !sourceSynced && copyPresent(state, sync, key, targetKey);
  switch (decideFinalizer(inputs)) {
    case FinalizerStep::None: co_return std::nullopt;
    case FinalizerStep::WaitForCopy:
      // Deleted by deleteUnwanted (or being deleted by someone): its deletion event comes back.
      spdlog::debug("{} {}: waiting for its target copy to be deleted", sync.name(),
                    key.describe());
      co_return Outcome::Done;
    case FinalizerStep::Add:
      if (!co_await writeFinalizer(state, sync, key, source, true)) co_return Outcome::Retry;
      co_return std::nullopt;
    case FinalizerStep::Remove: break;
  }
  // No copy in the cache proves nothing while the namespace's informers have not listed.
  if (!sourceSynced && ownsCachedNamespace(state, target.ns) &&
      !targetNamespaceWatched(state, target.ns)) {
    state.park(target.ns, key);
    co_return Outcome::Parked;
  }
  if (!co_await writeFinalizer(state, sync, key, source, false)) co_return Outcome::Retry;
  if (inputs.terminating) co_return Outcome::Done;  // the API server deletes it now
  co_return std::nullopt;
}

asio::awaitable<Outcome> reportCleanupFailure(SyncState& state, ResourceSync& sync,
                                              const SyncKey& key,
                                              const kube::CachedObjectPtr& sourceCached) {
  if (!sourceCached) co_return Outcome::Retry;
  const Json source = sourceCached->parse();
  if (!isTerminating(source) || !hasFinalizer(source, kCleanupFinalizer)) {
    co_return Outcome::Retry;
  }
  const auto error = state.lastErrors.find(key.str());
  const std::string why = error != state.lastErrors.end() ? error->second : "unknown error";
  const std::string message = "the object is being deleted, but its target copy cannot be: " + why +
                              "; finalizer " + std::string(kCleanupFinalizer) +
                              " keeps it until the copy is gone (retried with backoff)";
  co_await report(state, sync, source, kReasonCleanupFailed, message);
  co_await setSyncStatus(state, sync, source, kStatusCleanupFailed, message);
  co_return Outcome::Retry;
}

}  // namespace bisync::engine::internal
