// Small tree helpers shared by ownership.cpp and merge.cpp: what counts as "set", members in a
// canonical order, deep equality and deep copy. Internal to policies/. The deep ones recurse:
// safe, because every document from outside comes from parseJson, whose nesting limit
// (kMaxJsonDepth, syncer/kube/json.hpp) bounds the recursion.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::policies::internal {

using kube::JsonValue;
using Allocator = kube::Json::AllocatorType;

// Member `index` of an object (const or not). Loops index members rather than compare member
// iterators: clang finds RapidJSON 1.1's iterator comparisons ambiguous in C++20.
template <typename Value>
auto& memberAt(Value& object, rapidjson::SizeType index) {
  return *(object.MemberBegin() + index);
}

// The first member named `key` of a mutable object, nullptr when absent.
inline JsonValue* findMember(JsonValue& object, std::string_view key) {
  for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) {
    if (kube::stringView(memberAt(object, i).name) == key) return &memberAt(object, i).value;
  }
  return nullptr;
}

// Absent, JSON null and {} are all "not set": the API server's Go types decode them alike, so a
// difference between them is no change.
inline bool isSet(const JsonValue* value) {
  return value != nullptr && !value->IsNull() && !(value->IsObject() && value->ObjectEmpty());
}

// The members of `object` sorted by key; of a key given twice, the first (the one FindMember
// returns). Sorted output makes projections canonical, so equal content serialises equally.
inline std::vector<const JsonValue::Member*> sortedMembers(const JsonValue& object) {
  std::vector<const JsonValue::Member*> members;
  if (!object.IsObject()) return members;
  members.reserve(object.MemberCount());
  for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) {
    members.push_back(&memberAt(object, i));
  }
  const auto byKey = [](const JsonValue::Member* a, const JsonValue::Member* b) {
    return kube::stringView(a->name) < kube::stringView(b->name);
  };
  std::stable_sort(members.begin(), members.end(), byKey);
  const auto sameKey = [](const JsonValue::Member* a, const JsonValue::Member* b) {
    return kube::stringView(a->name) == kube::stringView(b->name);
  };
  members.erase(std::unique(members.begin(), members.end(), sameKey), members.end());
  return members;
}

// Deep equality in O(n log n) (RapidJSON's own operator== is quadratic in object size). Numbers
// compare by value (1 == 1.0), objects regardless of member order.
inline bool sameValue(const JsonValue& a, const JsonValue& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsDouble() || b.IsDouble()) {
      const double x = a.GetDouble();
      const double y = b.GetDouble();
      return x >= y && x <= y;
    }
    if (a.IsInt64() && b.IsInt64()) return a.GetInt64() == b.GetInt64();
    return a.IsUint64() && b.IsUint64() && a.GetUint64() == b.GetUint64();
  }
  if (a.GetType() != b.GetType()) return false;
  if (a.IsString()) return kube::stringView(a) == kube::stringView(b);
  if (a.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!sameValue(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.IsObject()) {
    const auto left = sortedMembers(a);
    const auto right = sortedMembers(b);
    if (left.size() != right.size()) return false;
    for (std::size_t i = 0; i < left.size(); ++i) {
      if (kube::stringView(left[i]->name) != kube::stringView(right[i]->name)) return false;
      if (!sameValue(left[i]->value, right[i]->value)) return false;
    }
    return true;
  }
  return true;  // null, true, false: the type says it all
}

// Both absent, or both present and equal.
inline bool sameValue(const JsonValue* a, const JsonValue* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return sameValue(*a, *b);
}

// A deep copy that owns all its strings (RapidJSON's copy constructor keeps references to
// constant strings, which would dangle once the input is gone).
inline JsonValue copyValue(const JsonValue& value, Allocator& allocator) {
  if (value.IsString()) return {value.GetString(), value.GetStringLength(), allocator};
  if (value.IsArray()) {
    JsonValue out(rapidjson::kArrayType);
    out.Reserve(value.Size(), allocator);
    for (const JsonValue& element : value.GetArray()) {
      out.PushBack(copyValue(element, allocator), allocator);
    }
    return out;
  }
  if (value.IsObject()) {
    JsonValue out(rapidjson::kObjectType);
    for (rapidjson::SizeType i = 0; i < value.MemberCount(); ++i) {
      const JsonValue::Member& member = memberAt(value, i);
      out.AddMember(copyValue(member.name, allocator), copyValue(member.value, allocator),
                    allocator);
    }
    return out;
  }
  return JsonValue(value, allocator);  // scalars hold no pointers
}

}  // namespace bisync::policies::internal
