// Reading and walking the nested objects and arrays of a Pod spec, the same way in every part of
// the Pod plugin: a member that is JSON null counts as absent (as the API server's Go types
// decode it), and a member of another type than the walk expects is skipped (the shape check,
// pod_spec.hpp's shapeProblem, reports it first). Value is JsonValue or const JsonValue.
// Internal to translators/pod/. Pure.
#pragma once

#include <string_view>

#include "syncer/kube/json.hpp"

namespace bisync::translators::pod {

// object[name], nullptr when `object` is not an object or the member is absent or null.
template <class Value>
Value* present(Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  auto found = object.FindMember(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size())));
  if (found == object.MemberEnd() || found->value.IsNull()) return nullptr;
  return &found->value;
}

// object[name] when it is an object, else nullptr.
template <class Value>
Value* objectAt(Value& object, std::string_view name) {
  Value* value = present(object, name);
  return value != nullptr && value->IsObject() ? value : nullptr;
}

// Calls `each` with every item of the array parent[name] (nothing when it is not an array).
template <class Value, class Each>
void forEachItem(Value& parent, std::string_view name, Each each) {
  Value* array = present(parent, name);
  if (array == nullptr || !array->IsArray()) return;
  for (auto& item : array->GetArray()) each(item);
}

// The same for the items that are objects.
template <class Value, class Each>
void forEachObject(Value& parent, std::string_view name, Each each) {
  forEachItem(parent, name, [&each](auto& item) {
    if (item.IsObject()) each(item);
  });
}

}  // namespace bisync::translators::pod
