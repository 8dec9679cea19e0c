// The reconcile of one key: make the target hold what the source says, from the current
// state of both caches. See docs/sync-engine.md for the rules; the short version:
//   - write only when the target differs (content, origin metadata, or last-synced);
//   - never touch a target object that is not ours: report the clash and leave it;
//   - delete with a uid precondition, so only the incarnation we saw is deleted.
#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "policies/sync_plan.hpp"
#include "syncer/engine/internal/sync_state.hpp"
#include "syncer/engine/managed_fields.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

Outcome fail(SyncState& state, const SyncKey& key, std::string reason) {
  state.lastErrors[key.str()] = std::move(reason);
  return Outcome::Retry;
}

void logWrite(const SyncState& state, std::string_view what) {
  if (state.options.logWrites) spdlog::info("{}", what);
}

asio::awaitable<Outcome> reportClash(SyncState& state, const kube::ResourceInfo& resource,
                                     const SyncKey& key, const JsonValue& source,
                                     const std::string& message, std::string_view reason) {
  ++state.stats.clashes;
  spdlog::warn("clash: {}", message);
  co_await state.recorder.record(resource, source, EventType::Warning, reason, message);
  // The object in the way is not in our caches, so no event will say when it is gone.
  state.queue.addAfter(key.str(), state.options.clashRecheck);
  co_return Outcome::Done;
}

asio::awaitable<kube::Result<bool>> removeIncarnation(kube::Client& client,
                                                      const kube::ResourceInfo& resource,
                                                      std::string_view ns, std::string_view name,
                                                      std::string_view uid,
                                                      std::optional<std::int64_t> grace) {
  // Without a uid the delete would hit whatever holds the name now: never.
  if (uid.empty()) {
    co_return kube::fail(
        kube::configError(std::string(name), "refusing to delete without a uid precondition"));
  }
  kube::DeleteOptions options;
  options.uid = std::string(uid);
  options.gracePeriodSeconds = grace;
  const kube::Result<void> removed = co_await client.remove(resource, ns, name, options);
  if (removed) co_return true;
  if (removed.error().isNotFound()) co_return false;
  co_return kube::fail(removed.error());
}

bool policySelects(const policies::SyncPolicy& policy, std::string_view ns,
                   const JsonValue& object) {
  if (!policy.namespaces.selects(std::string(ns))) return false;
  for (const auto& [label, value] : policy.matchLabels) {
    if (metadataEntry(object, "labels", label) != value) return false;
  }
  return true;
}

namespace {

enum class NamespaceState {
  Missing,
  Terminating,
  Foreign,  // not created by this instance (prefix mode): nothing is synced into it
  Listing,  // ours (or being created by us), its informers have not listed yet
  Usable,
};

NamespaceState targetNamespaceState(const SyncState& state, std::string_view name) {
  // Being created by us: POSTed, not yet recorded or not yet seen.
  if (state.namespacesCreating.contains(name)) return NamespaceState::Listing;
  const kube::CachedObjectPtr cached = state.targetNamespaces->store().get(name);
  if (!cached) return NamespaceState::Missing;
  if (isTerminating(cached->parse())) return NamespaceState::Terminating;
  if (!ownsNamespace(state, name, cached->uid)) return NamespaceState::Foreign;
  if (!targetNamespaceWatched(state, name)) return NamespaceState::Listing;
  return NamespaceState::Usable;
}

// Deletes the target object cached under `targetKey` if it is our copy of `key` (with `grace`,
// see removeIncarnation).
asio::awaitable<Outcome> deleteTarget(SyncState& state, ResourceSync& sync,
                                      const std::string& targetKey, const SyncKey& key,
                                      std::optional<std::int64_t> grace) {
  const kube::CachedObjectPtr cached = sync.targetObject(targetKey);
  if (!cached) co_return Outcome::Done;
  const Json object = cached->parse();
  const auto origin = state.mapper.originOf(object);
  if (!ownsCopy(state, object) || origin->ns != key.ns || origin->name != key.name) {
    co_return Outcome::Done;
  }
  // Deleted already and held by a finalizer of the target's: its deletion event comes back.
  if (isTerminating(object)) co_return Outcome::Done;

  const kube::Result<bool> removed = co_await removeIncarnation(
      state.targetClient, sync.translator->resource(), kube::namespaceOf(object),
      kube::nameOf(object), cached->uid, grace);
  if (!removed) {
    sync.pendingWrites.erase(targetKey);
    co_return fail(state, key, "delete " + targetKey + ": " + removed.error().describe());
  }
  // Until the cache has seen it go, a reconcile would take the copy for still there.
  recordPendingDeletion(sync.pendingWrites, targetKey, cached->uid);
  if (*removed) {
    ++state.stats.target.deletes;
    logWrite(state, "deleted " + sync.name() + " " + targetKey);
  }
  co_return Outcome::Done;
}

std::string quoted(const std::optional<std::string>& value) {
  return value ? *value : std::string("(absent)");
}

std::string managersText(const std::vector<std::string>& managers) {
  if (managers.empty()) return "an unknown writer";
  std::string text;
  for (const std::string& manager : managers) text += (text.empty() ? "" : ", ") + manager;
  return text;
}

// The Event and log text of one conflict of the merge.
std::string describeConflict(const SyncState& state, const policies::FieldConflict& conflict,
                             const JsonValue& source, const JsonValue& target) {
  const auto field = policies::splitPointer(conflict.path);
  const std::vector<std::string> none;
  const auto& segments = field ? *field : none;
  const std::string& ours = state.options.fieldManager;
  std::string text = "both sides changed " + conflict.path + " (rule " + conflict.rule +
                     "): source " + quoted(conflict.sourceValue) + " set by " +
                     managersText(fieldManagers(source, segments, ours)) + ", target " +
                     quoted(conflict.targetValue) + " set by " +
                     managersText(fieldManagers(target, segments, ours)) + ", last synced " +
                     quoted(conflict.baseValue) + "; onConflict " +
                     std::string(policies::toString(conflict.strategy));
  switch (conflict.winner) {
    case policies::Winner::Source: return text + ": the source's value goes to both sides";
    case policies::Winner::Target: return text + ": the target's value goes to both sides";
    case policies::Winner::None: break;
  }
  return text + ": neither side is changed until one of them changes again";
}

// Deletes our copy `cached` (that incarnation only); the key comes back to create it anew.
// `why` it is not updated in place goes to the log, and, with `announceOn` (the source), to a
// CopyRecreated Event on it when this call deleted the copy.
asio::awaitable<Outcome> replaceCopy(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                     const kube::CachedObjectPtr& cached, const std::string& why,
                                     const JsonValue* announceOn = nullptr) {
  const std::string_view at = cached->key;
  const kube::Result<bool> removed = co_await removeIncarnation(
      state.targetClient, sync.translator->resource(), at.substr(0, at.find('/')),
      at.substr(at.find('/') + 1), cached->uid);
  if (!removed) {
    co_return fail(state, key, "replace " + std::string(at) + ": " + removed.error().describe());
  }
  if (*removed) ++state.stats.target.deletes;
  spdlog::info("replacing {} {}: {}", sync.name(), cached->key, why);
  if (*removed && announceOn != nullptr) {
    const std::string message =
        "deleted the copy " + std::string(at) + " on the target to create it anew: " + why;
    const std::string_view reason = kReasonCopyRecreated;
    co_await state.recorder.record(sync.translator->resource(), *announceOn, EventType::Normal,
                                   reason, message);
  }
  // The next reconcile creates the new copy once the cache has seen the old one go.
  recordPendingDeletion(sync.pendingWrites, std::string(cached->key), cached->uid);
  state.enqueue(key);  // reconciled again once this run ends: it creates the new copy
  co_return Outcome::Done;
}

// What a reconcile found of one pair, once it is sure the target object may be written: the
// source is synced and the target object, if any, is our copy of it (or one to adopt).
struct PairContext {
  const SyncKey& key;
  const mapping::TargetKey& target;
  const std::string& targetKey;
  const std::string& sourceKey;
  const kube::CachedObjectPtr& sourceCached;
  const kube::CachedObjectPtr& targetCached;
  const JsonValue& source;
  const JsonValue* actual;  // the target object; nullptr when there is none yet
};

// The merge base the target copy carries; nullopt when it has none or one that does not parse
// (then reported: it counts as absent, a first sync's merge, and the next write replaces it).
asio::awaitable<std::optional<Json>> mergeBaseOf(SyncState& state, ResourceSync& sync,
                                                 const PairContext& pair) {
  const std::string_view stored =
      metadataEntry(*pair.actual, "annotations", mapping::kMergeBaseAnnotation);
  kube::Result<Json> parsed =
      kube::parseJson(stored, mapping::kMergeBaseAnnotation, kAnnotationLimits);
  if (parsed && parsed->IsObject()) co_return std::move(*parsed);
  if (!stored.empty()) {
    const std::string problem = parsed ? "not a JSON object" : parsed.error().message;
    const std::string where = "target " + pair.targetKey;
    co_await reportMalformedAnnotation(state, sync, pair.source, where,
                                       mapping::kMergeBaseAnnotation, problem);
  }
  co_return std::nullopt;
}

// The target refused the write of the pair's copy (`lastSynced` is what it carried): what
// judgeRefusal decides is carried out.
asio::awaitable<Outcome> targetWriteFailed(SyncState& state, ResourceSync& sync,
                                           const PairContext& pair, const std::string& lastSynced,
                                           const kube::Error& error) {
  switch (judgeRefusal(error, state.mapper, pair.actual, pair.source, sync.policy.onImmutable)) {
    case Refusal::ReplaceEarlierIncarnation: {
      const std::string why =
          "its source was recreated and the copy cannot be updated in place: " + error.message;
      co_return co_await replaceCopy(state, sync, pair.key, pair.targetCached, why);
    }
    case Refusal::ReportImmutable:
      co_await reportImmutableRefusal(state, sync, pair.source, pair.targetCached, lastSynced,
                                      error);
      co_return Outcome::Done;  // not retried until the source changes
    case Refusal::RecreateImmutable: {
      const std::string why =
          "the target refuses to change an immutable field of it in place (onImmutable: "
          "recreate): " +
          error.message;
      const JsonValue* source = &pair.source;
      co_return co_await replaceCopy(state, sync, pair.key, pair.targetCached, why, source);
    }
    case Refusal::Rejected: {
      const std::string message = "the target rejected " + pair.targetKey + ": " + error.message;
      co_await report(state, sync, pair.source, kReasonSyncRejected, message);
      co_await setSyncStatus(state, sync, pair.source, kStatusRejected, message);
      break;
    }
    case Refusal::Forbidden:
      co_await reportForbidden(state, sync, pair.key.str(), pair.source, "target", error);
      break;
    case Refusal::Retry: break;
  }
  co_return fail(state, pair.key, "apply " + pair.targetKey + ": " + error.describe());
}

// Reports each conflict of the merge on the source; `status` becomes the last one. A first sync
// (no target yet) has none to report.
asio::awaitable<void> reportConflicts(SyncState& state, ResourceSync& sync, const PairContext& pair,
                                      const policies::SyncPlan& plan, WriteReport& status) {
  if (pair.actual == nullptr) co_return;
  for (const policies::FieldConflict& conflict : plan.conflicts) {
    ++state.stats.conflicts;
    std::string message = describeConflict(state, conflict, pair.source, *pair.actual);
    co_await report(state, sync, pair.source, kReasonSyncConflict, message);
    status = {std::string(kStatusConflict), std::move(message)};
  }
}

// The translator's target object of `source`; nullopt when it finds the source malformed:
// reported as SyncFailed, not retried (a change of the source re-queues the key).
asio::awaitable<std::optional<Json>> translate(SyncState& state, ResourceSync& sync,
                                               const SyncKey& key, const JsonValue& source) {
  kube::Result<Json> translated = sync.translator->toTarget(source, state.mapper);
  if (translated) co_return std::move(*translated);
  const std::string message = translated.error().message;
  if (translated.error().reason == translators::kRefusedReason) {
    // Well-formed, but not allowed on the target: the user must change it (or the policy).
    co_await report(state, sync, source, kReasonSyncRejected, message);
    co_await setSyncStatus(state, sync, source, kStatusRejected, message);
    co_return std::nullopt;
  }
  spdlog::warn("cannot translate {}: {}", key.describe(), translated.error().describe());
  const std::string_view reason = kReasonSyncFailed;
  co_await state.recorder.record(sync.translator->resource(), source, EventType::Warning, reason,
                                 message);
  co_return std::nullopt;
}

// What became of the source-side write.
enum class SourceWrite {
  Written,
  // A Pod was bound to its node: its resourceVersion moved on, so nothing more can be written
  // with the cached one in this pass (a write would fail with 409 and wait out a rate-limited
  // retry). The binding's watch event queues the key again for the rest.
  Rebound,
  // The source object was deleted while the write was on its way (server-side apply then
  // creates it anew); the object it made was deleted again. The deletion's event brings the
  // key back.
  Gone,
  Failed,  // recorded
};

// Applies what the plan gives the source.
asio::awaitable<SourceWrite> writeSourceSide(SyncState& state, ResourceSync& sync,
                                             const PairContext& pair, const Json& sourceView,
                                             const policies::SyncPlan& plan,
                                             const std::vector<std::string>& contested,
                                             WriteReport& writeReport) {
  const SyncKey& key = pair.key;
  const Json sourceHas =
      policies::writtenFields(sourceView, policies::Side::Source, *sync.ownership);
  if (syncsPods(sync)) {
    const Binding binding = co_await bindSourcePod(state, sync, key, pair.source, plan.forSource);
    if (binding == Binding::Failed) co_return SourceWrite::Failed;
    if (binding == Binding::Bound) co_return SourceWrite::Rebound;
  }
  SideWrite write{
      policies::Side::Source,
      key.ns,
      key.name,
      skeletonOf(sync.translator->resource(), key.ns, key.name, pair.sourceCached->resourceVersion),
      &sourceHas,
      &plan.forSource,
      contested};
  write.expectedUid = std::string(pair.sourceCached->uid);
  overlay(write.body, plan.forSource, write.body.GetAllocator());
  if (syncsPods(sync)) dropNodeName(write.body);
  const kube::Result<Json> written =
      co_await applyFields(state, sync, pair.source, write, writeReport);
  if (!written) {
    if (const std::optional<Outcome> gone = afterMadeAnew(state, key, written.error())) {
      co_return *gone == Outcome::Done ? SourceWrite::Gone : SourceWrite::Failed;
    }
    if (written.error().isForbidden()) {
      co_await reportForbidden(state, sync, key.str(), pair.source, "source", written.error());
    }
    fail(state, key, "apply on the source: " + written.error().describe());
    co_return SourceWrite::Failed;
  }
  logWrite(state, "applied " + sync.name() + " " + pair.targetKey + " -> source " + pair.sourceKey);
  co_return SourceWrite::Written;
}

// Applies the target copy `apply`: nullopt when written, else what became of the refused write
// (reported and done, replaced, or retried).
asio::awaitable<std::optional<Outcome>> writeTargetSide(
    SyncState& state, ResourceSync& sync, const PairContext& pair, const Json& targetView,
    const policies::SyncPlan& plan, TargetApply& apply, const std::vector<std::string>& contested,
    WriteReport& writeReport) {
  const Json targetHas =
      policies::writtenFields(targetView, policies::Side::Target, *sync.ownership);
  SideWrite write{policies::Side::Target,
                  pair.target.ns,
                  pair.target.name,
                  std::move(apply.body),
                  &targetHas,
                  &plan.forTarget,
                  contested,
                  /*create=*/pair.actual == nullptr,
                  pair.targetCached ? std::string(pair.targetCached->uid) : ""};
  const kube::Result<Json> written =
      co_await applyFields(state, sync, pair.source, write, writeReport);
  if (!written) {
    if (const std::optional<Outcome> gone = afterMadeAnew(state, pair.key, written.error())) {
      co_return gone;
    }
    co_return co_await targetWriteFailed(state, sync, pair, apply.lastSynced, written.error());
  }
  logWrite(state, "applied " + sync.name() + " " + pair.sourceKey + " -> " + pair.targetKey);
  co_return std::nullopt;
}

// Carries out what decidePair decided for a pair: the conflicts reported, then the source
// written first and the target second.
asio::awaitable<Outcome> carryOut(SyncState& state, ResourceSync& sync, const PairContext& pair,
                                  PairDecision& decision) {
  const SyncKey& key = pair.key;
  const JsonValue& source = pair.source;
  if (decision.rejected) {
    co_await report(state, sync, source, kReasonSyncRejected, *decision.rejected);
    co_await setSyncStatus(state, sync, source, kStatusRejected, *decision.rejected);
    co_return Outcome::Done;
  }
  if (decision.replaceEarlierIncarnation) {
    const std::string why =
        "its source was deleted and made again, and the copy holds fields the target owns for "
        "the earlier object";
    co_return co_await replaceCopy(state, sync, key, pair.targetCached, why, &source);
  }
  const policies::SyncPlan& plan = decision.plan;
  WriteReport status{std::string(kStatusSynced), ""};
  co_await reportConflicts(state, sync, pair, plan, status);
  const TargetWrite targetWrite = decision.targetWrite;
  // The source first: the target write stores the new merge base, and a base that runs ahead
  // of the source would turn the source's old value into a change after a crash.
  WriteReport writeReport;
  if (decision.writeSource) {
    const SourceWrite written = co_await writeSourceSide(state, sync, pair, decision.sourceView,
                                                         plan, decision.contested, writeReport);
    if (written == SourceWrite::Failed) co_return Outcome::Retry;
    if (written == SourceWrite::Rebound || written == SourceWrite::Gone) co_return Outcome::Done;
  }
  if (targetWrite != TargetWrite::None &&
      immutableRefusalStands(sync, pair.sourceKey, pair.targetCached, decision.apply.lastSynced)) {
    co_return Outcome::Done;
  }
  if (co_await holdForFight(state, sync, key, source, targetWrite == TargetWrite::Restore,
                            "the target " + sync.name() + " " + pair.targetKey)) {
    co_return Outcome::Done;
  }
  if (targetWrite == TargetWrite::None) {
    ++state.stats.unchanged;
  } else if (const std::optional<Outcome> refused =
                 co_await writeTargetSide(state, sync, pair, decision.targetView, plan,
                                          decision.apply, decision.contested, writeReport)) {
    co_return *refused;
  }
  if (!writeReport.result.empty() && status.result == kStatusSynced) status = writeReport;
  co_await setSyncStatus(state, sync, source, status.result, status.message);
  co_return Outcome::Done;
}

// Decides what a pair needs (decidePair) and carries it out. The object at the target key, if
// any, is in a target namespace of ours.
asio::awaitable<Outcome> syncPair(SyncState& state, ResourceSync& sync, const PairContext& pair,
                                  bool copiedUp) {
  const SyncKey& key = pair.key;
  const mapping::SourceKey sourceKey{key.ns, key.name};
  const std::string what = sync.name() + " " + pair.targetKey;
  const TargetVerdict verdict = judgeTarget(state.mapper, sourceKey, what, pair.actual, copiedUp);
  if (verdict.role == TargetRole::Clash) {
    co_return co_await reportClash(state, sync.translator->resource(), key, pair.source,
                                   verdict.clash);
  }
  if (verdict.role == TargetRole::Absent && sync.policy.direction == policies::Direction::Up) {
    co_return Outcome::Done;  // objects are created downward only with down or bidirectional
  }
  std::optional<Json> base;
  if (sync.sharedFields && pair.actual) base = co_await mergeBaseOf(state, sync, pair);
  const std::optional<Json> translated = co_await translate(state, sync, key, pair.source);
  if (!translated) co_return Outcome::Done;
  const OwnerLinks owners = ownerLinks(state, key, pair.source);
  awaitOwners(state, key, owners);
  std::optional<Json> actualForSource;
  if (pair.actual) actualForSource = sync.translator->toSourceView(*pair.actual, pair.source);
  const PairInputs inputs{state.mapper,
                          sync.translator->resource(),
                          sync.policy,
                          *sync.ownership,
                          sync.baseForm,
                          state.options.fieldManager,
                          sourceKey,
                          pair.target,
                          pair.source,
                          *translated,
                          pair.actual,
                          base ? &*base : nullptr,
                          owners.references,
                          copiedUp,
                          pair.targetCached ? pair.targetCached->resourceVersion : "",
                          actualForSource ? &*actualForSource : nullptr};
  kube::Result<PairDecision> decision = decidePair(inputs);
  if (!decision) co_return fail(state, key, decision.error().describe());
  co_return co_await carryOut(state, sync, pair, *decision);
}

// The source object to sync at `key`, or nullopt when there is none to sync: absent, being
// deleted, its namespace not selected or going, its kind under `direction: none`, skipped by the
// translator or not selected by the policy.
std::optional<Json> syncedSource(const SyncState& state, const ResourceSync& sync,
                                 const SyncKey& key, const kube::CachedObjectPtr& sourceCached,
                                 bool namespaceGoing) {
  if (!state.options.namespaces.selects(key.ns) || namespaceGoing || !sourceCached ||
      sync.policy.direction == policies::Direction::None) {
    return std::nullopt;
  }
  Json source = sourceCached->parse();
  if (isTerminating(source)) return std::nullopt;  // its deletion was asked for: the copy goes
  if (!sync.translator->shouldSync(source) || !policySelects(sync.policy, key.ns, source)) {
    return std::nullopt;
  }
  return source;
}

// Deletes our target objects of this source that should not exist (any, once the source is
// gone; ones at another name, after a mapping change). deleteTarget leaves objects that are not
// copies of this source. False when a delete failed.
asio::awaitable<bool> deleteUnwanted(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                     const std::string& sourceKey, const std::string& targetKey,
                                     bool sourceSynced, bool targetCached,
                                     std::optional<std::int64_t> grace) {
  const auto misplaced = sync.misplacedCopies.find(sourceKey);
  const std::vector<std::string> unwanted =
      unwantedTargets(misplaced != sync.misplacedCopies.end() ? &misplaced->second : nullptr,
                      sourceSynced, targetCached, targetKey);
  bool done = true;
  for (const std::string& existing : unwanted) {
    if (co_await deleteTarget(state, sync, existing, key, grace) == Outcome::Retry) done = false;
  }
  co_return done;
}

// What becomes of `key` while its target namespace `targetNs` is not usable; nullopt when it is.
std::optional<Outcome> waitForTargetNamespace(SyncState& state, const SyncKey& key,
                                              const std::string& targetNs) {
  switch (targetNamespaceState(state, targetNs)) {
    case NamespaceState::Usable: return std::nullopt;
    case NamespaceState::Missing:
      state.enqueue(SyncKey::namespaceKey(key.ns));
      state.park(targetNs, key);
      return Outcome::Parked;
    case NamespaceState::Terminating:  // its deletion event brings it back
    case NamespaceState::Listing:      // released once its informers have listed
      state.park(targetNs, key);
      return Outcome::Parked;
    case NamespaceState::Foreign:
      state.park(targetNs, key);  // the namespace key reports the clash
      return Outcome::Done;
  }
  return std::nullopt;
}

// The record's copied-up entry for the target key, if any (a copy: the record may change while
// this reconcile waits for the servers).
std::optional<CopiedUp> copiedUpAt(const SyncState& state, const ResourceSync& sync,
                                   const mapping::TargetKey& target) {
  if (!state.record) return std::nullopt;
  const CopiedUp* entry = state.record->findCopiedUp(sync.name(), target.ns, target.name);
  return entry != nullptr ? std::optional<CopiedUp>(*entry) : std::nullopt;
}

asio::awaitable<Outcome> reconcileObject(SyncState& state, ResourceSync& sync, const SyncKey& key) {
  const std::string sourceKey = kube::objectKey(key.ns, key.name);
  const mapping::TargetKey target =
      state.mapper.toTarget(mapping::SourceKey{key.ns, key.name}, sync.translator->nameLimit());
  const std::string targetKey = kube::objectKey(target.ns, target.name);
  const kube::CachedObjectPtr sourceCached = sync.sourceObject(key.ns, key.name);
  const kube::CachedObjectPtr targetCached = sync.targetObject(targetKey);
  for (const auto& wait : {waitForOwnWrite(sync.pendingSourceWrites, sourceKey, sourceCached,
                                           sync.sourceInformer(key.ns)),
                           waitForOwnWrite(sync.pendingWrites, targetKey, targetCached,
                                           sync.targetInformer(target.ns))}) {
    if (wait) {
      state.queue.addAfter(key.str(), *wait + std::chrono::milliseconds(1));
      co_return Outcome::Done;
    }
  }
  // A source namespace being deleted takes its objects with it: do not copy them any more.
  // One the namespace cache has not seen yet (it lags the object's informer) is waited for.
  const kube::CachedObjectPtr sourceNamespace = state.sourceNamespaces->store().get(key.ns);
  const bool namespaceGoing = sourceNamespace && isTerminating(sourceNamespace->parse());
  const std::optional<Json> source = syncedSource(state, sync, key, sourceCached, namespaceGoing);
  if (!co_await deleteUnwanted(state, sync, key, sourceKey, targetKey, source.has_value(),
                               targetCached != nullptr, hostDeletionGrace(sync, sourceCached))) {
    co_return co_await reportCleanupFailure(state, sync, key, sourceCached);
  }
  std::optional<CopiedUp> copiedUp = copiedUpAt(state, sync, target);
  if (const std::optional<Outcome> held = co_await guardWithFinalizer(
          state, sync, key, target, sourceCached, source.has_value(), copiedUp.has_value())) {
    co_return *held;
  }
  if (!source && syncsPods(sync) && sourceCached && isTerminating(sourceCached->parse())) {
    co_return co_await finishPodDeletion(state, sync, key, targetKey, sourceCached);
  }
  if (!source) {
    leaveNamespaceLimit(state, sync, key);  // room for the objects waiting under the limit
    const UpwardContext upward{key,
                               target,
                               sourceCached,
                               targetCached,
                               copiedUp ? &*copiedUp : nullptr,
                               sourceNamespace && !namespaceGoing};
    co_return co_await reconcileUpward(state, sync, upward);
  }
  if (!sourceNamespace) {
    state.park(target.ns, key);  // released when the namespace key creates the target one
    co_return Outcome::Parked;
  }
  if (const std::optional<Outcome> waiting = waitForTargetNamespace(state, key, target.ns)) {
    if (targetNamespaceState(state, target.ns) == NamespaceState::Terminating) {
      co_await reportNamespaceTerminating(state, sync, *source, target.ns);
    }
    co_return *waiting;
  }
  if (copiedUp && copiedUp->sourceUid.empty()) {
    kube::Result<std::optional<CopiedUp>> settled =
        co_await settleCopyUpIntent(state, *copiedUp, sourceCached);
    if (!settled) co_return fail(state, key, settled.error().describe());
    copiedUp = std::move(*settled);
  }
  // The source made from a target object (createOnSource), by the record: only that exact
  // object counts, whatever annotations a source object carries.
  if (copiedUp && copiedUp->sourceUid != sourceCached->uid) {
    if (const kube::Result<void> forgotten = co_await state.record->forgetCopiedUp(*copiedUp);
        !forgotten) {
      co_return fail(state, key, forgotten.error().describe());
    }
    copiedUp.reset();  // the source was made again by someone: an ordinary source now
  }
  // The target object, if any: the target cache holds every object of the kind in a namespace
  // of ours, so one it lacks does not exist. An object that is not our copy is left alone (a
  // clash), except the one a source was copied up from: that one is adopted.
  std::optional<Json> actual;
  if (targetCached) actual = targetCached->parse();
  if (copiedUp &&
      (!actual || (!ownsCopy(state, *actual) && copiedUp->targetUid != targetCached->uid))) {
    co_return co_await deleteCopiedUpSource(state, sync, key, sourceCached, *copiedUp);
  }
  if (co_await holdOverLimit(state, sync, key, *source, targetCached != nullptr)) {
    co_return Outcome::Done;  // queued again when an object or a copy in its namespace goes
  }
  if (!targetCached && syncsPods(sync) && ranOnHost(sync, *sourceCached, *source)) {
    co_return co_await removePodGoneFromHost(state, sync, key, *source, targetKey);
  }
  if (!targetCached && co_await holdForDependencies(state, sync, key, *source)) {
    co_return Outcome::Done;  // queued again when the copies it waits for appear
  }
  const PairContext pair{key,          target,       targetKey, sourceKey,
                         sourceCached, targetCached, *source,   actual ? &*actual : nullptr};
  const Outcome outcome = co_await syncPair(state, sync, pair, copiedUp.has_value());
  if (!syncsPods(sync) || outcome != Outcome::Done) co_return outcome;
  co_return co_await keepHostPodToken(state, sync, key, *source, targetKey, targetCached);
}

// Counts a reconcile of `sync` while it runs (ResourceSync::reconcilesInFlight); entries of
// SyncState::resources are never erased, so the reference outlives it.
class ReconcileInFlight {
 public:
  explicit ReconcileInFlight(ResourceSync& sync) : sync_(sync) { ++sync_.reconcilesInFlight; }
  ~ReconcileInFlight() { --sync_.reconcilesInFlight; }
  ReconcileInFlight(const ReconcileInFlight&) = delete;
  ReconcileInFlight& operator=(const ReconcileInFlight&) = delete;

 private:
  ResourceSync& sync_;
};

}  // namespace

std::string_view metadataEntry(const JsonValue& object, std::string_view field,
                               std::string_view key) {
  const JsonValue* metadata = kube::member(object, "metadata");
  const JsonValue* entries = metadata != nullptr ? kube::member(*metadata, field) : nullptr;
  return entries != nullptr ? kube::stringMember(*entries, key) : std::string_view();
}

asio::awaitable<Outcome> reconcile(SyncState& state, const SyncKey& key) {
  if (key.isNamespace()) co_return co_await reconcileNamespace(state, key);
  const auto it = state.resources.find(key.resource);
  if (it == state.resources.end()) co_return Outcome::Done;  // not a resource we sync
  const ReconcileInFlight inFlight(it->second);
  if (it->second.copiesClusterScopedDown())
    co_return co_await reconcileClusterCopy(state, it->second, key);
  if (it->second.crdMirror) co_return co_await reconcileCrd(state, it->second, key);
  if (it->second.clusterScoped) co_return co_await reconcileMirror(state, it->second, key);
  co_return co_await reconcileObject(state, it->second, key);
}

}  // namespace bisync::engine::internal
