#include "syncer/engine/pair_decision.hpp"

#include <algorithm>

#include "mapping/identity_mapper.hpp"
#include "syncer/engine/cache_forms.hpp"
#include "syncer/engine/managed_fields.hpp"
#include "syncer/kube/backoff.hpp"

namespace bisync::engine {

namespace {

using kube::Json;
using kube::JsonValue;

// Why the origin of a target object that is not our copy does not make it one, for the report.
std::string notOursBecause(const tl::expected<mapping::Origin, mapping::OriginError>& origin) {
  if (origin) return " (its origin metadata does not match where it is)";
  if (origin.error().problem == mapping::OriginProblem::NotManaged) {
    return " (no kube-bisync origin metadata)";
  }
  return " (" + origin.error().message + ")";
}

// The source's fields that may travel (`view`) over the policy's maxObjectBytes: why.
std::optional<std::string> overLimit(const policies::SyncPolicy& policy, const JsonValue& view) {
  if (!policy.limits.maxObjectBytes) return std::nullopt;
  const std::size_t bytes = kube::toJson(view).size();
  if (static_cast<std::int64_t>(bytes) <= *policy.limits.maxObjectBytes) return std::nullopt;
  return "not synced: its fields that may travel are " + std::to_string(bytes) +
         " bytes, more than the policy's maxObjectBytes " +
         std::to_string(*policy.limits.maxObjectBytes);
}

// The last-synced value of a write of `hash` with the owner references `owners`. They are not
// in the digest a cached copy carries (others may add references of their own to a copy, and
// those must not look like drift), so a change of ours shows in last-synced alone.
std::string lastSyncedWith(const std::string& hash, const JsonValue& owners) {
  if (owners.Empty()) return lastSyncedValue(hash);
  Json input(rapidjson::kObjectType);
  auto& allocator = input.GetAllocator();
  input.AddMember("written", kube::stringValue(hash, allocator), allocator);
  input.AddMember("ownerReferences", JsonValue(owners, allocator), allocator);
  return mapping::contentHash(input);
}

// The skeleton (with the cached copy's version as the precondition), the plan's fields, the
// origin metadata, the owner references, the merge base and last-synced.
kube::Result<TargetApply> targetApply(const PairInputs& in, const policies::SyncPlan& plan) {
  TargetApply apply{skeletonOf(in.resource, in.target.ns, in.target.name, in.targetVersion), "",
                    ""};
  Json& desired = apply.body;
  auto& allocator = desired.GetAllocator();
  overlay(desired, plan.forTarget, allocator);
  if (auto stamped = in.mapper.stampOrigin(desired, allocator, in.key, kube::uidOf(in.source));
      !stamped) {
    return kube::fail(stamped.error());
  }
  if (policies::hasSharedFields(in.ownership)) {
    const mapping::Metadata baseEntry{
        {std::string(mapping::kMergeBaseAnnotation), mapping::canonicalJson(plan.base)}};
    (void)mapping::mergeMetadata(desired, allocator, "annotations", baseEntry);
  }
  // One hash of what the syncer writes: last-synced carries it, and the target cache keeps a
  // digest of the same in place of the fields themselves (cache_forms.hpp).
  const std::string hash = writtenHash(desired, in.ownership);
  apply.lastSynced = lastSyncedWith(hash, in.ownerRefs);
  apply.digest = writtenDigest(hash);
  if (!in.ownerRefs.Empty()) {
    desired["metadata"].AddMember("ownerReferences", JsonValue(in.ownerRefs, allocator), allocator);
  }
  if (auto stamped = mapping::setLastSynced(desired, allocator, apply.lastSynced); !stamped) {
    return kube::fail(stamped.error());
  }
  return apply;
}

policies::SyncPlan planOf(const PairInputs& in, const JsonValue& sourceView,
                          const JsonValue& targetView) {
  const policies::WriteTimeFn writeTime =
      [&in](policies::Side side,
            const std::vector<std::string>& field) -> std::optional<WriteTime> {
    if (side == policies::Side::Source) return fieldWriteTime(in.source, field, in.fieldManager);
    if (in.actual == nullptr) return std::nullopt;
    return fieldWriteTime(*in.actual, field, in.fieldManager);
  };
  // Our own field manager alone owning a side's value: the syncer copied it there (merge.hpp).
  const policies::WrittenBySyncerFn writtenBySyncer = [&in](policies::Side side,
                                                            const std::vector<std::string>& field) {
    const JsonValue* object = side == policies::Side::Source ? &in.source : in.actual;
    return object != nullptr && ownedOnlyBy(*object, field, in.fieldManager);
  };
  return policies::planSync(sourceView, targetView, in.mergeBase, in.ownership, writeTime,
                            in.baseForm, writtenBySyncer);
}

// Whether `copy`, our copy at the source's key, was made from another incarnation of `source`.
bool copyOfEarlierIncarnation(const mapping::IdentityMapper& mapper, const JsonValue& copy,
                              const JsonValue& source) {
  const auto origin = mapper.originOf(copy);
  const std::string_view uid = kube::uidOf(source);
  return origin && !origin->uid.empty() && !uid.empty() && origin->uid != uid;
}

// Whether the sync view of a copy holds a field the policy gives the target or both sides.
bool holdsTargetFields(const JsonValue& targetView, const policies::OwnershipMap& ownership) {
  return !policies::projection(targetView, policies::Owner::Target, ownership).ObjectEmpty() ||
         !policies::projection(targetView, policies::Owner::Both, ownership).ObjectEmpty();
}

TargetWrite targetWriteOf(const PairInputs& in, const TargetApply& apply) {
  if (in.actual == nullptr) {
    // Objects are created downward only with down or bidirectional.
    return in.policy.direction == policies::Direction::Up ? TargetWrite::None : TargetWrite::Create;
  }
  const bool appliedLast = mapping::lastSyncedOf(*in.actual) == apply.lastSynced;
  if (!appliedLast) return TargetWrite::Update;
  // Our last write was exactly this, yet the target differs: someone else changed it since.
  return storedWrittenDigest(*in.actual, in.ownership) == apply.digest ? TargetWrite::None
                                                                       : TargetWrite::Restore;
}

}  // namespace

bool isTerminating(const JsonValue& object) {
  return kube::at(object, "/metadata/deletionTimestamp") != nullptr ||
         kube::stringAt(object, "/status/phase") == "Terminating";
}

TargetVerdict judgeTarget(const mapping::IdentityMapper& mapper, const mapping::SourceKey& source,
                          std::string_view what, const JsonValue* target, bool copiedUp) {
  if (target == nullptr) return {};
  const auto origin = mapper.originOf(*target);
  const bool copy = origin && !origin->ns.empty() &&
                    mapper.targetNamespace(origin->ns) == kube::namespaceOf(*target);
  if (copy && origin->key() == source) return {TargetRole::OurCopy, ""};
  if (copy) {
    return {TargetRole::Clash, "target " + std::string(what) + " already holds the copy of " +
                                   origin->ns + "/" + origin->name};
  }
  if (copiedUp && !isTerminating(*target)) return {TargetRole::Adopted, ""};
  return {TargetRole::Clash, "target " + std::string(what) + " exists and is not managed by " +
                                 mapper.config().clusterName + notOursBecause(origin) +
                                 "; leaving it untouched"};
}

kube::Result<PairDecision> decidePair(const PairInputs& in) {
  PairDecision decision;
  const std::string what = in.resource.resource + " " + in.target.ns + "/" + in.target.name;
  decision.target = judgeTarget(in.mapper, in.key, what, in.actual, in.copiedUp);
  if (decision.target.role == TargetRole::Clash) return decision;
  decision.sourceView = syncView(in.source);
  decision.rejected = overLimit(in.policy, decision.sourceView);
  if (decision.rejected) return decision;
  if (in.actual != nullptr) {
    decision.targetView = syncView(in.actualForSource ? *in.actualForSource : *in.actual);
    if (decision.target.role == TargetRole::OurCopy &&
        copyOfEarlierIncarnation(in.mapper, *in.actual, in.source) &&
        holdsTargetFields(decision.targetView, in.ownership)) {
      decision.replaceEarlierIncarnation = true;
      return decision;
    }
  }
  // Identity mapper -> translator -> policy: what the source owns travels as the translator
  // made it; what the target owns or shares is the source's own, to compare and merge.
  const Json desired = policies::withProjection(decision.sourceView, policies::Owner::Source,
                                                syncView(in.translated), in.ownership);
  decision.plan = planOf(in, desired, decision.targetView);
  for (const policies::FieldConflict& conflict : decision.plan.conflicts) {
    decision.contested.push_back(conflict.path);
  }
  kube::Result<TargetApply> apply = targetApply(in, decision.plan);
  if (!apply) return kube::fail(apply.error());
  decision.apply = std::move(*apply);
  decision.writeSource = in.actual != nullptr && decision.plan.sourceDiffers;
  decision.targetWrite = targetWriteOf(in, decision.apply);
  return decision;
}

bool isRejection(const kube::Error& error) {
  return error.kind == kube::ErrorKind::Api && error.httpStatus >= 400 && error.httpStatus < 500 &&
         !error.isConflict() && !error.isAlreadyExists() && !error.isTooManyRequests() &&
         !error.isNotFound();
}

Refusal judgeRefusal(const kube::Error& error, const mapping::IdentityMapper& mapper,
                     const JsonValue* actual, const JsonValue& source,
                     policies::OnImmutable onImmutable) {
  if (actual != nullptr && error.isInvalid()) {
    // A copy of an earlier incarnation of the source (recreated under the same name) that the
    // target refuses to update in place (an immutable ConfigMap, a Secret's type) is replaced.
    const auto origin = mapper.originOf(*actual);
    const std::string_view uid = kube::uidOf(source);
    if (origin && !uid.empty() && origin->uid != uid) return Refusal::ReplaceEarlierIncarnation;
  }
  if (actual != nullptr && kube::isImmutableFieldError(error)) {
    return onImmutable == policies::OnImmutable::Report ? Refusal::ReportImmutable
                                                        : Refusal::RecreateImmutable;
  }
  // Not the object's fault: the permission may come back, and the report names the rule.
  if (error.isForbidden()) return Refusal::Forbidden;
  return isRejection(error) ? Refusal::Rejected : Refusal::Retry;
}

std::vector<std::string> unwantedTargets(const std::set<std::string>* misplaced, bool sourceSynced,
                                         bool targetPresent, const std::string& targetKey) {
  std::vector<std::string> unwanted;
  if (misplaced != nullptr) unwanted.assign(misplaced->begin(), misplaced->end());
  if (!sourceSynced && targetPresent) unwanted.push_back(targetKey);
  return unwanted;
}

FightVerdict judgeFight(FightState& state, std::chrono::steady_clock::time_point now,
                        bool rewritten, const FightOptions& options) {
  FightVerdict verdict;
  if (now < state.backoffUntil) {
    verdict.hold = true;
    verdict.wait = state.backoffUntil - now;
    return verdict;
  }
  const auto window = options.window;
  if (!rewritten) {
    // A key quiet for a window after its last backoff and rewrite has no fight to remember.
    verdict.forget = now - state.backoffUntil > window &&
                     (state.rewrites.empty() || now - state.rewrites.back() > window);
    return verdict;
  }
  while (!state.rewrites.empty() && now - state.rewrites.front() > window) {
    state.rewrites.pop_front();
  }
  state.rewrites.push_back(now);
  // Right after a backoff one more rewrite continues the fight; otherwise it takes more than
  // the threshold within the window to start one.
  const bool continuing = state.level > 0 && now - state.backoffUntil < window;
  if (!continuing && state.level > 0) state.level = 0;
  if (!continuing && static_cast<int>(state.rewrites.size()) <= options.threshold) return verdict;
  ++state.level;
  const kube::ExponentialBackoff backoff({.base = options.backoff, .max = options.backoffMax});
  const auto delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(backoff.delay(state.level - 1));
  state.backoffUntil = now + delay;
  verdict = {true, delay, true, state.rewrites.size(), delay, false};
  state.rewrites.clear();
  return verdict;
}

Json skeletonOf(const kube::ResourceInfo& resource, std::string_view ns, std::string_view name,
                std::string_view resourceVersion) {
  Json out(rapidjson::kObjectType);
  auto& allocator = out.GetAllocator();
  out.AddMember("apiVersion", kube::stringValue(resource.apiVersion(), allocator), allocator);
  out.AddMember("kind", kube::stringValue(resource.kind, allocator), allocator);
  JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", kube::stringValue(name, allocator), allocator);
  if (!ns.empty()) metadata.AddMember("namespace", kube::stringValue(ns, allocator), allocator);
  if (!resourceVersion.empty()) {
    metadata.AddMember("resourceVersion", kube::stringValue(resourceVersion, allocator), allocator);
  }
  out.AddMember("metadata", metadata, allocator);
  return out;
}

void overlay(JsonValue& object, const JsonValue& fields, kube::Json::AllocatorType& allocator) {
  for (const auto& field : fields.GetObject()) {
    auto existing = object.FindMember(field.name);
    if (existing == object.MemberEnd()) {
      object.AddMember(JsonValue(field.name, allocator), JsonValue(field.value, allocator),
                       allocator);
    } else if (existing->value.IsObject() && field.value.IsObject()) {
      overlay(existing->value, field.value, allocator);
    } else {
      existing->value.CopyFrom(field.value, allocator);
    }
  }
}

}  // namespace bisync::engine
