// Reading managedFields (syncer/engine/managed_fields.hpp): which managers own a field, when
// they wrote it, the compact form the caches keep, and metav1.Time.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "syncer/engine/managed_fields.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using bisync::engine::fieldManagers;
using bisync::engine::fieldWriteTime;
using bisync::engine::keepFieldOwners;
using bisync::engine::ownedOnlyBy;
using bisync::engine::parseRfc3339;
using bisync::engine::WriteTime;
using bisync::kube::Json;
using bisync::kube::toJson;
using Strings = std::vector<std::string>;

using bisync::kube::JsonValue;
using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;

}  // namespace

namespace {

constexpr std::int64_t kTen = 1795428000;  // 2026-11-23T10:00:00Z
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kNoTime = -1;

// Seconds since the epoch, kNoTime for nullopt: readable when a check fails.
std::int64_t epochSeconds(const std::optional<WriteTime>& time) {
  if (!time) return kNoTime;
  return std::chrono::duration_cast<std::chrono::seconds>(time->time_since_epoch()).count();
}

// Entries as the API server writes them: kubectl-label and helm share the tier label, the syncer
// (kube-bisync) applied tier and zone last, a controller wrote the status subresource first.
const char* const kManagedObject = R"({
  "metadata": {
    "name": "settings",
    "labels": {"tier": "web", "zone": "a"},
    "managedFields": [
      {"manager": "kubectl-label", "operation": "Update", "apiVersion": "v1",
       "time": "2026-11-23T10:00:00Z", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:metadata": {"f:labels": {"f:tier": {}}}}},
      {"manager": "kube-bisync", "operation": "Apply", "apiVersion": "v1",
       "time": "2026-11-23T12:00:00Z", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:metadata": {"f:labels": {"f:tier": {}, "f:zone": {}}}}},
      {"manager": "helm", "operation": "Update", "apiVersion": "v1",
       "time": "2026-11-23T11:00:00Z", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:data": {".": {}, "f:key": {}}, "f:metadata": {"f:labels": {"f:tier": {}}}}},
      {"manager": "status-controller", "operation": "Update", "apiVersion": "v1",
       "time": "2026-11-23T09:00:00Z", "fieldsType": "FieldsV1", "subresource": "status",
       "fieldsV1": {"f:status": {"f:phase": {}}}}
    ]
  },
  "data": {"key": "value"},
  "status": {"phase": "Ready"}
})";

const Strings kTier{"metadata", "labels", "tier"};
const Strings kZone{"metadata", "labels", "zone"};

}  // namespace

TEST_CASE("fieldManagers lists the managers owning a field, the ignored one excluded",
          "[managed-fields]") {
  const Json object = parse(kManagedObject);
  CHECK(fieldManagers(object, kTier, "kube-bisync") == Strings{"kubectl-label", "helm"});
  CHECK(fieldManagers(object, kTier, "") == Strings{"kubectl-label", "kube-bisync", "helm"});
  CHECK(fieldManagers(object, kZone, "kube-bisync").empty());
  CHECK(fieldManagers(object, kZone, "helm") == Strings{"kube-bisync"});
  CHECK(fieldManagers(object, {"data", "key"}, "kube-bisync") == Strings{"helm"});
  CHECK(fieldManagers(object, {"status", "phase"}, "kube-bisync") == Strings{"status-controller"});
  CHECK(fieldManagers(object, {"data", "other"}, "").empty());
  CHECK(fieldManagers(parse(R"({"metadata":{"name":"bare"}})"), kTier, "").empty());
}

TEST_CASE("fieldWriteTime is the latest time among the field's owners", "[managed-fields]") {
  const Json object = parse(kManagedObject);
  CHECK(epochSeconds(fieldWriteTime(object, kTier, "kube-bisync")) == kTen + kHour);  // helm
  CHECK(epochSeconds(fieldWriteTime(object, kTier, "")) == kTen + 2 * kHour);         // kube-bisync
  CHECK(epochSeconds(fieldWriteTime(object, {"status", "phase"}, "kube-bisync")) == kTen - kHour);
}

TEST_CASE("fieldWriteTime of a field nobody owns is the latest write of any other manager",
          "[managed-fields]") {
  const Json object = parse(kManagedObject);
  // zone is owned by kube-bisync alone, which is ignored: helm's 11:00 is the latest other write
  CHECK(epochSeconds(fieldWriteTime(object, kZone, "kube-bisync")) == kTen + kHour);
  CHECK(epochSeconds(fieldWriteTime(object, {"metadata", "labels", "gone"}, "kube-bisync")) ==
        kTen + kHour);
  CHECK(epochSeconds(fieldWriteTime(object, {"metadata", "labels", "gone"}, "")) ==
        kTen + 2 * kHour);
}

TEST_CASE("fieldWriteTime is nullopt without a usable managedFields entry", "[managed-fields]") {
  CHECK(epochSeconds(fieldWriteTime(parse(R"({"metadata":{"name":"bare"}})"), kTier, "")) ==
        kNoTime);
  CHECK(epochSeconds(fieldWriteTime(parse(R"({"metadata":{"managedFields":[]}})"), kTier, "")) ==
        kNoTime);
  CHECK(epochSeconds(fieldWriteTime(parse(R"({"metadata":{"managedFields":{}}})"), kTier, "")) ==
        kNoTime);
  CHECK(epochSeconds(fieldWriteTime(parse("{}"), kTier, "")) == kNoTime);
  // only the ignored manager's entry
  const Json ours = parse(
      R"({"metadata":{"managedFields":[{"manager":"kube-bisync","time":"2026-11-23T12:00:00Z",
          "fieldsV1":{"f:metadata":{"f:labels":{"f:tier":{}}}}}]}})");
  CHECK(epochSeconds(fieldWriteTime(ours, kTier, "kube-bisync")) == kNoTime);
  CHECK(epochSeconds(fieldWriteTime(ours, kTier, "")) == kTen + 2 * kHour);
  // entries without a readable time
  const Json untimed = parse(
      R"({"metadata":{"managedFields":[
          {"manager":"a","fieldsV1":{"f:metadata":{"f:labels":{"f:tier":{}}}}},
          {"manager":"b","time":"yesterday","fieldsV1":{"f:metadata":{"f:labels":{"f:tier":{}}}}},
          "not an entry"]}})");
  CHECK(epochSeconds(fieldWriteTime(untimed, kTier, "")) == kNoTime);
}

TEST_CASE("keepFieldOwners keeps manager, time and fieldsV1 of each entry and drops the rest",
          "[managed-fields]") {
  Json object = parse(kManagedObject);
  keepFieldOwners(object);
  const JsonValue* entries = bisync::kube::at(object, "/metadata/managedFields");
  REQUIRE(entries != nullptr);
  CHECK(canonical(*entries) == canonicalText(R"([
    {"manager": "kubectl-label", "time": "2026-11-23T10:00:00Z",
     "fieldsV1": {"f:metadata": {"f:labels": {"f:tier": {}}}}},
    {"manager": "kube-bisync", "time": "2026-11-23T12:00:00Z",
     "fieldsV1": {"f:metadata": {"f:labels": {"f:tier": {}, "f:zone": {}}}}},
    {"manager": "helm", "time": "2026-11-23T11:00:00Z",
     "fieldsV1": {"f:data": {".": {}, "f:key": {}}, "f:metadata": {"f:labels": {"f:tier": {}}}}},
    {"manager": "status-controller", "time": "2026-11-23T09:00:00Z",
     "fieldsV1": {"f:status": {"f:phase": {}}}}
  ])"));
  // The rest of the object is untouched, and what the readers need still answers the same.
  CHECK(bisync::kube::stringAt(object, "/metadata/name") == "settings");
  CHECK(canonical(*bisync::kube::at(object, "/metadata/labels")) ==
        canonicalText(R"({"tier":"web","zone":"a"})"));
  CHECK(canonical(*bisync::kube::at(object, "/data")) == canonicalText(R"({"key":"value"})"));
  CHECK(canonical(*bisync::kube::at(object, "/status")) == canonicalText(R"({"phase":"Ready"})"));
  CHECK(fieldManagers(object, kTier, "kube-bisync") == Strings{"kubectl-label", "helm"});
  CHECK(epochSeconds(fieldWriteTime(object, kTier, "kube-bisync")) == kTen + kHour);
}

TEST_CASE("keepFieldOwners leaves objects without managedFields as they are", "[managed-fields]") {
  for (const char* text : {R"({"metadata":{"name":"bare"}})", R"({"metadata":"odd"})",
                           R"({"metadata":{"managedFields":"odd"}})", "[1,2]", "{}"}) {
    INFO(text);
    Json object = parse(text);
    keepFieldOwners(object);
    CHECK(canonical(object) == canonicalText(text));
  }
}

TEST_CASE("parseRfc3339 reads metav1.Time in UTC with second precision", "[managed-fields]") {
  CHECK(epochSeconds(parseRfc3339("2026-11-23T10:00:00Z")) == kTen);
  CHECK(epochSeconds(parseRfc3339("1970-01-01T00:00:00Z")) == 0);
  CHECK(epochSeconds(parseRfc3339("2024-02-29T23:59:59Z")) == 1709251199);
}

TEST_CASE("parseRfc3339 refuses malformed times", "[managed-fields]") {
  for (const char* text :
       {"", "2026-11-23", "2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "2026-11-23T10:00:00.5Z",
        "2026-11-23T10:00:00+01:00", "2026-11-23T10:00:00ZZ", "2026-13-01T10:00:00Z",
        "2026-11-23T24:00:00Z", "2026-11-23T10:61:00Z", "abcd-11-23T10:00:00Z",
        "2026/11/23T10:00:00Z"}) {
    INFO(text);
    CHECK(epochSeconds(parseRfc3339(text)) == kNoTime);
  }
}

TEST_CASE("parseRfc3339 refuses times with the right shape but impossible or short fields",
          "[managed-fields]") {
  for (const char* text : {"2026-02-30T10:00:00Z", "2026-11-23T10:00:5ZZ", " 026-11-23T10:00:00Z",
                           "2026- 1-23T10:00:00Z", "1969-12-31T23:59:59Z"}) {
    INFO(text);
    CHECK(epochSeconds(parseRfc3339(text)) == kNoTime);
  }
}

TEST_CASE("a field inside a list item keyed by name is found under its k:{name} key",
          "[managed-fields][lists]") {
  // What the API server records of two writers of one Deployment's containers.
  const Json object = parse(R"({"metadata":{"managedFields":[
    {"manager":"tenant","time":"2026-11-23T10:00:00Z","fieldsV1":{"f:spec":{"f:containers":{
      "k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}},
    {"manager":"mesh","time":"2026-11-23T11:00:00Z","fieldsV1":{"f:spec":{"f:containers":{
      "k:{\"name\":\"proxy\"}":{".":{},"f:image":{},"f:name":{}}}}}}]}})");
  const Strings appImage{"spec", "containers", "[name=app]", "image"};
  const Strings proxyImage{"spec", "containers", "[name=proxy]", "image"};
  CHECK(fieldManagers(object, appImage, "kube-bisync") == Strings{"tenant"});
  CHECK(fieldManagers(object, proxyImage, "kube-bisync") == Strings{"mesh"});
  CHECK(epochSeconds(fieldWriteTime(object, appImage, "kube-bisync")) == kTen);
  CHECK(epochSeconds(fieldWriteTime(object, proxyImage, "kube-bisync")) == kTen + kHour);
}

TEST_CASE("ownedOnlyBy holds when the given manager is the field's only owner",
          "[managed-fields][syncer-copy]") {
  // A Widget's source after the syncer copied chaos-t up to it (its Apply entry), another label
  // being the workload's; and the target copy after the workload's later Update of chaos-t took
  // that field from the syncer's entry.
  const Json source = parse(R"({"metadata":{"name":"w","labels":{"chaos-t":"y1","app":"w"},
    "managedFields":[
      {"manager":"chaos-checker","operation":"Update","apiVersion":"example.com/v1",
       "time":"2026-12-05T15:00:00Z","fieldsType":"FieldsV1",
       "fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}},
      {"manager":"kube-bisync","operation":"Apply","apiVersion":"example.com/v1",
       "time":"2026-12-05T15:00:01Z","fieldsType":"FieldsV1",
       "fieldsV1":{"f:metadata":{"f:labels":{"f:chaos-t":{}}}}}]}})");
  const Json target = parse(R"({"metadata":{"name":"w","labels":{"chaos-t":"y2"},
    "managedFields":[
      {"manager":"kube-bisync","operation":"Apply","apiVersion":"example.com/v1",
       "time":"2026-12-05T14:59:00Z","fieldsType":"FieldsV1",
       "fieldsV1":{"f:metadata":{"f:annotations":{"f:kube-bisync.io/merge-base":{}}}}},
      {"manager":"chaos-checker","operation":"Update","apiVersion":"example.com/v1",
       "time":"2026-12-05T15:00:02Z","fieldsType":"FieldsV1",
       "fieldsV1":{"f:metadata":{"f:labels":{"f:chaos-t":{}}}}}]}})");
  const Strings chaosT{"metadata", "labels", "chaos-t"};
  CHECK(ownedOnlyBy(source, chaosT, "kube-bisync"));
  CHECK_FALSE(ownedOnlyBy(source, {"metadata", "labels", "app"}, "kube-bisync"));
  CHECK_FALSE(ownedOnlyBy(target, chaosT, "kube-bisync"));
  CHECK(ownedOnlyBy(target, chaosT, "chaos-checker"));
  // Shared with other managers, or owned by nobody (removed), it is not the syncer's alone.
  const Json shared = parse(kManagedObject);
  CHECK_FALSE(ownedOnlyBy(shared, kTier, "kube-bisync"));
  CHECK(ownedOnlyBy(shared, kZone, "kube-bisync"));
  CHECK_FALSE(ownedOnlyBy(source, {"metadata", "labels", "gone"}, "kube-bisync"));
  CHECK_FALSE(ownedOnlyBy(parse(R"({"metadata":{"name":"bare"}})"), chaosT, "kube-bisync"));
  // No manager of ours (an empty name) owns nothing.
  CHECK_FALSE(ownedOnlyBy(source, chaosT, ""));
}
