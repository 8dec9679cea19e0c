// Three-way merge of the `owner: both` fields of one object: the last synced value (base)
// against the current source and target. A field changed on one side only takes that side's
// value (a removal included); a field changed on both sides to different values is a conflict,
// decided by its rule's onConflict. The result says what each side should hold and what to store
// as the new base. Fields are those of ownership.hpp; where any version of a field is not an
// object, the field is compared as a whole, so a change of type is simply a different value.
// Pure, no I/O. docs/policy-merge.md has the full rules.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::policies {

enum class Side { Source, Target };
// Which side's value a conflict kept; None for `reject`: each side keeps its own value and the
// field is written on neither side.
enum class Winner { Source, Target, None };

struct FieldConflict {
  std::string path;  // JSON pointer of the field, "/metadata/labels/tier"
  std::string rule;  // the path of the rule that decided, as written in the policy
  // Compact JSON text of each version; nullopt where the field is not set (removed, or never
  // there).
  std::optional<std::string> baseValue;
  std::optional<std::string> sourceValue;
  std::optional<std::string> targetValue;
  ConflictStrategy strategy = ConflictStrategy::Reject;
  Winner winner = Winner::None;
};

// When `side` last wrote `field` (unescaped segments): the time of the managedFields entry that
// owns it. Asked only for newest-wins conflicts, also for a side where the field is absent (the
// engine may answer with that side's last write of the object). nullopt: unknown.
using WriteTimeFn = std::function<std::optional<std::chrono::system_clock::time_point>(
    Side side, const std::vector<std::string>& field)>;

// Whether the syncer itself wrote `side`'s current value of `field`: its field manager is the only
// one owning the field there. Asked only for a field both sides changed differently, and only for a
// side where the field is set: a removal leaves nothing in managedFields to tell who made it.
using WrittenBySyncerFn = std::function<bool(Side side, const std::vector<std::string>& field)>;

// How a merge base holds a field's value. Empty: the value itself. For kinds whose values are
// secret (a Secret's data) the engine passes a digest function: the base, kept in an annotation on
// the target object, then holds the digest of each value, which is all a merge needs to tell
// whether a side changed a field since; conflicts then name digests instead of values too.
using BaseForm = std::function<std::string(const kube::JsonValue& value)>;

struct MergeResult {
  // The new last-synced value (in base form). A rejected field keeps its base value here, so the
  // conflict stands until one side reverts to it or both sides agree.
  kube::Json merged{rapidjson::kObjectType};
  // The both-owned fields each side should hold: `merged`, except that a rejected field keeps
  // that side's own current value.
  kube::Json forSource{rapidjson::kObjectType};
  kube::Json forTarget{rapidjson::kObjectType};
  std::vector<FieldConflict> conflicts;  // in path order
  bool sourceChanged = false;  // forSource differs from the source's current both-owned fields
  bool targetChanged = false;  // forTarget differs from the target's current both-owned fields
};

// `base` is nullptr on the first sync (nothing synced yet), which behaves as an empty base: a
// field on one side only is taken from it, a field on both sides with different values is a
// conflict. The three inputs may be whole objects or projections; only their `owner: both`
// fields are read. Unknown write times (or no `writeTime`) and equal times make newest-wins pick
// the source.
// With a `baseForm`, `base` holds every field in that form (as `merged` is returned), and the
// values of FieldConflict are in that form too.
// With `writtenBySyncer`, a field both sides changed differently where one side's value was
// written by the syncer (and the other's was not) is no conflict: the syncer only copies to a
// side what the other side or the merge held, so that value is a base the syncer failed to record
// (a crash between its two writes), and the other side's value, a real edit, wins.
MergeResult threeWayMerge(const kube::JsonValue* base, const kube::JsonValue& source,
                          const kube::JsonValue& target, const OwnershipMap& ownership,
                          const WriteTimeFn& writeTime = {}, const BaseForm& baseForm = {},
                          const WrittenBySyncerFn& writtenBySyncer = {});

std::string_view toString(Side side);
std::string_view toString(Winner winner);

}  // namespace bisync::policies
