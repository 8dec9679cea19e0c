#include "syncer/engine/syncer.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "policies/policy_loader.hpp"
#include "policies/sync_plan.hpp"
#include "syncer/engine/internal/event_copies.hpp"
#include "syncer/engine/internal/node_mirror.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine {

namespace asio = boost::asio;
using internal::Outcome;
using internal::ResourceSync;
using internal::SyncState;
using kube::CachedObjectPtr;
using kube::Json;

bool NamespaceSelection::selects(std::string_view ns) const {
  if (!names.empty()) return std::find(names.begin(), names.end(), ns) != names.end();
  return std::find(excluded.begin(), excluded.end(), ns) == excluded.end();
}

namespace internal {

const kube::Informer* ResourceSync::sourceInformer(const std::string& ns) const {
  auto it = source.find(ns);
  if (it == source.end()) it = source.find("");
  return it != source.end() ? it->second.get() : nullptr;
}

kube::CachedObjectPtr ResourceSync::sourceObject(const std::string& ns,
                                                 const std::string& name) const {
  const kube::Informer* informer = sourceInformer(ns);
  return informer != nullptr ? informer->store().get(kube::objectKey(ns, name)) : nullptr;
}

namespace {

// The queue's options, plus a log line for every retry that says why and when.
WorkQueueOptions withRetryLog(WorkQueueOptions options, SyncState& state) {
  options.name = "sync";
  options.onRetry = [&state](const std::string& key, int attempt, std::chrono::nanoseconds delay) {
    const std::optional<SyncKey> parsed = SyncKey::parse(key);
    const auto error = state.lastErrors.find(key);
    spdlog::warn("retrying {} in {} ms (attempt {}): {}", parsed ? parsed->describe() : key,
                 std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(), attempt,
                 error != state.lastErrors.end() ? error->second : "unknown error");
  };
  return options;
}

}  // namespace

SyncState::SyncState(kube::Client& source, kube::Client& target,
                     const translators::Registry& translators, mapping::IdentityMapper identity,
                     SyncerOptions syncerOptions)
    : sourceClient(source),
      targetClient(target),
      registry(translators),
      mapper(std::move(identity)),
      options(std::move(syncerOptions)),
      queue(source.ioContext(), withRetryLog(options.queue, *this)),
      recorder(source, "kube-bisync", mapper.config().clusterName),
      targetRecorder(target, "kube-bisync", mapper.config().clusterName),
      progressTimer(source.ioContext()),
      discoveryTimer(source.ioContext()),
      leadershipTimer(source.ioContext()) {}

void SyncState::enqueue(const SyncKey& key) {
  if (!stopping) queue.add(key.str());
}

void SyncState::park(std::string_view targetNamespace, const SyncKey& key) {
  auto it = waitingForNamespace.find(targetNamespace);
  if (it == waitingForNamespace.end()) {
    it = waitingForNamespace.emplace(std::string(targetNamespace), std::set<std::string>{}).first;
  }
  it->second.insert(key.str());
}

void SyncState::releaseWaiters(std::string_view targetNamespace) {
  auto it = waitingForNamespace.find(targetNamespace);
  if (it == waitingForNamespace.end()) return;
  const std::set<std::string> keys = std::move(it->second);
  waitingForNamespace.erase(it);
  if (stopping) return;
  for (const std::string& key : keys) queue.add(key);
}

}  // namespace internal

namespace {

// The source key a target object names in its origin metadata, when that metadata is
// complete and consistent with where the object lives. Only a hint of which key to look at:
// the reconcile decides what is ours (ownsCopy) before it writes or deletes anything.
std::optional<SyncKey> originKey(const SyncState& state, const ResourceSync& sync,
                                 const kube::JsonValue& target) {
  const auto origin = state.mapper.originOf(target);
  if (!origin || origin->ns.empty() ||
      state.mapper.targetNamespace(origin->ns) != kube::namespaceOf(target)) {
    return std::nullopt;
  }
  return SyncKey::object(sync.name(), origin->ns, origin->name);
}

std::optional<SyncKey> originKey(const SyncState& state, const ResourceSync& sync,
                                 const CachedObjectPtr& target) {
  const Json json = target->parse();
  return originKey(state, sync, json);
}

// Records (or forgets) that the target object `targetKey` is a copy of `origin`, when it is not
// where the mapper puts that source now (the reconciler finds the copy there without an index).
void indexTarget(const SyncState& state, ResourceSync& sync, const std::optional<SyncKey>& origin,
                 std::string_view targetKey, bool add) {
  if (!origin) return;
  const mapping::TargetKey mapped = state.mapper.toTarget(
      mapping::SourceKey{origin->ns, origin->name}, sync.translator->nameLimit());
  if (kube::objectKey(mapped.ns, mapped.name) == targetKey) return;
  const std::string sourceKey = kube::objectKey(origin->ns, origin->name);
  if (add) {
    sync.misplacedCopies[sourceKey].emplace(targetKey);
    return;
  }
  auto it = sync.misplacedCopies.find(sourceKey);
  if (it == sync.misplacedCopies.end()) return;
  it->second.erase(std::string(targetKey));
  if (it->second.empty()) sync.misplacedCopies.erase(it);
}

void enqueue(SyncState& state, const std::optional<SyncKey>& key) {
  if (key) state.enqueue(*key);
}

// The queue key of the object cached under `cacheKey` ("ns/name"), if it is in a selected
// namespace (cluster-scoped objects are not synced yet).
std::optional<SyncKey> selectedKey(const SyncState& state, std::string_view resource,
                                   std::string_view cacheKey) {
  const auto slash = cacheKey.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view ns = cacheKey.substr(0, slash);
  if (!state.options.namespaces.selects(ns)) return std::nullopt;
  return SyncKey::object(resource, ns, cacheKey.substr(slash + 1));
}

// Loop prevention (layer 3) for events of objects we write: true when the event at
// `resourceVersion` is the one of our own pending write, which needs no reconcile unless one
// waited for it. Forgets the pending write once the cache has caught up with it.
bool ownWriteSeen(SyncState& state,
                  std::unordered_map<std::string, internal::PendingWrite>& pending,
                  std::string_view key, std::string_view resourceVersion,
                  const std::optional<SyncKey>& queueKey) {
  auto it = pending.find(std::string(key));
  if (it == pending.end()) return false;
  // A deletion of ours is seen when the object leaves the cache (the removal handlers).
  if (!it->second.deletedUid.empty()) return false;
  if (!internal::versionAtLeast(resourceVersion, it->second.resourceVersion)) return false;
  const bool sameVersion = it->second.resourceVersion == resourceVersion;
  // A binding is seen at a later version than the one it was made against, and its event is
  // a change the rest of the sync waits for (SourceWrite::Rebound): queued like any other.
  if (it->second.beyond && sameVersion) return false;
  const bool ours = sameVersion && !it->second.beyond;
  const bool waited = it->second.deferred;
  pending.erase(it);
  if (!ours) return false;
  ++state.stats.ownWritesSeen;
  if (waited) enqueue(state, queueKey);
  return true;
}

// The namespace part of a cache key ("ns/name").
std::string namespaceOfKey(std::string_view key) {
  return std::string(key.substr(0, key.find('/')));
}

kube::InformerHandlers sourceObjectHandlers(SyncState& state, ResourceSync& sync) {
  auto changed = [&state, &sync](const CachedObjectPtr& object) {
    const auto key = selectedKey(state, sync.name(), object->key);
    if (ownWriteSeen(state, sync.pendingSourceWrites, object->key, object->resourceVersion, key)) {
      return;
    }
    if (key) state.enqueue(*key);
  };
  auto added = [&sync, changed](const CachedObjectPtr& object) {
    ++sync.sourceCounts[namespaceOfKey(object->key)];
    changed(object);
  };
  auto removed = [&state, &sync](const CachedObjectPtr& object) {
    const auto count = sync.sourceCounts.find(namespaceOfKey(object->key));
    if (count != sync.sourceCounts.end() && --count->second == 0) sync.sourceCounts.erase(count);
    sync.pendingSourceWrites.erase(std::string(object->key));
    sync.immutableRefusals.erase(std::string(object->key));
    sync.hostPodsGone.erase(std::string(object->key));
    if (const auto key = selectedKey(state, sync.name(), object->key)) state.enqueue(*key);
  };
  return {added,
          [changed](const CachedObjectPtr&, const CachedObjectPtr& current) { changed(current); },
          removed};
}

// The source key of the name an object on the target that is not ours (a user's, another
// instance's) takes in a target namespace of ours: prefix mode only, the same name. Its
// changes concern that source key: a clash may be over, or (createOnSource) it may flow up.
std::optional<SyncKey> upwardKey(const SyncState& state, const ResourceSync& sync,
                                 const kube::JsonValue& target) {
  if (state.mapper.config().mode != mapping::NamespaceMode::Prefix ||
      state.mapper.isManagedByUs(target)) {
    return std::nullopt;
  }
  const std::string_view targetNs = kube::namespaceOf(target);
  if (!internal::ownsCachedNamespace(state, targetNs)) return std::nullopt;
  const std::optional<std::string> source = internal::recordedSourceNamespace(state, targetNs);
  if (!source || !state.options.namespaces.selects(*source)) return std::nullopt;
  return SyncKey::object(sync.name(), *source, kube::nameOf(target));
}

// A cluster-scoped kind's objects, either side: the key of that name.
kube::InformerHandlers clusterObjectHandlers(SyncState& state, ResourceSync& sync) {
  auto changed = [&state, &sync](const CachedObjectPtr& object) {
    state.enqueue(SyncKey::object(sync.name(), "", object->key));
  };
  return {changed,
          [changed](const CachedObjectPtr&, const CachedObjectPtr& current) { changed(current); },
          changed};
}

kube::InformerHandlers targetObjectHandlers(SyncState& state, ResourceSync& sync) {
  kube::InformerHandlers handlers;
  handlers.onAdd = [&state, &sync](const CachedObjectPtr& object) {
    const Json json = object->parse();
    const auto origin = originKey(state, sync, json);
    if (origin) internal::releaseChildren(state, json);  // children waiting for this copy
    if (origin) internal::releaseDependents(state, sync.name(), object->key);
    indexTarget(state, sync, origin, object->key, true);
    const auto key = origin ? origin : upwardKey(state, sync, json);
    // A copy our apply just created.
    if (ownWriteSeen(state, sync.pendingWrites, object->key, object->resourceVersion, key)) {
      return;
    }
    enqueue(state, key);
  };
  handlers.onUpdate = [&state, &sync](const CachedObjectPtr& old, const CachedObjectPtr& current) {
    const auto oldOrigin = originKey(state, sync, old);
    const Json json = current->parse();
    const auto origin = originKey(state, sync, json);
    indexTarget(state, sync, oldOrigin, old->key, false);
    indexTarget(state, sync, origin, current->key, true);
    const auto key = origin ? origin : upwardKey(state, sync, json);
    if (ownWriteSeen(state, sync.pendingWrites, current->key, current->resourceVersion, key)) {
      return;
    }
    enqueue(state, key);
    if (oldOrigin != origin) enqueue(state, oldOrigin);  // its old source lost a copy
  };
  handlers.onDelete = [&state, &sync](const CachedObjectPtr& last) {
    const Json json = last->parse();
    const auto origin = originKey(state, sync, json);
    indexTarget(state, sync, origin, last->key, false);
    if (internal::syncsPods(sync)) {
      if (const auto madeFor = state.mapper.originOf(json)) {
        internal::noteHostPodGone(state, sync, *madeFor, *last);
      }
    }
    sync.pendingWrites.erase(std::string(last->key));
    if (origin) internal::releaseOverLimit(state, sync, origin->ns);  // a copy went: room
    enqueue(state, origin ? origin : upwardKey(state, sync, json));
  };
  return handlers;
}

kube::InformerHandlers sourceNamespaceHandlers(SyncState& state) {
  auto enqueue = [&state](const CachedObjectPtr& object) {
    if (state.options.namespaces.selects(object->key)) {
      state.enqueue(SyncKey::namespaceKey(object->key));
    }
  };
  return {enqueue,
          [enqueue](const CachedObjectPtr&, const CachedObjectPtr& current) { enqueue(current); },
          enqueue};
}

// Every selected source namespace, and the source namespace of every namespace in the record
// (selected or not: one dropped from --namespaces still has copies to clean up).
void enqueueAllNamespaces(SyncState& state) {
  for (const std::string& ns : state.sourceNamespaces->store().keys()) {
    if (state.options.namespaces.selects(ns)) state.enqueue(SyncKey::namespaceKey(ns));
  }
  if (!state.record) return;
  for (const auto& [target, entry] : state.record->namespaces()) {
    state.enqueue(SyncKey::namespaceKey(entry.sourceNamespace));
  }
}

kube::InformerHandlers targetNamespaceHandlers(SyncState& state) {
  auto changed = [&state](const CachedObjectPtr& object) {
    // A namespace the syncer is creating is done once it is seen, and recorded as ours (the
    // record is written after the POST returns; createNamespace clears the mark if it is first).
    if (auto it = state.namespacesCreating.find(object->key);
        it != state.namespacesCreating.end() &&
        internal::ownsNamespace(state, object->key, object->uid)) {
      state.namespacesCreating.erase(it);
    }
    state.releaseWaiters(object->key);
    if (state.mapper.config().mode == mapping::NamespaceMode::Single) {
      if (object->key == state.mapper.config().targetNamespace) enqueueAllNamespaces(state);
      return;
    }
    // Whose namespace it is says the record, never the namespace's own labels.
    const std::optional<std::string> source = internal::recordedSourceNamespace(state, object->key);
    if (source) {
      state.enqueue(SyncKey::namespaceKey(*source));
    } else if (const auto byName = state.mapper.sourceNamespaceByName(object->key)) {
      state.enqueue(SyncKey::namespaceKey(*byName));  // a namespace in the way of one of ours
    }
  };
  auto removed = [&state, changed](const CachedObjectPtr& last) {
    internal::unwatchTargetNamespace(state, last->key);
    changed(last);
  };
  return {changed,
          [changed](const CachedObjectPtr&, const CachedObjectPtr& current) { changed(current); },
          removed};
}

// Namespaces as the target namespace cache keeps them: enough to know a name is taken, by whom
// (uid), and whether it is going. A host has many namespaces that are none of our business.
void namespaceStub(Json& object) {
  const kube::JsonValue* status = kube::at(object, "/status/phase");
  const kube::JsonValue* deletion = kube::at(object, "/metadata/deletionTimestamp");
  const std::string owner(internal::metadataEntry(object, "labels", mapping::kManagedByLabel));
  Json stub(rapidjson::kObjectType);
  auto& allocator = stub.GetAllocator();
  kube::JsonValue metadata(rapidjson::kObjectType);
  for (const char* field : {"name", "uid", "resourceVersion"}) {
    metadata.AddMember(
        kube::JsonValue(field, allocator),
        kube::stringValue(kube::stringAt(object, std::string("/metadata/") + field), allocator),
        allocator);
  }
  if (deletion != nullptr) {
    metadata.AddMember("deletionTimestamp", kube::JsonValue(*deletion, allocator), allocator);
  }
  if (!owner.empty()) {
    kube::JsonValue labels(rapidjson::kObjectType);
    labels.AddMember(kube::stringValue(mapping::kManagedByLabel, allocator),
                     kube::stringValue(owner, allocator), allocator);
    metadata.AddMember("labels", labels, allocator);
  }
  stub.AddMember("metadata", metadata, allocator);
  if (status != nullptr) {
    kube::JsonValue phase(rapidjson::kObjectType);
    phase.AddMember("phase", kube::JsonValue(*status, allocator), allocator);
    stub.AddMember("status", phase, allocator);
  }
  object.Swap(stub);
}

// A list of a synced kind answered 404: the kind may have gone away. The next discovery round
// (which decides, from discovery and the kind's CRDs) runs now instead of at its interval.
std::function<void(const kube::Error&)> listFailed(SyncState& state) {
  return [&state](const kube::Error& error) {
    if (error.isNotFound()) state.discoveryTimer.cancel();
  };
}

std::vector<kube::Informer*> allInformers(SyncState& state) {
  std::vector<kube::Informer*> informers{state.sourceNamespaces.get(),
                                         state.targetNamespaces.get()};
  if (state.record) informers.push_back(&state.record->informer());
  for (auto& [name, sync] : state.resources) {
    for (auto& [ns, informer] : sync.source) informers.push_back(informer.get());
    for (auto& [ns, informer] : sync.targets) informers.push_back(informer.get());
  }
  return informers;
}

void checkReady(SyncState& state) {
  if (state.ready || !state.workersStarted || !state.initialPending.empty()) return;
  state.ready = true;
  state.progressTimer.cancel();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - state.startedAt);
  spdlog::info("initial sync complete: {} keys in {} ms; ready", state.stats.initialTotal,
               elapsed.count());
  if (state.options.prune) {
    asio::co_spawn(state.targetClient.ioContext(),
                   internal::pruneDroppedKinds(state.shared_from_this()), asio::detached);
  }
  // The initial sync's transient documents leave the heap full of free pages between the
  // cached objects; hand them back.
  malloc_trim(0);
}

// The state outlives every handler: the Syncer drains the queue before it goes.
asio::awaitable<bool> handleKey(SyncState* state, std::string text) {
  const std::optional<SyncKey> key = SyncKey::parse(text);
  if (!key) co_return true;
  // A key of a kind that went away, or not listed yet, is not reconciled (counted as done).
  Outcome outcome = Outcome::Done;
  if (co_await internal::admitKey(*state, *key))
    outcome = co_await internal::reconcile(*state, *key);
  if (outcome == Outcome::Retry) {
    ++state->stats.failures;
    co_return false;
  }
  state->lastErrors.erase(text);
  if (outcome == Outcome::Done && state->initialPending.erase(text) > 0) {
    state->stats.initialDone = state->stats.initialTotal - state->initialPending.size();
    checkReady(*state);
  }
  co_return true;
}

asio::awaitable<void> reportProgress(std::shared_ptr<SyncState> state) {
  while (!state->ready && !state->stopping) {
    state->progressTimer.expires_after(state->options.progressInterval);
    boost::system::error_code ec;
    co_await state->progressTimer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state->ready || state->stopping) break;
    spdlog::info("initial sync: {}/{} keys", state->stats.initialDone, state->stats.initialTotal);
  }
}

// Waits until every informer there is has listed. One stopped meanwhile (its target namespace
// went) is no longer there, so it is not waited for. False when the Syncer stops first.
asio::awaitable<bool> waitForCaches(SyncState& state) {
  for (;;) {
    const std::vector<kube::Informer*> informers = allInformers(state);
    const auto pending =
        std::find_if(informers.begin(), informers.end(),
                     [](kube::Informer* informer) { return !informer->hasSynced(); });
    if (pending == informers.end()) co_return true;
    co_await (*pending)->waitForSync();  // also completes when it is stopped
    if (state.stopping) co_return false;
  }
}

// Leader election: a follower keeps its caches warm (a failover does not relist) but reconciles
// nothing, so writes nothing, until it leads. False when the Syncer stops first.
asio::awaitable<bool> waitForLeadership(SyncState& state) {
  if (state.options.waitForLeadership && !state.leading && !state.stopping) {
    spdlog::info("caches synced; not leading: waiting for leadership before syncing");
  }
  while (state.options.waitForLeadership && !state.leading && !state.stopping) {
    state.leadershipTimer.expires_after(std::chrono::hours(24));
    boost::system::error_code ec;
    co_await state.leadershipTimer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return !state.stopping;
}

// Waits for every cache, then reconciles everything once and starts the workers.
asio::awaitable<void> run(std::shared_ptr<SyncState> state) {
  // The kinds both servers serve now get their informers; the others wait.
  co_await internal::resolveWaiting(*state);
  // What the syncer owns on the target decides which target namespaces it watches, so the
  // record and the namespaces come first.
  if (!co_await waitForCaches(*state)) co_return;
  for (const std::string& ns : internal::ownedTargetNamespaces(*state)) {
    internal::watchTargetNamespace(*state, ns);
  }
  state->targetsWatched = true;
  if (!co_await waitForCaches(*state)) co_return;
  state->cachesSynced = true;
  if (!co_await waitForLeadership(*state)) co_return;
  enqueueAllNamespaces(*state);
  // The initial sync: every key the informers' first lists queued, i.e. every selected source
  // object, the source of every target object of ours (which may have gone while we were
  // down), and every selected namespace.
  for (std::string& key : state->queue.queuedKeys()) state->initialPending.insert(std::move(key));
  state->stats.initialTotal = state->initialPending.size();
  const auto listed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - state->startedAt);
  spdlog::info(
      "caches synced in {} ms; initial sync of {} keys (objects and namespaces) with {} workers",
      listed.count(), state->stats.initialTotal, state->options.workers);
  state->workersStarted = true;
  // A raw pointer: the queue lives in the state, a shared_ptr here would be a cycle.
  state->queue.run(state->options.workers,
                   [raw = state.get()](const std::string& key) { return handleKey(raw, key); });
  if (state->eventCopies) state->eventCopies->start();
  state->nodeMirror->start();
  checkReady(*state);
  if (!state->ready)
    asio::co_spawn(state->sourceClient.ioContext(), reportProgress(state), asio::detached);
  // Also while nothing waits: a kind that syncs may go away, and must then be stopped.
  asio::co_spawn(state->sourceClient.ioContext(), internal::rediscover(state), asio::detached);
}

}  // namespace

Syncer::Syncer(kube::Client& source, kube::Client& target, const translators::Registry& registry,
               mapping::IdentityMapper mapper, SyncerOptions options) {
  if (&source.ioContext() != &target.ioContext()) {
    throw std::invalid_argument("Syncer: source and target clients must share one io_context");
  }
  state_ =
      std::make_shared<SyncState>(source, target, registry, std::move(mapper), std::move(options));
  SyncState& state = *state_;

  state.sourceNamespaces =
      std::make_unique<kube::Informer>(source, kube::resources::namespaces(),
                                       kube::InformerOptions{}, sourceNamespaceHandlers(state));
  kube::InformerOptions namespaceOptions;
  namespaceOptions.transform = namespaceStub;
  state.targetNamespaces = std::make_unique<kube::Informer>(
      target, kube::resources::namespaces(), namespaceOptions, targetNamespaceHandlers(state));
  if (state.mapper.config().mode == mapping::NamespaceMode::Prefix) {
    state.record = std::make_unique<OwnershipRecord>(
        target, state.options.stateNamespace, state.mapper.config().clusterName,
        state.options.fieldManager, [&state] { enqueueAllNamespaces(state); });
  }
  state.makeTargetInformer = [&state](ResourceSync& sync, const std::string& ns) {
    kube::InformerOptions informerOptions;
    informerOptions.ns = ns;
    informerOptions.onListError = listFailed(state);
    if (sync.copiesClusterScopedDown()) {
      // Every object of the kind: one not ours at a copy's name is a clash to see.
      return std::make_unique<kube::Informer>(state.targetClient, sync.translator->resource(),
                                              informerOptions, clusterCopyHandlers(state, sync));
    }
    if (sync.clusterScoped) {
      // Only what the policy selects is mirrored, so only that is listed.
      informerOptions.labelSelector = internal::labelSelectorOf(sync.policy);
      return std::make_unique<kube::Informer>(state.targetClient, sync.translator->resource(),
                                              informerOptions, clusterObjectHandlers(state, sync));
    }
    informerOptions.transform = [&forms = sync.forms](Json& object) {
      forms.compactTarget(object);
    };
    kube::InformerHandlers handlers = targetObjectHandlers(state, sync);
    // The Pods of ours on each host Node decide which Nodes the source cluster shows.
    if (internal::syncsPods(sync)) {
      handlers = state.nodeMirror->observePods(std::move(handlers));
    }
    return std::make_unique<kube::Informer>(state.targetClient, sync.translator->resource(),
                                            informerOptions, std::move(handlers));
  };

  state.makeSourceInformer = [&state](ResourceSync& sync, const std::string& ns) {
    kube::InformerOptions informerOptions;
    informerOptions.ns = ns;
    informerOptions.onListError = listFailed(state);
    informerOptions.transform = [&forms = sync.forms](Json& object) {
      forms.compactSource(object);
    };
    return std::make_unique<kube::Informer>(state.sourceClient, sync.sourceResource,
                                            informerOptions,
                                            sync.clusterScoped ? clusterObjectHandlers(state, sync)
                                                               : sourceObjectHandlers(state, sync));
  };
  if (state.options.syncEvents) state.eventCopies = std::make_shared<internal::EventCopies>(state);
  state.nodeMirror = std::make_shared<internal::NodeMirror>(state);
  // Every kind waits for discovery at first: run() looks them up. The CRD mirror first, so
  // that the CRDs it copies are there for the kinds that need them.
  if (internal::mirrorsCrds(state)) {
    const kube::ResourceSpec crds{"customresourcedefinitions.apiextensions.k8s.io",
                                  "apiextensions.k8s.io", "", "customresourcedefinitions", ""};
    state.waiting.push_back({crds, crds.text, false, false, "not looked up yet", true});
  }
  for (const kube::ResourceSpec& spec : state.options.resources) {
    state.waiting.push_back(
        {spec, internal::provisionalKey(spec), false, false, "not looked up yet"});
  }
}

Syncer::~Syncer() {
  if (!state_) return;
  state_->stopping = true;
  for (kube::Informer* informer : allInformers(*state_)) informer->stop();
}

void Syncer::start() {
  state_->startedAt = std::chrono::steady_clock::now();
  for (kube::Informer* informer : allInformers(*state_)) informer->start();
  asio::co_spawn(state_->sourceClient.ioContext(), run(state_), asio::detached);
}

asio::awaitable<void> Syncer::shutdown() {
  std::shared_ptr<SyncState> state = state_;
  state->stopping = true;
  state->progressTimer.cancel();
  state->discoveryTimer.cancel();
  state->leadershipTimer.cancel();
  co_await state->queue.drain();
  if (state->eventCopies) co_await state->eventCopies->shutdown();
  co_await state->nodeMirror->shutdown();
  for (kube::Informer* informer : allInformers(*state)) informer->stop();
  // A list in flight is not interrupted; the clients must outlive the informers' loops.
  asio::steady_timer poll(state->sourceClient.ioContext());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(35);
  while (std::chrono::steady_clock::now() < deadline) {
    auto informers = allInformers(*state);
    if (state->eventCopies) {
      for (kube::Informer* informer : state->eventCopies->informers())
        informers.push_back(informer);
    }
    if (std::none_of(informers.begin(), informers.end(),
                     [](kube::Informer* informer) { return informer->running(); })) {
      break;
    }
    poll.expires_after(std::chrono::milliseconds(20));
    co_await poll.async_wait(asio::use_awaitable);
  }
}

void Syncer::startLeading() {
  state_->leading = true;
  state_->leadershipTimer.cancel();
}

bool Syncer::ready() const { return state_->ready; }
bool Syncer::cachesSynced() const { return state_->cachesSynced; }
const SyncerStats& Syncer::stats() const { return state_->stats; }
WorkQueueStats Syncer::queueStats() const { return state_->queue.stats(); }
std::uint64_t Syncer::eventsRecorded() const { return state_->recorder.recorded(); }

HostViewStats Syncer::hostViewStats() const {
  HostViewStats out;
  if (state_->eventCopies) {
    const internal::EventCopyStats& events = state_->eventCopies->stats();
    out.eventCopiesCreated = events.created;
    out.eventCopiesUpdated = events.updated;
    out.foreignEvents = events.foreign;
  }
  const internal::NodeMirrorStats& nodes = state_->nodeMirror->stats();
  out.nodesCreated = nodes.created;
  out.nodeRestores = nodes.metadataWrites;
  out.nodeStatusWrites = nodes.statusWrites;
  out.nodesDeleted = nodes.removed;
  return out;
}

// One entry per side and resource, summed over the informers of each namespace.
std::vector<CacheStats> Syncer::cacheStats() const {
  std::vector<CacheStats> caches;
  const auto add = [&caches](const std::string& side, const kube::Informer& informer,
                             const std::string& resource) {
    auto it = std::find_if(caches.begin(), caches.end(), [&](const CacheStats& cache) {
      return cache.side == side && cache.resource == resource;
    });
    if (it == caches.end()) it = caches.insert(caches.end(), CacheStats{side, resource});
    const kube::InformerStats& stats = informer.stats();
    it->objects += informer.store().size();
    it->jsonBytes += informer.store().jsonBytes();
    it->lists += stats.lists;
    it->relists += stats.relistsAfterGone + stats.relistsAfterError;
    it->watches += stats.watches;
  };
  const std::string namespaces(kNamespacesResource);
  add("source", *state_->sourceNamespaces, namespaces);
  add("target", *state_->targetNamespaces, namespaces);
  for (const auto& [name, sync] : state_->resources) {
    for (const auto& [ns, informer] : sync.source) add("source", *informer, name);
    for (const auto& [ns, informer] : sync.targets) add("target", *informer, name);
  }
  // What comes up from the host besides synced fields: host Events in our namespaces, Nodes.
  if (state_->eventCopies) {
    for (const kube::Informer* informer : state_->eventCopies->informers()) {
      add("target", *informer, "events");
    }
  }
  const internal::NodeMirror& nodes = *state_->nodeMirror;
  if (nodes.hostNodes() != nullptr) add("target", *nodes.hostNodes(), "nodes");
  if (nodes.virtualNodes() != nullptr) add("source", *nodes.virtualNodes(), "nodes");
  return caches;
}

std::vector<ResourceState> Syncer::resourceStates() const {
  std::vector<ResourceState> states;
  for (const auto& [name, sync] : state_->resources) {
    if (!sync.suspended) states.push_back({name, true, true, true, ""});  // else in `waiting`
  }
  for (const internal::WaitingResource& waiting : state_->waiting) {
    states.push_back(
        {waiting.name, waiting.servedBySource, waiting.servedByTarget, false, waiting.why});
  }
  return states;
}

}  // namespace bisync::engine
