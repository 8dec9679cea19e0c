// Cluster-scoped kinds under `direction: down`, which only a policy file can ask for: each source
// object the policy's selector picks has a copy on the target named `<cluster>-<name>`
// (IdentityMapper::toTargetClusterScoped), made of the fields the policy gives the target, with
// origin metadata; kept equal to the source (drift on the target restored) and deleted with it.
// Cluster-scoped objects live in no namespace of ours, so which copies are the syncer's says the
// ownership record alone (a copied-down entry with the copy's uid): an object at that name
// without one is a clash, reported and never touched. docs/sync-engine.md ("Cluster-scoped
// kinds").
#include <spdlog/spdlog.h>

#include "policies/sync_plan.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

// What one reconcile of a source name found.
struct ClusterCopy {
  const SyncKey& key;
  std::string targetName;         // <cluster>-<name>
  kube::CachedObjectPtr source;   // nullptr when the source has none
  kube::CachedObjectPtr target;   // whoever's object at targetName, or nullptr
  std::optional<CopiedUp> entry;  // the record's copied-down entry of targetName
  std::string describe() const { return "target " + targetName; }
};

// The object at the copy's name is the one this instance created, by the record.
bool recordedAsOurs(const ClusterCopy& copy) {
  return copy.target && copy.entry && copy.target->uid == copy.entry->targetUid;
}

// The source object is one the policy copies: present, not going, not skipped by the translator,
// and its labels match the policy's selector (namespaces do not apply to cluster-scoped objects).
bool selected(const ResourceSync& sync, const JsonValue& source) {
  if (isTerminating(source) || !sync.translator->shouldSync(source)) return false;
  for (const auto& [label, value] : sync.policy.matchLabels) {
    if (metadataEntry(source, "labels", label) != value) return false;
  }
  return true;
}

// The apply configuration of the copy: the source's fields the policy gives the target (taken
// from the generic translator's copy, so minus server-set metadata and status), the origin
// metadata and last-synced, which is the hash of the rest.
kube::Result<Json> copyBody(const SyncState& state, const ResourceSync& sync,
                            const ClusterCopy& copy, const JsonValue& source) {
  kube::Result<Json> translated = sync.translator->toTarget(source, state.mapper);
  if (!translated) return translated;
  const std::string version(copy.target ? copy.target->resourceVersion : "");
  Json body = skeletonOf(sync.translator->resource(), "", copy.targetName, version);
  auto& allocator = body.GetAllocator();
  const Json fields =
      policies::writtenFields(syncView(*translated), policies::Side::Target, *sync.ownership);
  overlay(body, fields, allocator);
  if (auto stamped =
          state.mapper.stampOrigin(body, allocator, {"", copy.key.name}, kube::uidOf(source));
      !stamped) {
    return kube::fail(stamped.error());
  }
  const std::string lastSynced = lastSyncedValue(writtenHash(body, *sync.ownership));
  if (auto stamped = mapping::setLastSynced(body, allocator, lastSynced); !stamped) {
    return kube::fail(stamped.error());
  }
  return body;
}

// The copy goes: deleted when the object at its name is the recorded incarnation (another one is
// someone else's), and its entry forgotten.
asio::awaitable<Outcome> removeCopy(SyncState& state, ResourceSync& sync, const ClusterCopy& copy) {
  if (recordedAsOurs(copy)) {
    const kube::Result<bool> removed =
        co_await removeIncarnation(state.targetClient, sync.translator->resource(), "",
                                   copy.targetName, copy.entry->targetUid);
    if (!removed) co_return fail(state, copy.key, "delete the copy: " + removed.error().describe());
    if (*removed) {
      ++state.stats.target.deletes;
      logWrite(state, "deleted " + sync.name() + " " + copy.describe());
    }
  }
  if (const kube::Result<void> forgotten = co_await state.record->forgetCopiedDown(*copy.entry);
      !forgotten) {
    co_return fail(state, copy.key, forgotten.error().describe());
  }
  co_return Outcome::Done;
}

// Records the copy `written` (its uid) as ours, for the source `source`.
asio::awaitable<Outcome> recordCopy(SyncState& state, ResourceSync& sync, const ClusterCopy& copy,
                                    const JsonValue& written, const JsonValue& source) {
  const CopiedUp entry{sync.name(), "", copy.targetName, std::string(kube::uidOf(written)),
                       std::string(kube::uidOf(source))};
  if (copy.entry == entry) co_return Outcome::Done;
  if (const kube::Result<void> recorded = co_await state.record->recordCopiedDown(entry);
      !recorded) {
    co_return fail(state, copy.key, "record the copy: " + recorded.error().describe());
  }
  co_return Outcome::Done;
}

// The target refused the write of the copy (carrying `lastSynced`): judgeRefusal decides, as
// for namespaced copies; a copy to replace is deleted and the key comes back to create it.
asio::awaitable<Outcome> writeRefused(SyncState& state, ResourceSync& sync, const ClusterCopy& copy,
                                      const JsonValue& source, const std::string& lastSynced,
                                      const kube::Error& error) {
  const Json actual = recordedAsOurs(copy) ? copy.target->parse() : Json();
  const JsonValue* ours = recordedAsOurs(copy) ? &actual : nullptr;
  switch (judgeRefusal(error, state.mapper, ours, source, sync.policy.onImmutable)) {
    case Refusal::ReportImmutable:
      co_await reportImmutableRefusal(state, sync, source, copy.target, lastSynced, error);
      co_return Outcome::Done;
    case Refusal::ReplaceEarlierIncarnation:
    case Refusal::RecreateImmutable: {
      const Outcome removed = co_await removeCopy(state, sync, copy);
      if (removed == Outcome::Done) state.enqueue(copy.key);  // created anew
      co_return removed;
    }
    case Refusal::Rejected: {
      const std::string message = "the target rejected " + copy.targetName + ": " + error.message;
      co_await report(state, sync, source, kReasonSyncRejected, message);
      break;
    }
    case Refusal::Forbidden:
      co_await reportForbidden(state, sync, copy.key.str(), source, "target", error);
      break;
    case Refusal::Retry: break;
  }
  co_return fail(state, copy.key, "apply " + copy.describe() + ": " + error.describe());
}

// Creates the copy, or puts it back to `body` where it differs; records it.
asio::awaitable<Outcome> writeCopy(SyncState& state, ResourceSync& sync, const ClusterCopy& copy,
                                   const JsonValue& source, Json body) {
  const std::string lastSynced(mapping::lastSyncedOf(body));
  const Json actual = copy.target ? copy.target->parse() : Json(rapidjson::kObjectType);
  // last-synced carries the hash of what `body` writes (copyBody).
  const bool upToDate =
      copy.target && lastSyncedValue(writtenHash(actual, *sync.ownership)) == lastSynced;
  // Our last write was exactly this, yet the copy differs: someone else changed it since.
  const bool rewritten = !upToDate && copy.target && mapping::lastSyncedOf(actual) == lastSynced;
  if (upToDate) {
    ++state.stats.unchanged;
    co_return co_await recordCopy(state, sync, copy, actual, source);
  }
  const std::string sourceKey = kube::objectKey("", copy.key.name);
  if (immutableRefusalStands(sync, sourceKey, copy.target, lastSynced)) co_return Outcome::Done;
  const std::string what = "the " + copy.describe() + " " + sync.name();
  if (co_await holdForFight(state, sync, copy.key, source, rewritten, what)) {
    co_return Outcome::Done;
  }
  const Json has =
      policies::writtenFields(syncView(actual), policies::Side::Target, *sync.ownership);
  const Json wanted =
      policies::writtenFields(syncView(body), policies::Side::Target, *sync.ownership);
  SideWrite write{policies::Side::Target,
                  "",
                  copy.targetName,
                  std::move(body),
                  &has,
                  &wanted,
                  {},
                  !copy.target,
                  copy.target ? std::string(copy.target->uid) : ""};
  WriteReport writeReport{std::string(kStatusSynced), ""};
  const kube::Result<Json> written = co_await applyFields(state, sync, source, write, writeReport);
  if (!written) {
    // The copy was deleted while it was written: the deletion's event brings the key back.
    if (const std::optional<Outcome> gone = afterMadeAnew(state, copy.key, written.error())) {
      co_return *gone;
    }
    co_return co_await writeRefused(state, sync, copy, source, lastSynced, written.error());
  }
  logWrite(state, "applied " + sync.name() + " " + copy.key.name + " -> " + copy.describe());
  co_await setSyncStatus(state, sync, source, writeReport.result, writeReport.message);
  co_return co_await recordCopy(state, sync, copy, *written, source);
}

// Both caches of the kind have listed: an object missing from them does not exist.
bool listed(const ResourceSync& sync) {
  const auto source = sync.source.find("");
  return source != sync.source.end() && source->second->hasSynced() &&
         sync.targetInformer("") != nullptr;
}

}  // namespace

asio::awaitable<Outcome> reconcileClusterCopy(SyncState& state, ResourceSync& sync,
                                              const SyncKey& key) {
  if (!listed(sync)) co_return fail(state, key, "the caches of the kind have not listed yet");
  ClusterCopy copy{key, state.mapper.toTargetClusterScoped(key.name, sync.translator->nameLimit()),
                   sync.sourceObject("", key.name), nullptr, std::nullopt};
  copy.target = sync.targetInformer("")->store().get(copy.targetName);
  if (const CopiedUp* found = state.record->findCopiedDown(sync.name(), copy.targetName)) {
    copy.entry = *found;
  }
  const Json source = copy.source ? copy.source->parse() : Json();
  if (!copy.source || !selected(sync, source)) {
    // A recorded copy whose object is gone, or another incarnation's, leaves only its entry.
    if (copy.entry) co_return co_await removeCopy(state, sync, copy);
    co_return Outcome::Done;
  }
  if (copy.target && !recordedAsOurs(copy)) {
    const std::string message = "target " + sync.name() + " " + copy.targetName +
                                " exists and is not the copy " + state.mapper.config().clusterName +
                                " made of " + key.name + "; leaving it";
    co_return co_await reportClash(state, sync.translator->resource(), key, source, message);
  }
  kube::Result<Json> body = copyBody(state, sync, copy, source);
  if (!body) {
    const std::string message = body.error().message;
    co_await report(state, sync, source, kReasonSyncFailed, message);
    co_return Outcome::Done;  // a change of the source re-queues the key
  }
  co_return co_await writeCopy(state, sync, copy, source, std::move(*body));
}

kube::InformerHandlers clusterCopyHandlers(SyncState& state, ResourceSync& sync) {
  // A target object concerns the source its origin names, or, not ours, the source whose copy
  // would take its name (a clash may be over).
  auto changed = [&state, &sync](const kube::CachedObjectPtr& object) {
    sync.pendingWrites.erase(std::string(object->key));  // nothing waits for own writes here
    const mapping::NameLimit limit = sync.translator->nameLimit();
    std::optional<std::string> source = state.mapper.clusterScopedSourceOf(object->parse(), limit);
    if (!source) source = state.mapper.clusterScopedSourceByName(object->key, limit);
    if (source) state.enqueue(SyncKey::object(sync.name(), "", *source));
  };
  return {changed,
          [changed](const kube::CachedObjectPtr&, const kube::CachedObjectPtr& current) {
            changed(current);
          },
          changed};
}

}  // namespace bisync::engine::internal
