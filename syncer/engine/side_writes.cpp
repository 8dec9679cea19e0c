// Writing the fields a policy gives one side, and reporting what the user must know: takeovers,
// refusals, conflicts, fights. See docs/sync-engine.md ("Policies at work").
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "policies/sync_plan.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;
using policies::FieldSegments;
using policies::Side;

constexpr std::string_view kFieldManagerConflict = "FieldManagerConflict";

std::string_view sideName(Side side) { return side == Side::Target ? "target" : "source"; }

// The manager a conflict cause names: `conflict with "kubectl-edit" using v1`.
std::string conflictingManager(const kube::StatusCause& cause) {
  const auto open = cause.message.find('"');
  const auto close = open == std::string::npos ? open : cause.message.find('"', open + 1);
  if (close == std::string::npos) return "another field manager";
  return cause.message.substr(open + 1, close - open - 1);
}

std::string describeRule(const policies::OwnershipMap& ownership, const FieldSegments& field) {
  const policies::FieldRule* rule = ownership.ruleFor(field);
  if (rule == nullptr) return "no rule: ignore";
  std::string text =
      "rule " + rule->path.text() + ": owner " + std::string(policies::toString(rule->owner));
  if (rule->onConflict)
    text += ", onConflict " + std::string(policies::toString(*rule->onConflict));
  return text;
}

// Removes body[field...] (the applied configuration stops claiming the field).
void removeField(JsonValue& body, const FieldSegments& field) {
  JsonValue* node = &body;
  for (std::size_t i = 0; i + 1 < field.size(); ++i) {
    auto it = node->FindMember(field[i].c_str());
    if (it == node->MemberEnd() || !it->value.IsObject()) return;
    node = &it->value;
  }
  node->RemoveMember(field.back().c_str());
}

// The answer to a create that met an object the cache did not know yet.
kube::Error alreadyExists(const SideWrite& write, std::string origin) {
  kube::Error error;
  error.kind = kube::ErrorKind::Api;
  error.httpStatus = 409;
  error.reason = "AlreadyExists";
  error.origin = std::move(origin);
  error.message = kube::objectKey(write.ns, write.name) +
                  " was created by someone else since the cache last saw the server; left as it is";
  return error;
}

// A managedFields entry of `object` that our apply did not write ("manager (operation)"): the
// apply did not create the object. (Our own name with another operation is someone else too: a
// client's manager name defaults to its user agent.)
std::optional<std::string> otherWriter(const JsonValue& object, std::string_view ours) {
  const JsonValue* entries = kube::at(object, "/metadata/managedFields");
  if (entries == nullptr || !entries->IsArray()) return std::nullopt;
  for (const JsonValue& entry : entries->GetArray()) {
    if (!entry.IsObject()) continue;
    const std::string_view manager = kube::stringMember(entry, "manager");
    const std::string_view operation = kube::stringMember(entry, "operation");
    if (manager != ours || operation != "Apply") {
      return std::string(manager) + " (" + std::string(operation) + ")";
    }
  }
  return std::nullopt;
}

// A field path of a conflict cause (".metadata.annotations.kube-bisync.io/merge-base") that is
// one of the syncer's own labels or annotations.
bool isSyncerKey(std::string_view field) {
  const std::string prefix(mapping::kSyncerKeyPrefix);
  return field.starts_with(".metadata.annotations." + prefix) ||
         field.starts_with(".metadata.labels." + prefix);
}

struct Decision {
  FieldSegments field;
  std::string manager;
};

kube::Client& clientOf(SyncState& state, Side side) {
  return side == Side::Target ? state.targetClient : state.sourceClient;
}

// One apply of `body` (to `subresource`), forcing or leaving the fields other managers own as
// the policy says.
asio::awaitable<kube::Result<Json>> applyDeciding(SyncState& state, ResourceSync& sync,
                                                  const JsonValue& source, SideWrite& write,
                                                  JsonValue& body, const std::string& subresource,
                                                  WriteReport& outcome) {
  kube::Client& client = clientOf(state, write.side);
  const kube::ResourceInfo& resource = sync.resourceOn(write.side);
  kube::ApplyOptions options;
  options.fieldManager = state.options.fieldManager;
  options.subresource = subresource;
  kube::Result<Json> applied = co_await client.apply(resource, write.ns, write.name, body, options);
  if (applied || !applied.error().isConflict()) co_return applied;
  const kube::Error conflict = applied.error();
  std::vector<const kube::StatusCause*> causes;
  for (const kube::StatusCause& cause : conflict.causes) {
    if (cause.type == kFieldManagerConflict) causes.push_back(&cause);
  }
  if (causes.empty()) co_return applied;  // a resourceVersion precondition: the cache is stale
  if (write.create) co_return kube::fail(alreadyExists(write, conflict.origin));  // not ours

  const std::vector<FieldSegments> changed = policies::changedFields(*write.has, *write.wanted);
  std::vector<Decision> forced;
  std::vector<Decision> left;
  bool syncerKeysTaken = false;
  for (const kube::StatusCause* cause : causes) {
    if (isSyncerKey(cause->field)) {
      // The syncer's own origin metadata, last-synced or merge base on an object it may write:
      // someone else wrote it, and the syncer takes it back (no policy covers these keys).
      spdlog::warn("{} {}: taking back {} from field manager {}", sideName(write.side),
                   kube::objectKey(write.ns, write.name), cause->field, conflictingManager(*cause));
      syncerKeysTaken = true;
      continue;
    }
    const auto match = std::find_if(changed.begin(), changed.end(), [&](const FieldSegments& f) {
      return policies::managedFieldPath(f) == cause->field;
    });
    if (match == changed.end()) {
      // Not a field this write means to change: nothing the policy can decide on.
      co_return applied;
    }
    Decision decision{*match, conflictingManager(*cause)};
    if (policies::mayForce(*sync.ownership, *match, write.side)) {
      forced.push_back(std::move(decision));
    } else {
      left.push_back(std::move(decision));
    }
  }
  const std::string object = std::string(sideName(write.side)) + " " + sync.name() + " " +
                             kube::objectKey(write.ns, write.name);
  for (const Decision& decision : left) {
    removeField(body, decision.field);
    const std::string message = "left " + policies::joinPointer(decision.field) + " of the " +
                                object + " to field manager " + decision.manager + " (" +
                                describeRule(*sync.ownership, decision.field) +
                                "): the policy does not let kube-bisync take it over";
    co_await report(state, sync, source, kReasonSyncRejected, message);
    outcome = {std::string(kStatusRejected), message};
  }
  for (const Decision& decision : forced) {
    ++state.stats.takeovers;
    const std::string path = policies::joinPointer(decision.field);
    const bool shared = sync.ownership->ownerOf(decision.field) == policies::Owner::Both;
    if (shared &&
        std::find(write.contested.begin(), write.contested.end(), path) == write.contested.end()) {
      continue;
    }
    const std::string message = "took over " + path + " of the " + object + " from field manager " +
                                decision.manager + " (" +
                                describeRule(*sync.ownership, decision.field) + ")";
    co_await report(state, sync, source, kReasonSyncConflict, message);
    if (outcome.result.empty()) outcome = {std::string(kStatusConflict), message};
  }
  options.force = !forced.empty() || syncerKeysTaken;
  co_return co_await client.apply(resource, write.ns, write.name, body, options);
}

}  // namespace

namespace {

// /status is only written through its subresource where the kind has one (the main resource
// then ignores it): moves it out of `write` into an apply configuration of its own. Without a
// subresource status is a field like any other and stays.
std::optional<Json> takeStatus(const ResourceSync& sync, SideWrite& write) {
  if (!write.body.HasMember("status") || !sync.resourceOn(write.side).statusSubresource) {
    return std::nullopt;
  }
  Json statusBody(rapidjson::kObjectType);
  auto& allocator = statusBody.GetAllocator();
  for (const char* field : {"apiVersion", "kind", "metadata"}) {
    if (write.body.HasMember(field)) {
      statusBody.AddMember(JsonValue(field, allocator), JsonValue(write.body[field], allocator),
                           allocator);
    }
  }
  statusBody.AddMember("status", JsonValue(write.body["status"], allocator), allocator);
  write.body.RemoveMember("status");
  return statusBody;
}

// The error of a write that made anew an object deleted meanwhile (`reason`: kReasonMadeAnew*).
kube::Error madeAnew(SyncState& state, const SideWrite& write, std::string_view reason,
                     std::string message) {
  kube::Error error;
  error.kind = kube::ErrorKind::Api;
  error.reason = std::string(reason);
  error.origin = clientOf(state, write.side).server();
  error.message = std::move(message);
  return error;
}

// `made`, the answer to `write`, is another object than the one meant (SideWrite::expectedUid):
// that one was deleted while the write was on its way, and the apply made it anew. On the source
// that is an object its user never made; on the target it undoes the deletion of a copied-up
// pair's target object, whose source must go with it; a cluster-scoped copy made so would skip
// the create, which never takes over an object someone else made at that name. The object made
// is deleted again at once (that incarnation only).
asio::awaitable<kube::Result<Json>> undoMadeAnew(SyncState& state, ResourceSync& sync,
                                                 const SideWrite& write, const JsonValue& made) {
  const std::string uid(kube::uidOf(made));
  const std::string at = kube::objectKey(write.ns, write.name);
  const std::string what = std::string(sideName(write.side)) + " " + sync.name() + " " + at;
  const kube::Result<bool> removed = co_await removeIncarnation(
      clientOf(state, write.side), sync.resourceOn(write.side), write.ns, write.name, uid);
  if (!removed) {
    co_return kube::fail(madeAnew(state, write, kReasonMadeAnewLeft,
                                  "the " + what +
                                      " was deleted while it was written, and the write made it "
                                      "anew; deleting that object: " +
                                      removed.error().describe()));
  }
  ++(write.side == Side::Target ? state.stats.target : state.stats.source).deletes;
  spdlog::warn(
      "the {} was deleted while the syncer wrote it, and the write made it anew (uid {}); "
      "deleted that object again",
      what, uid);
  recordPendingDeletion(write.side == Side::Target ? sync.pendingWrites : sync.pendingSourceWrites,
                        at, uid);
  co_return kube::fail(madeAnew(state, write, kReasonMadeAnew, "the " + what + " was made anew"));
}

}  // namespace

std::optional<Outcome> afterMadeAnew(SyncState& state, const SyncKey& key,
                                     const kube::Error& error) {
  if (error.reason == kReasonMadeAnew) return Outcome::Done;
  if (error.reason == kReasonMadeAnewLeft) return fail(state, key, error.message);
  return std::nullopt;
}

asio::awaitable<kube::Result<Json>> applyFields(SyncState& state, ResourceSync& sync,
                                                const JsonValue& source, SideWrite& write,
                                                WriteReport& outcome) {
  const std::string precondition(kube::resourceVersionOf(write.body));
  std::optional<Json> statusBody = takeStatus(sync, write);
  kube::Result<Json> written =
      co_await applyDeciding(state, sync, source, write, write.body, "", outcome);
  if (written && !write.expectedUid.empty() && kube::uidOf(*written) != write.expectedUid) {
    co_return co_await undoMadeAnew(state, sync, write, *written);
  }
  if (written && statusBody) {
    // The main write moved the resourceVersion on: the status write's precondition follows it.
    JsonValue& metadata = (*statusBody)["metadata"];
    if (metadata.HasMember("resourceVersion")) {
      metadata["resourceVersion"].SetString(
          kube::resourceVersionOf(*written).data(),
          static_cast<rapidjson::SizeType>(kube::resourceVersionOf(*written).size()),
          statusBody->GetAllocator());
    }
    written = co_await applyDeciding(state, sync, source, write, *statusBody, "status", outcome);
  }
  if (!written) co_return written;
  if (write.create) {
    if (const std::optional<std::string> other =
            otherWriter(*written, state.options.fieldManager)) {
      // The apply merged into an object someone else had just made: an empty apply releases
      // every field it took, which removes those nobody else holds, i.e. all it added.
      const Json release = skeletonOf(sync.translator->resource(), write.ns, write.name, "");
      kube::ApplyOptions options;
      options.fieldManager = state.options.fieldManager;
      const kube::Result<Json> released =
          co_await clientOf(state, write.side)
              .apply(sync.translator->resource(), write.ns, write.name, release, options);
      if (!released) {
        spdlog::error("cannot undo the apply to {} {} (made by {}): {}", sync.name(),
                      kube::objectKey(write.ns, write.name), *other, released.error().describe());
      }
      co_return kube::fail(alreadyExists(write, clientOf(state, write.side).server()));
    }
  }
  engine::WriteCounts& counts =
      write.side == Side::Target ? state.stats.target : state.stats.source;
  ++counts.applies;

  // Fields the side still holds but should not: another manager owns them too, so the apply
  // that dropped them left them in place.
  const Json after = syncView(*written);
  const Json held = policies::writtenFields(after, write.side, *sync.ownership);
  if (const std::optional<Json> removal = policies::removalPatch(held, *write.wanted)) {
    kube::PatchOptions options;
    options.fieldManager = state.options.fieldManager;
    const std::string body = kube::toJson(*removal);
    kube::Result<Json> patched = co_await clientOf(state, write.side)
                                     .patch(sync.translator->resource(), write.ns, write.name,
                                            kube::PatchType::Merge, body, options);
    if (!patched) co_return patched;
    if (state.options.logWrites) {
      spdlog::info("removed fields other managers keep from {} {} {}: {}", sideName(write.side),
                   sync.name(), kube::objectKey(write.ns, write.name),
                   sync.translator->holdsSecrets() ? std::string("(secret)") : body);
    }
    ++counts.patches;
    written = std::move(patched);
  }
  const std::string_view version = kube::resourceVersionOf(*written);
  if (version != precondition) {
    auto& pending = write.side == Side::Target ? sync.pendingWrites : sync.pendingSourceWrites;
    recordPendingWrite(pending, kube::objectKey(write.ns, write.name), version);
  }
  co_return written;
}

asio::awaitable<void> report(SyncState& state, ResourceSync& sync, const JsonValue& source,
                             std::string_view reason, std::string message) {
  spdlog::warn("{}: {} {}: {}", reason, sync.name(), kube::objectKey(source), message);
  co_await state.recorder.record(sync.translator->resource(), source, EventType::Warning, reason,
                                 message);
}

asio::awaitable<void> reportForbidden(SyncState& state, ResourceSync& sync, const std::string& key,
                                      const JsonValue& source, std::string_view side,
                                      const kube::Error& error) {
  // The failure's backoff may grow to the work queue's cap (1000 s); of the two delayed adds the
  // earlier is kept.
  state.queue.addAfter(key, state.options.clashRecheck);
  const std::string message = "the " + std::string(side) + " API server forbids " + error.verb +
                              " on " + error.resource + ": " + error.message;
  spdlog::debug("{}: {} {}: {}", kReasonForbidden, sync.name(), kube::objectKey(source), message);
  co_await state.recorder.record(sync.translator->resource(), source, EventType::Warning,
                                 kReasonForbidden, message);
  co_await setSyncStatus(state, sync, source, kStatusRejected, message);
}

asio::awaitable<void> reportMalformedAnnotation(SyncState& state, ResourceSync& sync,
                                                const JsonValue& source, const std::string& where,
                                                std::string_view annotation,
                                                const std::string& problem) {
  ++state.stats.malformedAnnotations;
  const std::string message = "annotation " + std::string(annotation) + " on the " + where +
                              " does not parse (" + problem + "); treated as absent";
  co_await report(state, sync, source, kReasonMalformedAnnotation, message);
}

asio::awaitable<void> setSyncStatus(SyncState& state, ResourceSync& sync, const JsonValue& source,
                                    std::string_view result, std::string_view message) {
  const std::string_view current =
      metadataEntry(source, "annotations", mapping::kSyncStatusAnnotation);
  if (current.empty() && result == kStatusSynced) co_return;
  // The value is JSON: {"result": ..., "message": ..., "time": ...}; the time alone changing is
  // no reason to write.
  const kube::Result<Json> parsed =
      kube::parseJson(current, mapping::kSyncStatusAnnotation, kAnnotationLimits);
  if (parsed && parsed->IsObject() && kube::stringMember(*parsed, "result") == result &&
      kube::stringMember(*parsed, "message") == message) {
    co_return;
  }
  if (!current.empty() && (!parsed || !parsed->IsObject())) {
    // Ours and unreadable: reported, and replaced by the current status (Synced included).
    const std::string problem = parsed ? "not a JSON object" : parsed.error().message;
    const std::string where = "source " + sync.name() + " " + kube::objectKey(source);
    co_await reportMalformedAnnotation(state, sync, source, where, mapping::kSyncStatusAnnotation,
                                       problem);
  }
  Json status(rapidjson::kObjectType);
  auto& allocator = status.GetAllocator();
  status.AddMember("result", kube::stringValue(result, allocator), allocator);
  status.AddMember("message", kube::stringValue(message, allocator), allocator);
  status.AddMember("time", kube::stringValue(rfc3339Now(), allocator), allocator);
  Json patch(rapidjson::kObjectType);
  auto& patchAllocator = patch.GetAllocator();
  JsonValue annotations(rapidjson::kObjectType);
  const std::string value = kube::toJson(status);
  annotations.AddMember(kube::stringValue(mapping::kSyncStatusAnnotation, patchAllocator),
                        kube::stringValue(value, patchAllocator), patchAllocator);
  JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("annotations", annotations, patchAllocator);
  patch.AddMember("metadata", metadata, patchAllocator);

  kube::PatchOptions options;
  options.fieldManager = state.options.fieldManager;
  const std::string body = kube::toJson(patch);
  const std::string ns(kube::namespaceOf(source));
  const std::string name(kube::nameOf(source));
  const kube::Result<Json> patched = co_await state.sourceClient.patch(
      sync.translator->resource(), ns, name, kube::PatchType::Merge, body, options);
  if (!patched) {
    spdlog::warn("cannot set {} on {} {}/{}: {}", mapping::kSyncStatusAnnotation, sync.name(), ns,
                 name, patched.error().describe());
    co_return;
  }
  ++state.stats.source.patches;
  recordPendingWrite(sync.pendingSourceWrites, kube::objectKey(ns, name),
                     kube::resourceVersionOf(*patched));
}

}  // namespace bisync::engine::internal
