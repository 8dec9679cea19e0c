// `crd: fromSource`: the CustomResourceDefinition of a kind the tenant defines is copied to the
// target under its own name (a CRD's name is <plural>.<group>, fixed by the API), so that the
// kind's objects can sync down. The copy is kept equal to the source's CRD (schema and served
// versions as they are; a conversion webhook, which runs in the tenant's cluster, is dropped),
// and never deleted: deleting a CRD deletes every object of its kind, the host's to decide.
// Which copies are the syncer's says the ownership record (a copied-down entry with the copy's
// uid): a target CRD of that name without one is the host's, reported and never touched.
// docs/policies.md ("crd"), docs/security.md.
#include <spdlog/spdlog.h>

#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

// The target copy of the source CRD `crd`: what may travel of it (not its status), the origin
// metadata of a cluster-scoped object, no conversion webhook.
kube::Result<Json> copyOf(const SyncState& state, const ResourceSync& sync, const JsonValue& crd) {
  Json copy = contentOf(sync.translator->resource(), crd);
  dropConversionWebhook(copy, "target");
  const mapping::SourceKey key{"", std::string(kube::nameOf(crd))};
  if (auto stamped = state.mapper.stampOrigin(copy, copy.GetAllocator(), key, kube::uidOf(crd));
      !stamped) {
    return kube::fail(stamped.error());
  }
  return copy;
}

asio::awaitable<Outcome> createCopy(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                    const JsonValue& crd, const Json& copy) {
  const kube::Result<Json> created =
      co_await state.targetClient.create(sync.translator->resource(), "", copy);
  if (!created) co_return fail(state, key, "create on the target: " + created.error().describe());
  ++state.stats.target.creates;
  logWrite(state, "copied " + sync.name() + " " + key.name + " -> target");
  const CopiedUp entry{sync.name(), "", key.name, std::string(kube::uidOf(*created)),
                       std::string(kube::uidOf(crd))};
  if (const kube::Result<void> recorded = co_await state.record->recordCopiedDown(entry);
      !recorded) {
    co_return fail(state, key, "record the copy: " + recorded.error().describe());
  }
  co_return Outcome::Done;
}

// Puts our copy back to `copy` (the source CRD changed, or someone edited the copy). A change the
// target refuses (a CRD's immutable parts) is reported on the source CRD, never forced.
asio::awaitable<Outcome> restoreCopy(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                     const JsonValue& crd, const kube::CachedObjectPtr& target,
                                     const Json& copy) {
  const std::string patch =
      kube::toJson(restorePatch(copy, target->parse(), target->resourceVersion));
  const kube::Result<Json> updated = co_await state.targetClient.patch(
      sync.translator->resource(), "", key.name, kube::PatchType::JsonPatch, patch);
  if (updated) {
    ++state.stats.target.patches;
    logWrite(state, "restored the copy " + sync.name() + " " + key.name + " on the target");
    co_return Outcome::Done;
  }
  if (!isRejection(updated.error())) {
    co_return fail(state, key, "update on the target: " + updated.error().describe());
  }
  const std::string message = "the target refused the copy of CustomResourceDefinition " +
                              key.name + ": " + updated.error().message;
  co_await report(state, sync, crd, kReasonSyncRejected, message);
  co_return Outcome::Done;  // not retried until the source CRD changes
}

// Copies the source CRD `crd` (of key `key`) to the target, or keeps our copy equal to it.
asio::awaitable<Outcome> copyCrd(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                 const Json& crd) {
  const kube::Informer* targets = sync.targetInformer("");
  if (targets == nullptr) co_return fail(state, key, "the target's cache has not listed yet");
  const kube::CachedObjectPtr target = targets->store().get(key.name);
  if (isTerminating(crd)) co_return Outcome::Done;  // its kind goes; the copy stays
  kube::Result<Json> copy = copyOf(state, sync, crd);
  if (!copy) co_return fail(state, key, copy.error().describe());
  if (!target) co_return co_await createCopy(state, sync, key, crd, *copy);
  const CopiedUp* entry = state.record->findCopiedDown(sync.name(), key.name);
  if (entry == nullptr || entry->targetUid != target->uid) {
    const std::string message = "target " + sync.name() + " " + key.name +
                                " exists and was not copied there by " +
                                state.mapper.config().clusterName +
                                "; leaving it (the kind's objects sync only if it serves them)";
    co_return co_await reportClash(state, sync.sourceResource, key, crd, message,
                                   kReasonForeignCrd);
  }
  if (sameContent(*copy, target->parse())) {
    ++state.stats.unchanged;
    co_return Outcome::Done;
  }
  co_return co_await restoreCopy(state, sync, key, crd, target, *copy);
}

}  // namespace

asio::awaitable<Outcome> reconcileCrd(SyncState& state, ResourceSync& sync, const SyncKey& key) {
  if (const kube::CachedObjectPtr source = sync.sourceObject("", key.name);
      source && !sync.copiedCrds.empty()) {
    const Json crd = source->parse();
    if (wantedCrd(sync.copiedCrds, crd)) co_return co_await copyCrd(state, sync, key, crd);
  }
  co_return co_await reconcileMirror(state, sync, key);
}

}  // namespace bisync::engine::internal
