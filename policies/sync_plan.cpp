#include "policies/sync_plan.hpp"

#include <algorithm>

#include "policies/internal/json_tree.hpp"

namespace bisync::policies {

namespace {

using internal::Allocator;
using internal::isSet;
using internal::sameValue;
using kube::Json;
using kube::JsonValue;

// Calls visit(segments, value) for every field (set leaf) of `node`.
template <typename Visit>
void forEachField(const JsonValue& node, FieldSegments& path, const Visit& visit) {
  for (const JsonValue::Member* member : internal::sortedMembers(node)) {
    if (!isSet(&member->value)) continue;
    path.emplace_back(kube::stringView(member->name));
    if (member->value.IsObject()) {
      forEachField(member->value, path, visit);
    } else {
      visit(path, member->value);
    }
    path.pop_back();
  }
}

const JsonValue* fieldAt(const JsonValue& root, const FieldSegments& field) {
  const JsonValue* node = &root;
  for (const std::string& segment : field) {
    if (!node->IsObject()) return nullptr;
    node = kube::member(*node, segment);
    if (node == nullptr) return nullptr;
  }
  return node;
}

// Sets root[field...] = null in a merge patch, creating the objects on the way.
void addNull(JsonValue& root, const FieldSegments& field, Allocator& allocator) {
  JsonValue* node = &root;
  for (std::size_t i = 0; i < field.size(); ++i) {
    JsonValue* next = internal::findMember(*node, field[i]);
    const bool last = i + 1 == field.size();
    if (next == nullptr) {
      JsonValue value = last ? JsonValue(rapidjson::kNullType) : JsonValue(rapidjson::kObjectType);
      node->AddMember(kube::stringValue(field[i], allocator), value, allocator);
      next = &(node->MemberEnd() - 1)->value;
    }
    node = next;
  }
}

}  // namespace

Json writtenFields(const JsonValue& view, Side side, const OwnershipMap& ownership) {
  const Owner other = side == Side::Target ? Owner::Source : Owner::Target;
  const Json own = projection(view, other, ownership);
  return withProjection(own, Owner::Both, view, ownership);
}

bool hasSharedFields(const OwnershipMap& ownership) {
  return std::any_of(ownership.rules().begin(), ownership.rules().end(),
                     [](const FieldRule& rule) { return rule.owner == Owner::Both; });
}

SyncPlan planSync(const JsonValue& source, const JsonValue& target, const JsonValue* base,
                  const OwnershipMap& ownership, const WriteTimeFn& writeTime,
                  const BaseForm& baseForm, const WrittenBySyncerFn& writtenBySyncer) {
  SyncPlan plan;
  MergeResult merged =
      threeWayMerge(base, source, target, ownership, writeTime, baseForm, writtenBySyncer);
  const Json sourceOwned = projection(source, Owner::Source, ownership);
  const Json targetOwned = projection(target, Owner::Target, ownership);
  plan.forTarget = withProjection(sourceOwned, Owner::Both, merged.forTarget, ownership);
  plan.forSource = withProjection(targetOwned, Owner::Both, merged.forSource, ownership);
  plan.targetDiffers = !sameValue(writtenFields(target, Side::Target, ownership), plan.forTarget);
  plan.sourceDiffers = !sameValue(writtenFields(source, Side::Source, ownership), plan.forSource);
  plan.base = std::move(merged.merged);
  plan.conflicts = std::move(merged.conflicts);
  return plan;
}

std::vector<FieldSegments> changedFields(const JsonValue& has, const JsonValue& wanted) {
  std::vector<FieldSegments> changed;
  FieldSegments path;
  forEachField(wanted, path, [&](const FieldSegments& field, const JsonValue& value) {
    const JsonValue* current = fieldAt(has, field);
    if (current == nullptr || !sameValue(*current, value)) changed.push_back(field);
  });
  return changed;
}

std::optional<Json> removalPatch(const JsonValue& has, const JsonValue& wanted) {
  Json patch(rapidjson::kObjectType);
  bool any = false;
  FieldSegments path;
  forEachField(has, path, [&](const FieldSegments& field, const JsonValue&) {
    if (isSet(fieldAt(wanted, field))) return;
    addNull(patch, field, patch.GetAllocator());
    any = true;
  });
  if (!any) return std::nullopt;
  return patch;
}

bool mayForce(const OwnershipMap& ownership, const FieldSegments& field, Side written) {
  const FieldRule* rule = ownership.ruleFor(field);
  if (rule == nullptr) return false;
  switch (rule->owner) {
    case Owner::Source: return written == Side::Target;
    case Owner::Target: return written == Side::Source;
    // The syncer writes a `both` field only with the value the merge chose for that side.
    case Owner::Both: return true;
    case Owner::Ignore: return false;
  }
  return false;
}

std::string managedFieldPath(const FieldSegments& field) {
  std::string path;
  for (const std::string& segment : field) {
    path += '.';
    path += segment;
  }
  return path;
}

}  // namespace bisync::policies
