#include "policies/merge.hpp"

#include <map>
#include <set>
#include <utility>

#include "policies/field_path.hpp"
#include "policies/internal/json_tree.hpp"

namespace bisync::policies {

namespace {

using internal::Allocator;
using internal::copyValue;
using internal::sameValue;
using kube::Json;
using kube::JsonValue;
using Path = std::vector<std::string>;

// One field (or object) in the three versions; nullptr where it is absent.
struct Versions {
  const JsonValue* base = nullptr;
  const JsonValue* source = nullptr;
  const JsonValue* target = nullptr;
};

// Which version each output takes for one field; nullptr: the field is not set there.
struct Resolution {
  const JsonValue* merged = nullptr;
  const JsonValue* forSource = nullptr;
  const JsonValue* forTarget = nullptr;
  bool mergedIsBase = false;  // `merged` is the base's own value, already in base form
};

bool isObjectOrAbsent(const JsonValue* value) { return value == nullptr || value->IsObject(); }

// A list whose items are all objects with distinct string `name`s: containers, env, volumes,
// ports, and any custom list of the same shape (see keyedItemSegment).
bool isKeyedList(const JsonValue* value) {
  if (value == nullptr || !value->IsArray() || value->Empty()) return false;
  std::set<std::string_view> names;
  for (const JsonValue& item : value->GetArray()) {
    const JsonValue* name = item.IsObject() ? kube::member(item, "name") : nullptr;
    if (name == nullptr || !name->IsString() || !names.insert(kube::stringView(*name)).second) {
      return false;
    }
  }
  return true;
}

// The items of three keyed lists matched by name: the source's order, then items only the
// target has (in its order), then those only the base has.
std::vector<std::pair<std::string_view, Versions>> itemsByName(const Versions& lists) {
  std::vector<std::pair<std::string_view, Versions>> items;
  std::map<std::string_view, std::size_t> at;
  const auto collect = [&](const JsonValue* list, const JsonValue* Versions::*slot) {
    if (list == nullptr) return;
    for (const JsonValue& item : list->GetArray()) {
      const std::string_view name = kube::stringMember(item, "name");
      const auto [it, added] = at.emplace(name, items.size());
      if (added) items.emplace_back(name, Versions{});
      items[it->second].second.*slot = &item;
    }
  };
  collect(lists.source, &Versions::source);
  collect(lists.target, &Versions::target);
  collect(lists.base, &Versions::base);
  return items;
}

// Walks the three versions together. Inputs are projections (sorted, no unset values), so a
// member that is present is a field or an object holding fields.
class Merger {
 public:
  Merger(const OwnershipMap& ownership, const WriteTimeFn& writeTime, const BaseForm& baseForm,
         const WrittenBySyncerFn& writtenBySyncer, MergeResult& result)
      : ownership_(ownership),
        writeTime_(writeTime),
        baseForm_(baseForm),
        writtenBySyncer_(writtenBySyncer),
        result_(result) {}

  void mergeObjects(const Versions& versions, Path& path, JsonValue& merged, JsonValue& forSource,
                    JsonValue& forTarget) {
    for (const auto& [key, member] : membersByKey(versions)) {
      path.emplace_back(key);
      if (isObjectOrAbsent(member.base) && isObjectOrAbsent(member.source) &&
          isObjectOrAbsent(member.target)) {
        JsonValue mergedChild(rapidjson::kObjectType);
        JsonValue sourceChild(rapidjson::kObjectType);
        JsonValue targetChild(rapidjson::kObjectType);
        mergeObjects(member, path, mergedChild, sourceChild, targetChild);
        adopt(merged, key, mergedChild, result_.merged.GetAllocator());
        adopt(forSource, key, sourceChild, result_.forSource.GetAllocator());
        adopt(forTarget, key, targetChild, result_.forTarget.GetAllocator());
      } else if (itemByItem(member)) {
        mergeKeyedLists(member, path, key, merged, forSource, forTarget);
      } else {
        const Resolution resolution = mergeField(member, path);
        addMerged(merged, key, resolution, result_.merged.GetAllocator());
        add(forSource, key, resolution.forSource, result_.forSource.GetAllocator());
        add(forTarget, key, resolution.forTarget, result_.forTarget.GetAllocator());
      }
      path.pop_back();
    }
  }

 private:
  // Both sides changed a keyed list (isKeyedList; the base one too, or absent) differently: it
  // is merged item by item, so that edits of different items, or of different fields of one
  // item, are not a conflict of the whole list. Lists are compared whole otherwise, and always
  // with a baseForm (whose base holds digests, not lists).
  bool itemByItem(const Versions& v) const {
    return !baseForm_ && isKeyedList(v.source) && isKeyedList(v.target) &&
           (v.base == nullptr || isKeyedList(v.base)) && !sameValue(v.source, v.target) &&
           !sameValue(v.base, v.source) && !sameValue(v.base, v.target);
  }

  // Each output gets the list of its merged items (an item no side keeps is dropped). An item
  // both sides hold alike is taken as it is; the others merge field by field, their conflicts
  // named by "[name=...]" paths.
  void mergeKeyedLists(const Versions& lists, Path& path, std::string_view key, JsonValue& merged,
                       JsonValue& forSource, JsonValue& forTarget) {
    JsonValue mergedList(rapidjson::kArrayType);
    JsonValue sourceList(rapidjson::kArrayType);
    JsonValue targetList(rapidjson::kArrayType);
    for (const auto& [name, item] : itemsByName(lists)) {
      JsonValue mergedItem(rapidjson::kObjectType);
      JsonValue sourceItem(rapidjson::kObjectType);
      JsonValue targetItem(rapidjson::kObjectType);
      if (sameValue(item.source, item.target)) {
        if (item.source != nullptr) {
          mergedItem = copyValue(*item.source, result_.merged.GetAllocator());
          sourceItem = copyValue(*item.source, result_.forSource.GetAllocator());
          targetItem = copyValue(*item.source, result_.forTarget.GetAllocator());
        }
      } else {
        path.emplace_back(keyedItemSegment(name));
        mergeObjects(item, path, mergedItem, sourceItem, targetItem);
        path.pop_back();
      }
      push(mergedList, mergedItem, result_.merged.GetAllocator());
      push(sourceList, sourceItem, result_.forSource.GetAllocator());
      push(targetList, targetItem, result_.forTarget.GetAllocator());
    }
    adoptList(merged, key, mergedList, result_.merged.GetAllocator());
    adoptList(forSource, key, sourceList, result_.forSource.GetAllocator());
    adoptList(forTarget, key, targetList, result_.forTarget.GetAllocator());
  }

  static void push(JsonValue& list, JsonValue& item, Allocator& allocator) {
    if (item.IsObject() && !item.ObjectEmpty()) list.PushBack(item, allocator);
  }

  static void adoptList(JsonValue& out, std::string_view key, JsonValue& list,
                        Allocator& allocator) {
    if (!list.Empty()) out.AddMember(kube::stringValue(key, allocator), list, allocator);
  }

  // The members of the three objects, matched by key, in key order (one pass over each object;
  // looking every key up in the other two would be quadratic in the size of a large map).
  static std::map<std::string_view, Versions> membersByKey(const Versions& versions) {
    std::map<std::string_view, Versions> members;
    const auto collect = [&members](const JsonValue* object, const JsonValue* Versions::*slot) {
      if (object == nullptr || !object->IsObject()) return;
      for (rapidjson::SizeType i = 0; i < object->MemberCount(); ++i) {
        const JsonValue::Member& member = internal::memberAt(*object, i);
        const JsonValue*& entry = members[kube::stringView(member.name)].*slot;
        if (entry == nullptr) entry = &member.value;  // a duplicated key: the first one counts
      }
    };
    collect(versions.base, &Versions::base);
    collect(versions.source, &Versions::source);
    collect(versions.target, &Versions::target);
    return members;
  }

  // Moves `object` (built with `allocator`) into `out` unless it is empty.
  static void adopt(JsonValue& out, std::string_view key, JsonValue& object, Allocator& allocator) {
    if (!object.ObjectEmpty()) out.AddMember(kube::stringValue(key, allocator), object, allocator);
  }

  static void add(JsonValue& out, std::string_view key, const JsonValue* value,
                  Allocator& allocator) {
    if (!internal::isSet(value)) return;
    out.AddMember(kube::stringValue(key, allocator), copyValue(*value, allocator), allocator);
  }

  // `merged` of a resolution in base form: the base's own value as it is, a side's value as
  // baseForm_ makes it.
  void addMerged(JsonValue& out, std::string_view key, const Resolution& resolution,
                 Allocator& allocator) const {
    if (!baseForm_ || resolution.mergedIsBase || !internal::isSet(resolution.merged)) {
      add(out, key, resolution.merged, allocator);
      return;
    }
    out.AddMember(kube::stringValue(key, allocator),
                  kube::stringValue(baseForm_(*resolution.merged), allocator), allocator);
  }

  // `value` of a side is what the base recorded (`base`, in base form).
  bool sameAsBase(const JsonValue* base, const JsonValue* value) const {
    if (!baseForm_) return sameValue(base, value);
    if (!internal::isSet(base) || !internal::isSet(value)) {
      return internal::isSet(base) == internal::isSet(value);
    }
    return base->IsString() && kube::stringView(*base) == baseForm_(*value);
  }

  // A side's value as a conflict reports it.
  std::optional<std::string> textOf(const JsonValue* value) const {
    if (value == nullptr) return std::nullopt;
    return baseForm_ ? baseForm_(*value) : kube::toJson(*value);
  }

  Resolution mergeField(const Versions& v, const Path& path) {
    const bool sourceChanged = !sameAsBase(v.base, v.source);
    const bool targetChanged = !sameAsBase(v.base, v.target);
    if (!sourceChanged) return {v.target, v.target, v.target};
    if (!targetChanged || sameValue(v.source, v.target)) return {v.source, v.source, v.source};
    if (const std::optional<Resolution> edit = overSyncerCopy(v, path)) return *edit;

    const FieldRule* rule = ownership_.ruleFor(path);
    // The loader gives every `both` rule an onConflict; without one, writing nothing is safe.
    const ConflictStrategy strategy =
        rule != nullptr && rule->onConflict ? *rule->onConflict : ConflictStrategy::Reject;
    const Winner winner = decide(strategy, path);
    const std::optional<std::string> baseText =
        v.base == nullptr ? std::nullopt : std::optional(kube::toJson(*v.base));
    result_.conflicts.push_back(
        FieldConflict{joinPointer(path), rule != nullptr ? rule->path.text() : std::string(),
                      baseText, textOf(v.source), textOf(v.target), strategy, winner});
    switch (winner) {
      case Winner::Source: return {v.source, v.source, v.source};
      case Winner::Target: return {v.target, v.target, v.target};
      case Winner::None: break;
    }
    return {v.base, v.source, v.target, /*mergedIsBase=*/true};
  }

  // Both sides changed the field differently, and one side's value is the syncer's own write:
  // the syncer wrote there what the other side held (or the merge chose), then died, or its
  // target write failed, before that write stored the new base (the source is written first). That
  // value is no edit, so the other side's, a real one, wins without a conflict. nullopt when
  // both or neither side's value is the syncer's (a removal never is): a real conflict.
  std::optional<Resolution> overSyncerCopy(const Versions& v, const Path& path) const {
    if (!writtenBySyncer_) return std::nullopt;
    const bool sourceCopied = internal::isSet(v.source) && writtenBySyncer_(Side::Source, path);
    const bool targetCopied = internal::isSet(v.target) && writtenBySyncer_(Side::Target, path);
    if (sourceCopied == targetCopied) return std::nullopt;
    const JsonValue* edit = sourceCopied ? v.target : v.source;
    return Resolution{edit, edit, edit};
  }

  Winner decide(ConflictStrategy strategy, const Path& path) const {
    switch (strategy) {
      case ConflictStrategy::SourceWins: return Winner::Source;
      case ConflictStrategy::TargetWins: return Winner::Target;
      case ConflictStrategy::Reject: return Winner::None;
      case ConflictStrategy::NewestWins: break;
    }
    if (!writeTime_) return Winner::Source;
    const auto sourceTime = writeTime_(Side::Source, path);
    const auto targetTime = writeTime_(Side::Target, path);
    return sourceTime && targetTime && *targetTime > *sourceTime ? Winner::Target : Winner::Source;
  }

  const OwnershipMap& ownership_;
  const WriteTimeFn& writeTime_;
  const BaseForm& baseForm_;
  const WrittenBySyncerFn& writtenBySyncer_;
  MergeResult& result_;
};

}  // namespace

MergeResult threeWayMerge(const JsonValue* base, const JsonValue& source, const JsonValue& target,
                          const OwnershipMap& ownership, const WriteTimeFn& writeTime,
                          const BaseForm& baseForm, const WrittenBySyncerFn& writtenBySyncer) {
  const Json baseFields =
      base != nullptr ? projection(*base, Owner::Both, ownership) : Json(rapidjson::kObjectType);
  const Json sourceFields = projection(source, Owner::Both, ownership);
  const Json targetFields = projection(target, Owner::Both, ownership);

  MergeResult result;
  Merger merger(ownership, writeTime, baseForm, writtenBySyncer, result);
  Path path;
  merger.mergeObjects({&baseFields, &sourceFields, &targetFields}, path, result.merged,
                      result.forSource, result.forTarget);
  result.sourceChanged = !sameValue(result.forSource, sourceFields);
  result.targetChanged = !sameValue(result.forTarget, targetFields);
  return result;
}

std::string_view toString(Side side) { return side == Side::Source ? "source" : "target"; }

std::string_view toString(Winner winner) {
  switch (winner) {
    case Winner::Source: return "source";
    case Winner::Target: return "target";
    case Winner::None: return "none";
  }
  return "none";
}

}  // namespace bisync::policies
