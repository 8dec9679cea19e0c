// Syncer: the sync engine for one source -> target pair. It owns the informers of both sides
// (namespaces, and every synced resource), the work queue and the reconciler, and wires them
// as client-go controllers do: informer events (from either side) become source keys in the
// queue; workers reconcile each key from the current state of both caches (level-triggered,
// events are only hints).
//
// Start-up: each kind to sync is looked up in both servers' discovery; informers of the kinds
// both serve list and watch; once every cache has synced, the keys of all source objects and of
// all managed target objects are reconciled once (the "initial sync": this also deletes target
// objects whose source vanished while the syncer was down), with a progress log line; then
// ready() turns true. Kinds not served yet do not hold that up: they are looked up again every
// discoveryInterval and start syncing, with their own first list, once both servers serve them.
// Under leader election (options.waitForLeadership) a follower stops after its caches have
// synced: the initial sync and the workers wait for startLeading().
//
// Loop-affine: everything runs on the io_context of the two Clients (they must share it);
// call start() and shutdown() from that thread (or start() before the loop runs).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "mapping/identity_mapper.hpp"
#include "policies/policy.hpp"
#include "syncer/engine/work_queue.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/kube/discovery.hpp"
#include "translators/translator.hpp"

namespace bisync::engine {

namespace internal {
struct SyncState;
}

// Which source namespaces are synced: the listed ones, or (when the list is empty) every
// namespace except the excluded system ones.
struct NamespaceSelection {
  std::vector<std::string> names;
  std::vector<std::string> excluded{"kube-system", "kube-public", "kube-node-lease"};
  bool selects(std::string_view ns) const;
};

struct SyncerOptions {
  NamespaceSelection namespaces;
  // The kinds to sync (--resources, and the kind of every policy file), each resolved through
  // both servers' discovery when the syncer starts; one not served by both yet is looked up
  // again every discoveryInterval and starts syncing once it is.
  std::vector<kube::ResourceSpec> resources{{"configmaps", "", "", "configmaps", ""},
                                            {"secrets", "", "", "secrets", ""}};
  std::chrono::milliseconds discoveryInterval{10000};
  // The SyncPolicy of each resource type (policies::withDefaults: one per kind). A synced
  // kind without one here uses policies::genericPolicy.
  std::vector<policies::SyncPolicy> policies;
  std::size_t workers = 4;
  // The server-side apply field manager: one per instance ("kube-bisync/<cluster-name>", set by
  // the daemon), so that two instances on one host never merge into each other's fields.
  std::string fieldManager = "kube-bisync";
  // The target namespace that holds this instance's ownership record (the ConfigMap
  // kube-bisync-ownership-<cluster-name>): which target namespaces it created, and which source
  // objects it copied up from which target objects. Only the syncer and host admins may write
  // there (docs/security.md).
  std::string stateNamespace = "default";
  bool logWrites = false;  // a log line per write (-v 2)
  std::chrono::milliseconds progressInterval{2000};
  // How often a key blocked by a clash (an object the syncer must not touch) is looked at
  // again: the blocking object is not in the syncer's caches, so no event says it is gone.
  std::chrono::milliseconds clashRecheck{60000};
  // Fight detection: a key whose target copy someone else rewrites more than fightThreshold
  // times within fightWindow (each time the syncer restores it) is left alone for
  // fightBackoff, doubling with every further fight up to fightBackoffMax.
  int fightThreshold = 5;
  std::chrono::milliseconds fightWindow{30000};
  std::chrono::milliseconds fightBackoff{5000};
  std::chrono::milliseconds fightBackoffMax{300000};
  // The most objects of one kind a source namespace may have copied, for kinds whose policy sets
  // no limits.maxObjectsPerNamespace (--max-objects-per-namespace); 0: no limit.
  std::size_t maxObjectsPerNamespace = 0;
  // --pod-security-level: the Pod Security Standard level ("baseline", ...) the target namespaces
  // the syncer creates carry as pod-security.kubernetes.io/enforce; empty: none. What a Pod may
  // do on the host is the host's decision, not the tenant's.
  std::string podSecurityLevel;
  // Service-account tokens of synced Pods (--token-audiences, --token-expiration): requested
  // from the source API server for these audiences (none: its own) and this lifetime.
  std::vector<std::string> tokenAudiences;
  std::int64_t tokenExpirationSeconds = 3600;
  // --finalizer: source objects of kinds synced down carry kube-bisync.io/cleanup while they have
  // a copy, so that their deletion waits for the copy's. false: the syncer takes off the
  // finalizers it had added, as it reconciles each object.
  bool finalizer = true;
  // --prune: once the initial sync is done, the copies of ours of kinds no longer synced (dropped
  // from --resources and the policies) are deleted and their sources' finalizers taken off.
  bool prune = false;
  // --sync-events: host Events about synced copies are copied to the source objects
  // (event_copies.cpp).
  bool syncEvents = true;
  WorkQueueOptions queue;
  // Leader election: the informers run and fill the caches, but no key is reconciled (so
  // nothing is written: objects, namespaces, the ownership record, Events, sync-status) until
  // startLeading(). The initial sync then runs from the warm caches.
  bool waitForLeadership = false;
};

// Writes the syncer made to one API server, by verb.
struct WriteCounts {
  std::uint64_t applies = 0;  // server-side applies (of the /status subresource too)
  std::uint64_t patches = 0;  // merge patches: fields other managers keep, the sync-status
  std::uint64_t creates = 0;  // objects created on the source from the target (createOnSource)
  std::uint64_t deletes = 0;
  std::uint64_t total() const { return applies + patches + creates + deletes; }
};

struct SyncerStats {
  WriteCounts target;                 // synced objects on the target
  WriteCounts source;                 // synced objects on the source
  std::uint64_t namespaceWrites = 0;  // target namespaces created or deleted
  std::uint64_t unchanged = 0;        // object reconciles that found nothing to write
  std::uint64_t ownWritesSeen = 0;    // watch events recognised as the syncer's own writes
  std::uint64_t clashes = 0;
  std::uint64_t conflicts = 0;       // `both` fields changed on both sides
  std::uint64_t takeovers = 0;       // fields forced over another field manager
  std::uint64_t fights = 0;          // backoffs for fights
  std::uint64_t namespacesKept = 0;  // target namespaces of ours kept: they hold foreign objects
  std::uint64_t malformedAnnotations = 0;  // merge-base or sync-status values that did not parse
  std::uint64_t failures = 0;              // reconciles that ended in a retry
  std::size_t objectsOverLimit = 0;        // source objects not copied: over their limit now
  std::size_t initialTotal = 0;
  std::size_t initialDone = 0;
  std::uint64_t writes() const { return target.total() + source.total() + namespaceWrites; }
};

// What came up from the host besides synced fields: copies of host Events, virtual Nodes.
struct HostViewStats {
  std::uint64_t eventCopiesCreated = 0;
  std::uint64_t eventCopiesUpdated = 0;  // count, timestamps or message of a copy patched
  std::uint64_t foreignEvents = 0;       // an Event not ours at a copy's name: left alone
  std::uint64_t nodesCreated = 0;
  std::uint64_t nodeRestores =
      0;  // labels, taints or unschedulable taken back from a tenant's edit
  std::uint64_t nodeStatusWrites = 0;
  std::uint64_t nodesDeleted = 0;
  std::uint64_t writes() const {
    return eventCopiesCreated + eventCopiesUpdated + nodesCreated + nodeRestores +
           nodeStatusWrites + nodesDeleted;
  }
};

// One informer's cache, for metrics.
struct CacheStats {
  std::string side;      // "source" or "target"
  std::string resource;  // "configmaps", "namespaces", ...
  std::size_t objects = 0;
  std::size_t jsonBytes = 0;  // stored object text
  std::uint64_t lists = 0;
  std::uint64_t relists = 0;  // after 410 Gone, ERROR events and broken streams
  std::uint64_t watches = 0;
};

// Whether each kind to sync is served, and so synced, on each side.
struct ResourceState {
  std::string resource;  // "configmaps", "widgets.example.com"; as given while the source lacks it
  bool servedBySource = false;
  bool servedByTarget = false;
  bool syncing = false;    // both serve it and its informers run
  std::string waitingFor;  // why it is not synced yet ("not served by the target API server")
};

class Syncer {
 public:
  // Throws std::invalid_argument when the two clients do not share one io_context.
  Syncer(kube::Client& source, kube::Client& target, const translators::Registry& registry,
         mapping::IdentityMapper mapper, SyncerOptions options);
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  void start();
  // Stops taking work, waits for in-flight reconciles (their writes) to finish, stops the
  // informers and waits until their loops have returned.
  boost::asio::awaitable<void> shutdown();

  // options.waitForLeadership: this replica leads now; the initial sync and the workers start.
  void startLeading();

  bool ready() const;         // the initial sync is complete
  bool cachesSynced() const;  // every informer has listed (a follower is ready then)
  const SyncerStats& stats() const;
  WorkQueueStats queueStats() const;
  std::vector<CacheStats> cacheStats() const;
  std::vector<ResourceState> resourceStates() const;
  std::uint64_t eventsRecorded() const;
  HostViewStats hostViewStats() const;

 private:
  std::shared_ptr<internal::SyncState> state_;
};

}  // namespace bisync::engine
