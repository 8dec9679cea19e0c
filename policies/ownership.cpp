#include "policies/ownership.hpp"

#include <optional>
#include <utility>

#include "policies/internal/json_tree.hpp"

namespace bisync::policies {

namespace {

using internal::Allocator;
using internal::copyValue;
using internal::isSet;
using kube::Json;
using kube::JsonValue;
using Path = std::vector<std::string>;

// Adds to `out` (an object) the fields below `node`'s members that `owner` owns.
void projectMembers(const JsonValue& node, Path& path, Owner owner, const OwnershipMap& ownership,
                    JsonValue& out, Allocator& allocator) {
  for (const JsonValue::Member* member : internal::sortedMembers(node)) {
    const JsonValue& value = member->value;
    if (!isSet(&value)) continue;
    path.emplace_back(kube::stringView(member->name));
    if (value.IsObject()) {
      JsonValue child(rapidjson::kObjectType);
      projectMembers(value, path, owner, ownership, child, allocator);
      if (child.MemberCount() > 0) {
        out.AddMember(copyValue(member->name, allocator), child, allocator);
      }
    } else if (ownership.ownerOf(path) == owner) {
      out.AddMember(copyValue(member->name, allocator), copyValue(value, allocator), allocator);
    }
    path.pop_back();
  }
}

// A copy of `node` without the fields `owner` owns; nullopt when that removed everything.
std::optional<JsonValue> withoutOwned(const JsonValue& node, Path& path, Owner owner,
                                      const OwnershipMap& ownership, Allocator& allocator) {
  if (!node.IsObject()) {
    if (isSet(&node) && ownership.ownerOf(path) == owner) return std::nullopt;
    return copyValue(node, allocator);
  }
  JsonValue out(rapidjson::kObjectType);
  for (rapidjson::SizeType i = 0; i < node.MemberCount(); ++i) {
    const JsonValue::Member& member = internal::memberAt(node, i);
    path.emplace_back(kube::stringView(member.name));
    std::optional<JsonValue> kept = withoutOwned(member.value, path, owner, ownership, allocator);
    path.pop_back();
    if (kept) out.AddMember(copyValue(member.name, allocator), *kept, allocator);
  }
  if (out.ObjectEmpty() && !node.ObjectEmpty()) return std::nullopt;
  return out;
}

// Writes every member of `fields` (an object) into `out` (an object), recursing where both hold
// an object and replacing otherwise.
void overlay(JsonValue& out, const JsonValue& fields, Allocator& allocator) {
  for (rapidjson::SizeType i = 0; i < fields.MemberCount(); ++i) {
    const JsonValue::Member& field = internal::memberAt(fields, i);
    JsonValue* existing = internal::findMember(out, kube::stringView(field.name));
    if (existing == nullptr) {
      out.AddMember(copyValue(field.name, allocator), copyValue(field.value, allocator), allocator);
    } else if (existing->IsObject() && field.value.IsObject()) {
      overlay(*existing, field.value, allocator);
    } else {
      *existing = copyValue(field.value, allocator);
    }
  }
}

}  // namespace

OwnershipMap::OwnershipMap(std::vector<FieldRule> rules) : rules_(std::move(rules)) {}

const FieldRule* OwnershipMap::ruleFor(const std::vector<std::string>& field) const {
  const FieldRule* best = nullptr;
  for (const FieldRule& rule : rules_) {
    if (!rule.path.covers(field)) continue;
    if (best == nullptr || rule.path.compareSpecificity(best->path) > 0) best = &rule;
  }
  return best;
}

Owner OwnershipMap::ownerOf(const std::vector<std::string>& field) const {
  const FieldRule* rule = ruleFor(field);
  return rule == nullptr ? Owner::Ignore : rule->owner;
}

Json projection(const JsonValue& object, Owner owner, const OwnershipMap& ownership) {
  Json out(rapidjson::kObjectType);
  if (!object.IsObject()) return out;
  Path path;
  projectMembers(object, path, owner, ownership, out, out.GetAllocator());
  return out;
}

Json withProjection(const JsonValue& object, Owner owner, const JsonValue& ownedFields,
                    const OwnershipMap& ownership) {
  Json out(rapidjson::kObjectType);
  Allocator& allocator = out.GetAllocator();
  if (object.IsObject()) {
    Path path;
    std::optional<JsonValue> kept = withoutOwned(object, path, owner, ownership, allocator);
    if (kept) static_cast<JsonValue&>(out).Swap(*kept);
  }
  const Json owned = projection(ownedFields, owner, ownership);
  overlay(out, owned, allocator);
  return out;
}

}  // namespace bisync::policies
