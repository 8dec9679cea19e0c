// The three-way merge of `owner: both` fields (policies/merge.hpp) under a fixed policy whose
// conflict strategy for /data comes from the input. Objects are generated from the input over
// keys the policy names, the side objects as edits of the base. Properties: it never crashes;
// merging three identical objects changes nothing and finds no conflict; a change on one side
// only is taken, without a conflict, by the merge result and by what both sides should hold; a
// conflict names a field whose two sides differ.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "policies/internal/json_tree.hpp"
#include "policies/merge.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bisync::fuzz::require;
using namespace bisync::policies;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::kube::toJson;
using internal::sameValue;
using Allocator = Json::AllocatorType;

constexpr std::array<const char*, 13> kKeys{"data",   "metadata", "labels", "annotations", "spec",
                                            "status", "replicas", "app",    "appx",        "keep",
                                            "a",      "b",        ""};
constexpr int kMaxDepth = 6;

FieldRule rule(const char* path, Owner owner, std::optional<ConflictStrategy> onConflict) {
  return FieldRule{*FieldPath::parse(path), owner, onConflict, 0};
}

OwnershipMap policyFrom(FuzzedDataProvider& input) {
  const auto dataStrategy = static_cast<ConflictStrategy>(input.ConsumeIntegralInRange(0, 3));
  return OwnershipMap(
      {rule("/data", Owner::Both, dataStrategy),
       rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins),
       rule("/metadata/annotations/app*", Owner::Both, ConflictStrategy::TargetWins),
       rule("/metadata/annotations/keep", Owner::Both, ConflictStrategy::NewestWins),
       rule("/spec", Owner::Source, std::nullopt),
       rule("/spec/replicas", Owner::Both, ConflictStrategy::Reject),
       rule("/status", Owner::Target, std::nullopt)});
}

JsonValue key(FuzzedDataProvider& input, Allocator& allocator) {
  const std::size_t pick = input.ConsumeIntegralInRange<std::size_t>(0, kKeys.size());
  if (pick < kKeys.size()) return JsonValue(kKeys[pick], allocator);
  return bisync::kube::stringValue(input.ConsumeRandomLengthString(8), allocator);
}

JsonValue randomValue(FuzzedDataProvider& input, Allocator& allocator, int depth) {
  switch (input.ConsumeIntegralInRange(0, depth >= kMaxDepth ? 4 : 7)) {
    case 0: return JsonValue(rapidjson::kNullType);
    case 1: return JsonValue(input.ConsumeBool());
    case 2: return JsonValue(input.ConsumeIntegralInRange<std::int64_t>(-3, 3));
    case 3: return JsonValue(input.ConsumeFloatingPointInRange(-2.0, 2.0));
    case 4: return bisync::kube::stringValue(input.ConsumeRandomLengthString(6), allocator);
    case 5: {
      JsonValue array(rapidjson::kArrayType);
      for (int n = input.ConsumeIntegralInRange(0, 3); n > 0; --n) {
        array.PushBack(randomValue(input, allocator, depth + 1), allocator);
      }
      return array;
    }
    default: {
      JsonValue object(rapidjson::kObjectType);
      for (int n = input.ConsumeIntegralInRange(0, 4); n > 0; --n) {
        object.AddMember(key(input, allocator), randomValue(input, allocator, depth + 1),
                         allocator);
      }
      return object;
    }
  }
}

// `value` with random edits: members kept, edited further, dropped, replaced or added.
JsonValue edited(const JsonValue& value, FuzzedDataProvider& input, Allocator& allocator,
                 int depth) {
  if (!value.IsObject()) {
    return input.ConsumeIntegralInRange(0, 3) == 0 ? randomValue(input, allocator, depth)
                                                   : internal::copyValue(value, allocator);
  }
  JsonValue object(rapidjson::kObjectType);
  for (rapidjson::SizeType i = 0; i < value.MemberCount(); ++i) {
    const JsonValue::Member& member = internal::memberAt(value, i);
    JsonValue name = internal::copyValue(member.name, allocator);
    switch (input.ConsumeIntegralInRange(0, 5)) {
      case 0: break;  // dropped
      case 1: object.AddMember(name, randomValue(input, allocator, depth + 1), allocator); break;
      case 2:
        object.AddMember(name, edited(member.value, input, allocator, depth + 1), allocator);
        break;
      default: object.AddMember(name, internal::copyValue(member.value, allocator), allocator);
    }
  }
  if (input.ConsumeIntegralInRange(0, 3) == 0) {
    object.AddMember(key(input, allocator), randomValue(input, allocator, depth + 1), allocator);
  }
  return object;
}

void requireSame(const JsonValue& actual, const Json& expected, const char* property) {
  require(sameValue(actual, expected), property, toJson(actual) + "\nexpected " + toJson(expected));
}

// A change on `side` only (the other side still holds `base`) is taken without a conflict, by
// the merge result and by what the other side should hold, and leaves `side` as it is.
void checkOneSidedChange(const JsonValue& base, const JsonValue& changed, Side side,
                         const OwnershipMap& ownership, const WriteTimeFn& writeTime) {
  const bool fromSource = side == Side::Source;
  const MergeResult result = fromSource ? threeWayMerge(&base, changed, base, ownership, writeTime)
                                        : threeWayMerge(&base, base, changed, ownership, writeTime);
  const std::string where = "changed on the " + std::string(toString(side));
  require(result.conflicts.empty(), "a change on one side only is no conflict", where);
  require(!(fromSource ? result.sourceChanged : result.targetChanged),
          "a change on one side only leaves that side as it is", where);
  const Json fields = projection(changed, Owner::Both, ownership);
  requireSame(result.merged, fields, "a change on one side only is the merge result");
  requireSame(fromSource ? result.forTarget : result.forSource, fields,
              "a change on one side only goes to the other side");
}

// The chaos checker's finding (issue 16): a value the syncer itself wrote on one side is no edit
// of that side (a crash between its two writes left the base behind). With every source value
// the syncer's, a conflict can only be about a field the source does not hold (a removal leaves
// no trace of who made it); symmetrically for the target.
void checkSyncerWrittenSide(const JsonValue& base, const JsonValue& source, const JsonValue& target,
                            const OwnershipMap& ownership, const WriteTimeFn& writeTime) {
  for (const Side syncerSide : {Side::Source, Side::Target}) {
    const WrittenBySyncerFn writtenBySyncer =
        [syncerSide](Side side, const std::vector<std::string>&) { return side == syncerSide; };
    const MergeResult merged =
        threeWayMerge(&base, source, target, ownership, writeTime, {}, writtenBySyncer);
    for (const FieldConflict& conflict : merged.conflicts) {
      const auto& syncerValue =
          syncerSide == Side::Source ? conflict.sourceValue : conflict.targetValue;
      require(!syncerValue.has_value(),
              "a value the syncer wrote is no edit: no conflict where that side holds the field",
              conflict.path);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const OwnershipMap ownership = policyFrom(input);
  Json documents;
  Allocator& allocator = documents.GetAllocator();
  const JsonValue base = randomValue(input, allocator, 0);
  const JsonValue source = edited(base, input, allocator, 0);
  const JsonValue target = edited(base, input, allocator, 0);
  const WriteTimeFn writeTime = [&input](Side, const std::vector<std::string>&) {
    std::optional<std::chrono::system_clock::time_point> time;
    if (input.ConsumeBool()) {
      time = std::chrono::system_clock::time_point(
          std::chrono::seconds(input.ConsumeIntegralInRange(0, 3)));
    }
    return time;
  };

  const MergeResult unchanged = threeWayMerge(&base, base, base, ownership, writeTime);
  require(unchanged.conflicts.empty() && !unchanged.sourceChanged && !unchanged.targetChanged,
          "merging identical objects changes nothing and finds no conflict");
  requireSame(unchanged.merged, projection(base, Owner::Both, ownership),
              "merging identical objects keeps their fields");

  checkOneSidedChange(base, source, Side::Source, ownership, writeTime);
  checkOneSidedChange(base, target, Side::Target, ownership, writeTime);

  for (const JsonValue* from : {&base, static_cast<const JsonValue*>(nullptr)}) {
    const MergeResult both = threeWayMerge(from, source, target, ownership, writeTime);
    for (const FieldConflict& conflict : both.conflicts) {
      require(!conflict.path.empty() && conflict.sourceValue != conflict.targetValue,
              "a conflict names a field whose sides differ", conflict.path);
    }
  }
  checkSyncerWrittenSide(base, source, target, ownership, writeTime);
  return 0;
}
