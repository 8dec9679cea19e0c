// Cluster-scoped kinds under `direction: up` (StorageClass, IngressClass, PriorityClass,
// RuntimeClass, cluster-scoped CRDs): the target objects the policy's selector picks appear in
// the source under the same name, read-only there. A tenant's edit of such a mirror is undone,
// its deletion too; objects of the kind the tenant made itself are left alone and never synced
// down. Which mirrors are the syncer's says the ownership record (a copied-up entry with the
// mirror's uid), never an annotation the tenant could copy: only those are ever updated or
// deleted. docs/sync-engine.md ("Cluster-scoped kinds").
#include <spdlog/spdlog.h>

#include <array>

#include "policies/field_path.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

// Top-level members a restore leaves alone: the identity, and status, which belongs to the
// cluster whose controllers write it.
constexpr std::array<std::string_view, 4> kNotCopied = {"apiVersion", "kind", "metadata", "status"};

// The source mirror of the target object `target` (contentOf), marked as made from the target
// by `cluster`.
Json mirrorOf(const kube::ResourceInfo& resource, const JsonValue& target,
              const std::string& cluster) {
  Json out = contentOf(resource, target);
  const mapping::Metadata marker{{std::string(mapping::kCreatedFromTargetAnnotation), cluster}};
  (void)mapping::mergeMetadata(out, out.GetAllocator(), "annotations", marker);
  return out;
}

// The tenant's own object of that name: never touched, never synced down; reported.
asio::awaitable<Outcome> reportForeign(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                       const kube::CachedObjectPtr& source) {
  const bool crd = sync.crdMirror;
  const std::string message = "source " + sync.name() + " " + key.name +
                              " exists and was not made by " + state.mapper.config().clusterName +
                              " from the target; leaving it" +
                              (crd ? " (and the kind's objects sync only if it serves them)" : "");
  const Json object = source->parse();
  const std::string_view reason = crd ? kReasonForeignCrd : kReasonNameClash;
  co_return co_await reportClash(state, sync.sourceResource, key, object, message, reason);
}

// Creates the mirror (absent from the source) and records it as ours.
asio::awaitable<Outcome> createMirror(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                      const kube::CachedObjectPtr& target, const Json& mirror) {
  const kube::Result<Json> created =
      co_await state.sourceClient.create(sync.sourceResource, "", mirror);
  if (!created) co_return fail(state, key, "create on the source: " + created.error().describe());
  ++state.stats.source.creates;
  logWrite(state, "mirrored " + sync.name() + " " + key.name + " -> source");
  const CopiedUp entry{sync.name(), "", key.name, std::string(target->uid),
                       std::string(kube::uidOf(*created))};
  if (const kube::Result<void> recorded = co_await state.record->recordCopiedUp(entry); !recorded) {
    co_return fail(state, key, "record the mirror: " + recorded.error().describe());
  }
  co_return Outcome::Done;
}

// Puts the mirror `source` (ours) back to `wanted`: a tenant's edit is undone. A mirror the
// source refuses to change in place (an immutable field the target's object changed) is
// deleted; the next reconcile creates it anew.
asio::awaitable<Outcome> restoreMirror(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                       const kube::CachedObjectPtr& source, const Json& wanted) {
  const Json current = source->parse();
  const std::string patch = kube::toJson(restorePatch(wanted, current, source->resourceVersion));
  const kube::Result<Json> updated = co_await state.sourceClient.patch(
      sync.sourceResource, "", key.name, kube::PatchType::JsonPatch, patch);
  if (updated) {
    ++state.stats.source.patches;
    logWrite(state, "restored the mirror " + sync.name() + " " + key.name + " on the source");
    co_return Outcome::Done;
  }
  if (!kube::isImmutableFieldError(updated.error())) {
    co_return fail(state, key, "restore on the source: " + updated.error().describe());
  }
  if (sync.crdMirror) {
    // Deleting a CRD deletes every object of its kind: the tenant's to decide, not ours.
    const std::string message = "the copy of CustomResourceDefinition " + key.name +
                                " cannot follow the target's (" + updated.error().message +
                                "); delete it to have it copied anew";
    spdlog::error("{}", message);
    const std::string_view reason = kReasonSyncRejected;
    co_await state.recorder.record(sync.sourceResource, current, EventType::Warning, reason,
                                   message);
    co_return Outcome::Done;
  }
  const kube::Result<bool> removed = co_await removeIncarnation(
      state.sourceClient, sync.sourceResource, "", key.name, source->uid);
  if (!removed) co_return fail(state, key, "replace: " + removed.error().describe());
  ++state.stats.source.deletes;
  state.enqueue(key);
  co_return Outcome::Done;
}

// The target object is gone or no longer selected: our mirror goes too, and its entry.
asio::awaitable<Outcome> removeMirror(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                      const kube::CachedObjectPtr& source, const CopiedUp& entry) {
  if (source && source->uid == entry.sourceUid) {
    const kube::Result<bool> removed = co_await removeIncarnation(
        state.sourceClient, sync.sourceResource, "", key.name, source->uid);
    if (!removed) co_return fail(state, key, "delete the mirror: " + removed.error().describe());
    if (*removed) ++state.stats.source.deletes;
  }
  if (const kube::Result<void> forgotten = co_await state.record->forgetCopiedUp(entry);
      !forgotten) {
    co_return fail(state, key, forgotten.error().describe());
  }
  co_return Outcome::Done;
}

}  // namespace

Json contentOf(const kube::ResourceInfo& resource, const JsonValue& object) {
  Json out = skeletonOf(resource, "", kube::nameOf(object), "");
  Json view = syncView(object);
  view.RemoveMember("status");
  overlay(out, view, out.GetAllocator());
  return out;
}

bool sameContent(const JsonValue& mirror, const JsonValue& current) {
  Json view = syncView(current);
  view.RemoveMember("status");
  return mapping::canonicalJson(syncView(mirror)) == mapping::canonicalJson(view);
}

bool wantedCrd(const std::vector<kube::GroupVersionKind>& kinds, const JsonValue& crd) {
  const std::string_view group = kube::stringAt(crd, "/spec/group");
  const std::string_view kind = kube::stringAt(crd, "/spec/names/kind");
  return std::any_of(kinds.begin(), kinds.end(), [&](const kube::GroupVersionKind& wanted) {
    return wanted.group == group && wanted.kind == kind;
  });
}

void dropConversionWebhook(Json& crd, std::string_view to) {
  JsonValue* conversion = kube::JsonPointer("/spec/conversion").Get(crd);
  if (conversion == nullptr || kube::stringMember(*conversion, "strategy") != "Webhook") return;
  spdlog::warn(
      "CustomResourceDefinition {}: its conversion webhook is not copied to the {} (it runs in "
      "the other cluster); the copy has conversion strategy None",
      kube::nameOf(crd), to);
  Json none(rapidjson::kObjectType);
  none.AddMember("strategy", "None", none.GetAllocator());
  conversion->CopyFrom(none, crd.GetAllocator());
}

Json restorePatch(const JsonValue& wanted, const JsonValue& current, std::string_view version) {
  Json patch(rapidjson::kArrayType);
  auto& allocator = patch.GetAllocator();
  const auto operation = [&](const char* op, const std::string& path, const JsonValue* value) {
    JsonValue entry(rapidjson::kObjectType);
    entry.AddMember("op", JsonValue(op, allocator), allocator);
    entry.AddMember("path", kube::stringValue(path, allocator), allocator);
    if (value != nullptr) entry.AddMember("value", JsonValue(*value, allocator), allocator);
    patch.PushBack(entry, allocator);
  };
  const JsonValue versionValue(version.data(), static_cast<rapidjson::SizeType>(version.size()));
  operation("test", "/metadata/resourceVersion", &versionValue);
  const JsonValue none(rapidjson::kObjectType);
  for (const char* field : {"labels", "annotations"}) {
    const JsonValue* entries = kube::at(wanted, "/metadata/" + std::string(field));
    operation("add", "/metadata/" + std::string(field), entries != nullptr ? entries : &none);
  }
  for (const auto& member : wanted.GetObject()) {
    const std::string_view name = kube::stringView(member.name);
    if (std::find(kNotCopied.begin(), kNotCopied.end(), name) != kNotCopied.end()) continue;
    operation("add", "/" + policies::escapeSegment(name), &member.value);
  }
  for (const auto& member : current.GetObject()) {
    const std::string_view name = kube::stringView(member.name);
    if (std::find(kNotCopied.begin(), kNotCopied.end(), name) != kNotCopied.end() ||
        wanted.HasMember(member.name)) {
      continue;
    }
    operation("remove", "/" + policies::escapeSegment(name), nullptr);
  }
  return patch;
}

std::string labelSelectorOf(const policies::SyncPolicy& policy) {
  std::string selector;
  for (const auto& [label, value] : policy.matchLabels) {
    selector += (selector.empty() ? "" : ",") + label + "=" + value;
  }
  return selector;
}

asio::awaitable<Outcome> reconcileMirror(SyncState& state, ResourceSync& sync, const SyncKey& key) {
  const kube::Informer* targets = sync.targetInformer("");
  if (targets == nullptr) co_return fail(state, key, "the target's cache has not listed yet");
  const kube::CachedObjectPtr target = targets->store().get(key.name);
  const kube::CachedObjectPtr source = sync.sourceObject("", key.name);
  std::optional<CopiedUp> entry;
  if (const CopiedUp* found = state.record->findCopiedUp(sync.name(), "", key.name)) entry = *found;
  const bool ours = entry && source && source->uid == entry->sourceUid;

  const bool crds = sync.crdMirror;
  const Json targetObject = target ? target->parse() : Json();
  const bool selected = target && !isTerminating(targetObject) &&
                        (!crds || wantedCrd(sync.mirroredCrds, targetObject));
  if (!selected) {
    // A CRD mirror stays: deleting it would delete every object of its kind in the source.
    if (entry && !crds) co_return co_await removeMirror(state, sync, key, source, *entry);
    co_return Outcome::Done;
  }
  Json mirror = mirrorOf(sync.sourceResource, targetObject, state.mapper.config().clusterName);
  if (crds) dropConversionWebhook(mirror, "source");
  if (!source) co_return co_await createMirror(state, sync, key, target, mirror);
  if (!ours) co_return co_await reportForeign(state, sync, key, source);
  if (entry->targetUid != target->uid) {
    // The target object was replaced: the mirror follows the new one.
    entry->targetUid = std::string(target->uid);
    if (const kube::Result<void> recorded = co_await state.record->recordCopiedUp(*entry);
        !recorded) {
      co_return fail(state, key, recorded.error().describe());
    }
  }
  if (sameContent(mirror, source->parse())) {
    ++state.stats.unchanged;
    co_return Outcome::Done;
  }
  co_return co_await restoreMirror(state, sync, key, source, mirror);
}

}  // namespace bisync::engine::internal
