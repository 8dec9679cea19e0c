// The Syncer's state, shared by syncer.cpp (wiring, start-up, shutdown) and reconciler.cpp
// (what one key's reconcile does). Private to syncer/engine. Loop-affine, like the Syncer.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mapping/identity_mapper.hpp"
#include "syncer/engine/event_recorder.hpp"
#include "syncer/engine/sync_key.hpp"
#include "syncer/engine/syncer.hpp"
#include "syncer/engine/work_queue.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/kube/informer.hpp"
#include "translators/translator.hpp"

namespace bisync::engine::internal {

// A write of ours whose watch event has not come back yet (loop prevention, layer 3).
struct PendingWrite {
  std::string hash;             // last-synced of what was written
  std::string resourceVersion;  // what the server answered
};

// One synced resource type: its translator, the informers of both sides and the indexes the
// reconciler needs.
struct ResourceSync {
  const translators::Translator* translator = nullptr;
  // Source informers by namespace: one per listed namespace, or one under "" for all.
  std::map<std::string, std::unique_ptr<kube::Informer>, std::less<>> source;
  // Target informer: only objects labelled managed-by this instance.
  std::unique_ptr<kube::Informer> target;
  // Source "ns/name" -> the target keys ("ns/name") whose origin annotations name it.
  std::unordered_map<std::string, std::set<std::string>> targetsBySource;
  // Target key -> our write not yet seen on the watch.
  std::unordered_map<std::string, PendingWrite> pendingWrites;

  const std::string& name() const { return translator->resource().resource; }
  kube::CachedObjectPtr sourceObject(const std::string& ns, const std::string& name) const;
};

enum class Outcome {
  Done,    // the key is in its desired state, or reported and left alone
  Parked,  // waits for its target namespace; re-queued when that namespace changes
  Retry,   // failed; re-queued with backoff
};

struct SyncState {
  SyncState(kube::Client& source, kube::Client& target, const translators::Registry& registry,
            mapping::IdentityMapper mapper, SyncerOptions options);

  kube::Client& sourceClient;
  kube::Client& targetClient;
  const translators::Registry& registry;
  const mapping::IdentityMapper mapper;
  const SyncerOptions options;

  std::unique_ptr<kube::Informer> sourceNamespaces;
  std::unique_ptr<kube::Informer> targetNamespaces;  // all of them: clashes must be visible
  std::map<std::string, ResourceSync, std::less<>> resources;

  WorkQueue queue;
  EventRecorder recorder;
  // Target namespaces created by us that the target informer has not shown yet: another
  // reconcile of the namespace key meanwhile must not create it again.
  std::set<std::string, std::less<>> namespacesCreating;
  // Target namespace -> queue keys parked until it exists and is usable.
  std::map<std::string, std::set<std::string>, std::less<>> waitingForNamespace;
  // Queue key -> why its last reconcile failed, for the retry log line.
  std::unordered_map<std::string, std::string> lastErrors;

  std::set<std::string> initialPending;  // keys of the initial sync not yet done
  bool workersStarted = false;
  bool ready = false;
  bool stopping = false;
  std::chrono::steady_clock::time_point startedAt;
  boost::asio::steady_timer progressTimer;
  SyncerStats stats;

  void enqueue(const SyncKey& key);
  void releaseWaiters(std::string_view targetNamespace);
  void park(std::string_view targetNamespace, const SyncKey& key);
};

// metadata.<field>[key] ("labels" or "annotations") as a string, "" when absent or malformed.
std::string_view metadataEntry(const kube::JsonValue& object, std::string_view field,
                               std::string_view key);
// True when `object` carries kube-bisync.io/managed-by: <this instance>. Namespaces have no
// per-object origin annotations (a Single-mode namespace is shared), so this is their test.
bool labelledAsOurs(const SyncState& state, const kube::JsonValue& object);

// What a reconcile of one key does (reconciler.cpp).
boost::asio::awaitable<Outcome> reconcile(SyncState& state, const SyncKey& key);

}  // namespace bisync::engine::internal
