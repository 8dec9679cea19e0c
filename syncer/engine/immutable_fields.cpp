// Copies the target refuses to change because a field of them is immutable, under the policy's
// `onImmutable: report`: reported once per write, and that write not tried again while it would
// be the same. (`recreate` replaces the copy: reconciler.cpp.) See docs/sync-engine.md
// ("Immutable fields of a copy").
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::JsonValue;

bool immutableRefusalStands(ResourceSync& sync, const std::string& sourceKey,
                            const kube::CachedObjectPtr& targetCached,
                            const std::string& lastSynced) {
  const auto it = sync.immutableRefusals.find(sourceKey);
  if (it == sync.immutableRefusals.end()) return false;
  if (targetCached && it->second.targetUid == targetCached->uid &&
      it->second.lastSynced == lastSynced) {
    return true;
  }
  sync.immutableRefusals.erase(it);
  return false;
}

asio::awaitable<void> reportImmutableRefusal(SyncState& state, ResourceSync& sync,
                                             const JsonValue& source,
                                             const kube::CachedObjectPtr& targetCached,
                                             const std::string& lastSynced,
                                             const kube::Error& error) {
  sync.immutableRefusals[kube::objectKey(source)] =
      ImmutableRefusal{std::string(targetCached->uid), lastSynced};
  // The source's version in the message: each refused version is an Event of its own (the
  // recorder drops repeats of one message).
  const std::string message =
      "the target refused to change " + std::string(targetCached->key) +
      " at source resourceVersion " + std::string(kube::resourceVersionOf(source)) +
      "; not retried until the source changes (onImmutable: report): " + error.message;
  co_await report(state, sync, source, kReasonImmutableField, message);
  co_await setSyncStatus(state, sync, source, kStatusRejected, message);
}

}  // namespace bisync::engine::internal
