// Objects made on the target that flow up (createOnSource). See docs/sync-engine.md
// ("Directions and objects made on the target") and docs/security.md. The rules:
//   - only an object in a target namespace of ours, not ours, whose owner opted in (the label
//     kube-bisync.io/create-on-source: "true") and whose name has no source object is copied up;
//   - the copy is recorded in the ownership record before it is created (an intent: target uid,
//     no source uid yet), then created on the source with a POST that carries the target uid in
//     an annotation, then recorded with its source uid: that entry, never an annotation alone,
//     is what makes the pair. An intent left unfinished (a crash, a lost answer) is finished by
//     the next reconcile from the source object at that name if it carries that target uid;
//     otherwise the name is someone else's and the intent is dropped;
//   - when the recorded target object is gone, the recorded source object goes too.
#include <spdlog/spdlog.h>

#include "policies/sync_plan.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

// May `made`, a target object not ours, be copied up as source object `key`?
bool copiesUp(const SyncState& state, const ResourceSync& sync, const UpwardContext& context,
              const JsonValue& made) {
  return !state.mapper.originOf(made) && !isTerminating(made) &&
         mapping::optedInToCreateOnSource(made) && sync.translator->shouldSync(made) &&
         policySelects(sync.policy, context.key.ns, made);
}

// The source object `key` made from `target`: every field the policy lets travel, and a note
// for the user of where it came from.
kube::Result<Json> sourceBody(const SyncState& state, const ResourceSync& sync, const SyncKey& key,
                              const JsonValue& target) {
  const Json view = syncView(target);
  Json fields = policies::projection(view, policies::Owner::Source, *sync.ownership);
  for (const policies::Owner owner : {policies::Owner::Target, policies::Owner::Both}) {
    fields = policies::withProjection(fields, owner, view, *sync.ownership);
  }
  Json body = skeletonOf(sync.translator->resource(), key.ns, key.name, "");
  overlay(body, fields, body.GetAllocator());
  const mapping::Metadata note{
      {std::string(mapping::kCreatedFromTargetAnnotation), state.mapper.config().clusterName},
      {std::string(mapping::kCreatedFromTargetUidAnnotation), std::string(kube::uidOf(target))}};
  if (auto marked = mapping::mergeMetadata(body, body.GetAllocator(), "annotations", note);
      !marked) {
    return kube::fail(marked.error());
  }
  return body;
}

// Creates source object `key` from `target` (POST: an apply would merge into a source object
// made meanwhile), between the record's intent and its completion; the next reconcile adopts
// the target object.
asio::awaitable<Outcome> copyUp(SyncState& state, ResourceSync& sync, const UpwardContext& context,
                                const JsonValue& target) {
  const SyncKey& key = context.key;
  const kube::Result<Json> body = sourceBody(state, sync, key, target);
  if (!body) co_return fail(state, key, body.error().describe());
  CopiedUp entry{sync.name(), context.target.ns, context.target.name,
                 std::string(context.targetCached->uid), ""};
  if (context.copiedUp == nullptr || *context.copiedUp != entry) {
    if (const kube::Result<void> intent = co_await state.record->recordCopiedUp(entry); !intent) {
      co_return fail(state, key, intent.error().describe());
    }
  }
  kube::WriteOptions options;
  options.fieldManager = state.options.fieldManager;
  const kube::ResourceInfo& resource = sync.translator->resource();
  const kube::Result<Json> created =
      co_await state.sourceClient.create(resource, key.ns, *body, options);
  if (!created) {
    // Also a create that happened but whose answer was lost: the intent stays, and the next
    // reconcile finds the object.
    co_return fail(state, key, "create on the source: " + created.error().describe());
  }
  ++state.stats.source.creates;
  entry.sourceUid = std::string(kube::uidOf(*created));
  if (const kube::Result<void> recorded = co_await state.record->recordCopiedUp(entry); !recorded) {
    co_return fail(state, key, recorded.error().describe());  // finished from the intent
  }
  // Its event must still be reconciled: that reconcile adopts the target object.
  const std::string sourceKey = kube::objectKey(key.ns, key.name);
  recordPendingWrite(sync.pendingSourceWrites, sourceKey, kube::resourceVersionOf(*created));
  sync.pendingSourceWrites[sourceKey].deferred = true;
  logWrite(state, "created " + sync.name() + " " + sourceKey + " on the source from target " +
                      std::string(context.targetCached->key));
  co_return Outcome::Done;
}

}  // namespace

asio::awaitable<Outcome> reconcileUpward(SyncState& state, ResourceSync& sync,
                                         const UpwardContext& context) {
  const SyncKey& key = context.key;
  if (context.copiedUp != nullptr && !context.targetCached && !context.sourceCached &&
      targetNamespaceWatched(state, context.target.ns)) {
    // Both objects of a copied-up pair are gone.
    if (const kube::Result<void> done = co_await state.record->forgetCopiedUp(*context.copiedUp);
        !done) {
      co_return fail(state, key, done.error().describe());
    }
    co_return Outcome::Done;
  }
  if (!sync.createsOnSource || !context.targetCached || context.sourceCached ||
      !context.sourceNamespaceActive || !state.options.namespaces.selects(key.ns) ||
      !ownsCachedNamespace(state, context.target.ns) ||
      !targetNamespaceWatched(state, context.target.ns)) {
    co_return Outcome::Done;
  }
  const Json made = context.targetCached->parse();
  if (!copiesUp(state, sync, context, made)) co_return Outcome::Done;
  co_return co_await copyUp(state, sync, context, made);
}

asio::awaitable<kube::Result<std::optional<CopiedUp>>> settleCopyUpIntent(
    SyncState& state, const CopiedUp& intent, const kube::CachedObjectPtr& sourceCached) {
  const Json source = sourceCached->parse();
  const JsonValue* annotations = kube::at(source, "/metadata/annotations");
  const bool proven = annotations != nullptr &&
                      kube::stringMember(*annotations, mapping::kCreatedFromTargetUidAnnotation) ==
                          intent.targetUid;
  kube::Result<std::optional<CopiedUp>> settled =
      co_await state.record->finishOrForgetIntent(intent, proven, std::string(sourceCached->uid));
  if (settled && *settled) {
    spdlog::info("{} {}: finished the copy-up from target {} that was interrupted", intent.resource,
                 std::string(sourceCached->key), intent.name);
  } else if (settled) {
    spdlog::info("{} {}: not created from target {} (uid {}); forgetting the unfinished copy-up",
                 intent.resource, std::string(sourceCached->key), intent.name, intent.targetUid);
  }
  co_return settled;
}

asio::awaitable<Outcome> deleteCopiedUpSource(SyncState& state, ResourceSync& sync,
                                              const SyncKey& key,
                                              const kube::CachedObjectPtr& sourceCached,
                                              const CopiedUp& entry) {
  // The object the record names, never a newer one.
  const kube::Result<bool> removed = co_await removeIncarnation(
      state.sourceClient, sync.translator->resource(), key.ns, key.name, entry.sourceUid);
  if (!removed) {
    co_return fail(state, key, "delete on the source: " + removed.error().describe());
  }
  if (*removed) {
    ++state.stats.source.deletes;
    logWrite(state, "deleted " + sync.name() + " " + std::string(sourceCached->key) +
                        " on the source (copied up from a target object that is gone)");
  }
  // Until the source cache has seen it go, the object would look like an ordinary source
  // object without a copy, and be copied down again.
  recordPendingDeletion(sync.pendingSourceWrites, std::string(sourceCached->key), entry.sourceUid);
  if (const kube::Result<void> done = co_await state.record->forgetCopiedUp(entry); !done) {
    co_return fail(state, key, done.error().describe());
  }
  co_return Outcome::Done;
}

}  // namespace bisync::engine::internal
