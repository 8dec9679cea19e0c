// Pending writes (loop prevention, layer 3): the writes of ours whose watch events the caches
// have not shown yet, and whether a reconcile must wait for them. Shared by the resource syncs
// and the node mirror.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "syncer/kube/informer.hpp"

namespace bisync::engine::internal {

// resourceVersion `version` is at or after `written`: numerically where both are numbers (as
// etcd's are), otherwise only when equal.
bool versionAtLeast(std::string_view version, std::string_view written);

// A write of ours whose watch event has not come back yet (loop prevention, layer 3). Until it
// has, the cache is behind our own write: a reconcile then waits for the event (`deferred`)
// instead of merging against stale data.
struct PendingWrite {
  std::string resourceVersion;               // what the server answered
  std::chrono::steady_clock::time_point at;  // a lost event must not stall the key for ever
  bool deferred = false;                     // a reconcile waits for this event
  // Not empty: the write was the deletion of this incarnation, and the cache has seen it once it
  // no longer holds that uid (until then a reconcile would act on an object that is gone, and
  // an apply to it would create it anew).
  std::string deletedUid = {};
  // The write answered with no object (a Pod's Binding): `resourceVersion` is the one it was
  // made against, and the cache has caught up at any later one.
  bool beyond = false;
};

// Remembers our write of the object cached under `key` at `resourceVersion`.
void recordPendingWrite(std::unordered_map<std::string, PendingWrite>& pending,
                        const std::string& key, std::string_view resourceVersion);
// Remembers our deletion of incarnation `uid` of the object cached under `key`.
void recordPendingDeletion(std::unordered_map<std::string, PendingWrite>& pending,
                           const std::string& key, std::string_view uid);
// Remembers our binding of the Pod cached under `key` at `boundVersion`: a Binding's answer
// carries no Pod, so the cache has caught up once it holds a later version.
void recordPendingBinding(std::unordered_map<std::string, PendingWrite>& pending,
                          const std::string& key, std::string_view boundVersion);
// Whether a cache has caught up with our `write` of an object: `cached` is the object as it holds
// it (nullptr: not there), `cacheVersion` the last resourceVersion its informer has seen ("" when
// it has not listed). An object deleted right after our write can be gone from the cache before
// the write's answer is handled, and never show the written version: an informer that has seen
// a later version of its namespace has seen the write (chaos seed 4 waited out the expiry).
bool ownWriteCaughtUp(const PendingWrite& write, const kube::CachedObject* cached,
                      std::string_view cacheVersion);
// The time until our write to the object cached under `key` is forgotten, while the cache has
// not caught up with it (`informer`: the cache's, nullptr when it has none): a reconcile now
// would merge against data older than what we wrote. The write's own watch event re-queues the
// key; a lost one is covered by the expiry. Forgets a write the cache has caught up with.
std::optional<std::chrono::steady_clock::duration> waitForOwnWrite(
    std::unordered_map<std::string, PendingWrite>& pending, const std::string& key,
    const kube::CachedObjectPtr& cached, const kube::Informer* informer);

}  // namespace bisync::engine::internal
