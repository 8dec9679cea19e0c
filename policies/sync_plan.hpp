// What one reconcile of a source/target pair writes, decided by the policy alone: the fields
// each side should hold, whether each side needs a write, and the conflicts of the merge.
//
// Inputs are "sync views" of the two objects: only the fields that may travel (the engine
// strips runtime metadata and the syncer's own keys first), in the same coordinates on both
// sides (/data/key, /metadata/labels/tier). The syncer writes on the target the fields the
// source owns plus the `both` fields; on the source, the fields the target owns plus the
// `both` fields. Pure, no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policies/merge.hpp"
#include "policies/ownership.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::policies {

using FieldSegments = std::vector<std::string>;

struct SyncPlan {
  // What the target should hold of the fields the syncer writes there: the source-owned fields
  // of the source and the merged `both` fields.
  kube::Json forTarget{rapidjson::kObjectType};
  // What the source should hold of the fields the syncer writes there: the target-owned fields
  // of the target and the merged `both` fields.
  kube::Json forSource{rapidjson::kObjectType};
  // The `both` fields to remember as the last synced value (the next merge's base).
  kube::Json base{rapidjson::kObjectType};
  // The target's written fields (as `target` holds them) are not forTarget. The engine, whose
  // target cache keeps only a digest of the source-owned fields, compares hashes instead.
  bool targetDiffers = false;
  bool sourceDiffers = false;  // the source's written fields are not forSource
  std::vector<FieldConflict> conflicts;
};

// `base` is the last synced value of the `both` fields, nullptr when there is none yet; with a
// `baseForm` it holds, and SyncPlan::base is returned in, that form (merge.hpp). `writeTime` and
// `writtenBySyncer` are threeWayMerge's.
SyncPlan planSync(const kube::JsonValue& source, const kube::JsonValue& target,
                  const kube::JsonValue* base, const OwnershipMap& ownership,
                  const WriteTimeFn& writeTime = {}, const BaseForm& baseForm = {},
                  const WrittenBySyncerFn& writtenBySyncer = {});

// The fields the syncer writes on `side` as `view` holds them: source-owned and `both` fields
// on the target, target-owned and `both` fields on the source.
kube::Json writtenFields(const kube::JsonValue& view, Side side, const OwnershipMap& ownership);

// True when the policy has an `owner: both` rule, i.e. a merge base must be kept.
bool hasSharedFields(const OwnershipMap& ownership);

// Fields (leaves, as unescaped segments) that `wanted` sets to a value `has` does not hold.
std::vector<FieldSegments> changedFields(const kube::JsonValue& has, const kube::JsonValue& wanted);

// A JSON merge patch setting to null every field `has` holds and `wanted` lacks: what a
// server-side apply leaves behind when another field manager also owns those fields. nullopt
// when there is nothing to remove.
std::optional<kube::Json> removalPatch(const kube::JsonValue& has, const kube::JsonValue& wanted);

// May the syncer take `field` over from another field manager on `written` (the side being
// written)? Yes for a field the other side owns, and for a `both` field (the syncer writes one
// only with the value the merge chose: a change from the other side, or a conflict's winner);
// no for a field the written side owns or no rule covers (the syncer does not write those, so
// a conflict on one is left to its manager and reported).
bool mayForce(const OwnershipMap& ownership, const FieldSegments& field, Side written);

// The API server's name for a field in conflict messages and managedFields paths:
// ".metadata.labels.tier" for /metadata/labels/tier.
std::string managedFieldPath(const FieldSegments& field);

}  // namespace bisync::policies
