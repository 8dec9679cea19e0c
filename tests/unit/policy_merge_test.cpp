#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/field_path.hpp"
#include "policies/merge.hpp"
#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/field_rules.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using namespace bisync::policies;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::kube::toJson;
using Clock = std::chrono::system_clock;
using Strings = std::vector<std::string>;

using bisync::unit::parse;
using bisync::unit::rule;

FieldPath pathOf(std::string_view pointer) {
  auto path = FieldPath::parse(pointer);
  INFO(pointer);
  REQUIRE(path.has_value());
  return *path;
}

std::string parseError(std::string_view pointer) {
  auto path = FieldPath::parse(pointer);
  INFO(pointer);
  REQUIRE_FALSE(path.has_value());
  return path.error();
}

bool covers(std::string_view pattern, std::string_view field) {
  auto segments = splitPointer(field);
  REQUIRE(segments.has_value());
  return pathOf(pattern).covers(*segments);
}

int compare(std::string_view a, std::string_view b) {
  return pathOf(a).compareSpecificity(pathOf(b));
}

Owner ownerOf(const OwnershipMap& ownership, std::string_view field) {
  auto segments = splitPointer(field);
  REQUIRE(segments.has_value());
  return ownership.ownerOf(*segments);
}

// Labels are merged with `strategy`; data belongs to the source, status to the target.
OwnershipMap labelsMergedWith(ConflictStrategy strategy) {
  return OwnershipMap({rule("/metadata/labels/*", Owner::Both, strategy),
                       rule("/data", Owner::Source), rule("/status", Owner::Target)});
}

MergeResult merge(const std::optional<std::string>& base, const std::string& source,
                  const std::string& target, const OwnershipMap& ownership,
                  const WriteTimeFn& writeTime = {}) {
  const Json sourceObject = parse(source);
  const Json targetObject = parse(target);
  if (!base) return threeWayMerge(nullptr, sourceObject, targetObject, ownership, writeTime);
  const Json baseObject = parse(*base);
  return threeWayMerge(&baseObject, sourceObject, targetObject, ownership, writeTime);
}

std::string labels(const std::string& members) {
  return R"({"metadata":{"labels":{)" + members + "}}}";
}

constexpr const char* kEmpty = "{}";

}  // namespace

TEST_CASE("a field path unescapes ~0 and ~1 in literal segments", "[policies]") {
  const FieldPath path = pathOf("/metadata/annotations/a~1b~0c");
  REQUIRE(path.text() == "/metadata/annotations/a~1b~0c");
  REQUIRE(path.segments() ==
          std::vector<FieldPath::Segment>{{FieldPath::SegmentKind::Literal, "metadata"},
                                          {FieldPath::SegmentKind::Literal, "annotations"},
                                          {FieldPath::SegmentKind::Literal, "a/b~c"}});
}

TEST_CASE("a field path reads '*' as any one segment and a trailing '*' as a prefix",
          "[policies]") {
  const FieldPath path = pathOf("/metadata/labels/app.kubernetes.io~1*");
  REQUIRE(path.segments().back() ==
          FieldPath::Segment{FieldPath::SegmentKind::Prefix, "app.kubernetes.io/"});
  REQUIRE(pathOf("/spec/*/name").segments()[1] ==
          FieldPath::Segment{FieldPath::SegmentKind::Any, ""});
}

TEST_CASE("a field path refuses what names no field, bad escapes and a '*' inside a segment",
          "[policies]") {
  CHECK(parseError("").find("must name a field") != std::string::npos);
  CHECK(parseError("/").find("must name a field") != std::string::npos);
  CHECK(parseError("data") == "must start with '/'");
  CHECK(parseError("/data/") == "empty segment 2 (a doubled or trailing '/')");
  CHECK(parseError("/a//b") == "empty segment 2 (a doubled or trailing '/')");
  CHECK(parseError("/metadata/labels/a~2") == "bad escape '~2' in segment 3");
  CHECK(parseError("/metadata/a~") == "bad escape '~' in segment 2");
  CHECK(parseError("/metadata/a~*") == "bad escape '~' in segment 2");
  CHECK(parseError("/metadata/a*b") == "'*' may only end a segment (segment 2)");
  CHECK(parseError("/metadata/**") == "'*' may only end a segment (segment 2)");
}

TEST_CASE("concrete pointers split into unescaped segments and join back", "[policies]") {
  REQUIRE(splitPointer("/metadata/labels/app.kubernetes.io~1name") ==
          Strings{"metadata", "labels", "app.kubernetes.io/name"});
  REQUIRE(splitPointer("/data/a*b") == Strings{"data", "a*b"});  // '*' is plain text here
  REQUIRE(splitPointer("")->empty());
  REQUIRE_FALSE(splitPointer("data").has_value());
  REQUIRE_FALSE(splitPointer("/data/~x").has_value());
  REQUIRE(joinPointer({"metadata", "annotations", "a/b~c"}) == "/metadata/annotations/a~1b~0c");
  REQUIRE(escapeSegment("~/") == "~0~1");
}

TEST_CASE("a rule covers its own field and everything below it, never a sibling or an ancestor",
          "[policies]") {
  CHECK(covers("/data", "/data"));
  CHECK(covers("/data", "/data/key"));
  CHECK(covers("/data", "/data/key/deeper"));
  CHECK_FALSE(covers("/data", "/binaryData/key"));
  CHECK_FALSE(covers("/data", "/datakey"));
  CHECK_FALSE(covers("/data/key", "/data"));
  CHECK(covers("/metadata/labels/*", "/metadata/labels/tier"));
  CHECK_FALSE(covers("/metadata/labels/*", "/metadata/labels"));
  CHECK(covers("/spec/*/name", "/spec/0/name"));
  CHECK_FALSE(covers("/spec/*/name", "/spec/0/image"));
}

TEST_CASE("a prefix segment matches every key starting with it, the bare prefix included",
          "[policies]") {
  CHECK(
      covers("/metadata/labels/app.kubernetes.io~1*", "/metadata/labels/app.kubernetes.io~1name"));
  CHECK(covers("/metadata/labels/app.kubernetes.io~1*", "/metadata/labels/app.kubernetes.io~1"));
  CHECK_FALSE(
      covers("/metadata/labels/app.kubernetes.io~1*", "/metadata/labels/app.kubernetes.io"));
  CHECK_FALSE(covers("/metadata/labels/app.kubernetes.io~1*", "/metadata/labels/tier"));
}

TEST_CASE("a deeper rule is more specific than a shallower one whatever its segments are",
          "[policies]") {
  CHECK(compare("/metadata/labels/*", "/metadata/labels") > 0);
  CHECK(compare("/*/*/*", "/metadata/labels") > 0);
  CHECK(compare("/metadata", "/metadata/labels") < 0);
}

TEST_CASE(
    "at the first differing segment a literal beats a prefix, a longer prefix beats a "
    "shorter one, and a prefix beats '*'",
    "[policies]") {
  CHECK(compare("/metadata/labels/tier", "/metadata/labels/ti*") > 0);
  CHECK(compare("/metadata/labels/team~1*", "/metadata/labels/t*") > 0);
  CHECK(compare("/metadata/labels/t*", "/metadata/labels/*") > 0);
  CHECK(compare("/metadata/labels/*", "/metadata/labels/tier") < 0);
  CHECK(compare("/spec/*/image", "/*/containers/image") > 0);  // leftmost difference decides
  CHECK(compare("/metadata/labels/a", "/metadata/labels/b") == 0);
  CHECK(compare("/metadata/labels/ab*", "/metadata/labels/cd*") == 0);
}

TEST_CASE("the most specific covering rule decides a field's owner", "[policies]") {
  const OwnershipMap ownership({
      rule("/metadata", Owner::Ignore),
      rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins),
      rule("/metadata/labels/app.kubernetes.io~1*", Owner::Source),
      rule("/metadata/labels/app.kubernetes.io~1managed-by", Owner::Target),
  });
  CHECK(ownerOf(ownership, "/metadata/name") == Owner::Ignore);
  CHECK(ownerOf(ownership, "/metadata/labels/tier") == Owner::Both);
  CHECK(ownerOf(ownership, "/metadata/labels/app.kubernetes.io~1name") == Owner::Source);
  CHECK(ownerOf(ownership, "/metadata/labels/app.kubernetes.io~1managed-by") == Owner::Target);
  const FieldRule* decided = ownership.ruleFor({"metadata", "labels", "tier"});
  REQUIRE(decided != nullptr);
  CHECK(decided->path.text() == "/metadata/labels/*");
}

TEST_CASE("a field no rule covers is ignored", "[policies]") {
  const OwnershipMap ownership({rule("/data", Owner::Source)});
  CHECK(ownerOf(ownership, "/binaryData/key") == Owner::Ignore);
  CHECK(ownerOf(ownership, "/metadata/labels/tier") == Owner::Ignore);
  CHECK(ownership.ruleFor({"metadata"}) == nullptr);
  CHECK(ownerOf(OwnershipMap({}), "/data/key") == Owner::Ignore);
}

TEST_CASE("of two rules with the same path the first in file order decides", "[policies]") {
  const OwnershipMap ownership({rule("/data/*", Owner::Source), rule("/data/*", Owner::Target)});
  CHECK(ownerOf(ownership, "/data/key") == Owner::Source);
}

TEST_CASE("a projection holds exactly one owner's fields, map keys under '*' each a field",
          "[policies]") {
  const OwnershipMap ownership({
      rule("/data", Owner::Source),
      rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins),
      rule("/metadata/labels/team~1*", Owner::Target),
      rule("/status", Owner::Target),
  });
  const Json object = parse(R"({
    "metadata": {"name": "settings", "labels": {"tier": "web", "team/owner": "ops"}},
    "data": {"a": "1", "nested": {"b": [1, 2]}},
    "status": {"phase": "Ready"}
  })");
  CHECK(toJson(projection(object, Owner::Source, ownership)) ==
        R"({"data":{"a":"1","nested":{"b":[1,2]}}})");
  CHECK(toJson(projection(object, Owner::Both, ownership)) ==
        R"({"metadata":{"labels":{"tier":"web"}}})");
  CHECK(toJson(projection(object, Owner::Target, ownership)) ==
        R"({"metadata":{"labels":{"team/owner":"ops"}},"status":{"phase":"Ready"}})");
  CHECK(toJson(projection(object, Owner::Ignore, ownership)) ==
        R"({"metadata":{"name":"settings"}})");
}

TEST_CASE("the four owners' projections together rebuild the object", "[policies]") {
  const OwnershipMap ownership({
      rule("/data", Owner::Source),
      rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins),
      rule("/metadata/annotations/host.io~1*", Owner::Target),
      rule("/status", Owner::Target),
  });
  const Json object = parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "s", "labels": {"tier": "web"},
                 "annotations": {"host.io/zone": "a", "note": "x"}},
    "data": {"a": "1"}, "status": {"phase": "Ready"}
  })");
  Json rebuilt = projection(object, Owner::Source, ownership);
  for (const Owner owner : {Owner::Both, Owner::Target, Owner::Ignore}) {
    rebuilt = withProjection(rebuilt, owner, object, ownership);
  }
  INFO(toJson(rebuilt));
  CHECK(static_cast<const JsonValue&>(rebuilt) == object);
}

TEST_CASE("a projection drops null and empty objects and sorts members", "[policies]") {
  const OwnershipMap ownership({rule("/data", Owner::Source)});
  const Json object = parse(R"({"data": {"z": "1", "gone": null, "empty": {}, "a": "2"}})");
  CHECK(toJson(projection(object, Owner::Source, ownership)) == R"({"data":{"a":"2","z":"1"}})");
  CHECK(toJson(projection(parse(R"({"data": {}})"), Owner::Source, ownership)) == kEmpty);
  CHECK(toJson(projection(parse("[1]"), Owner::Source, ownership)) == kEmpty);
}

TEST_CASE("an array is one field: rules below it do not apply", "[policies]") {
  const OwnershipMap ownership(
      {rule("/spec", Owner::Source), rule("/spec/containers/0/image", Owner::Target)});
  const Json object = parse(R"({"spec": {"containers": [{"image": "nginx"}]}})");
  CHECK(toJson(projection(object, Owner::Source, ownership)) ==
        R"({"spec":{"containers":[{"image":"nginx"}]}})");
  CHECK(toJson(projection(object, Owner::Target, ownership)) == kEmpty);
}

TEST_CASE("withProjection replaces one owner's fields and keeps every other field", "[policies]") {
  const OwnershipMap ownership({rule("/data", Owner::Source), rule("/status", Owner::Target)});
  const Json current = parse(
      R"({"metadata":{"name":"s","labels":{}},"data":{"old":"1"},"status":{"phase":"Ready"}})");
  const Json desired = parse(R"({"data":{"new":"2"},"status":{"phase":"ignored"}})");
  CHECK(toJson(withProjection(current, Owner::Source, desired, ownership)) ==
        R"({"metadata":{"name":"s","labels":{}},"status":{"phase":"Ready"},"data":{"new":"2"}})");
  CHECK(toJson(withProjection(current, Owner::Source, parse(kEmpty), ownership)) ==
        R"({"metadata":{"name":"s","labels":{}},"status":{"phase":"Ready"}})");
}

TEST_CASE("a field unchanged on both sides keeps its value and writes nothing", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const std::string object = labels(R"("tier":"web")");
  const MergeResult result = merge(object, object, object, ownership);
  CHECK(toJson(result.merged) == object);
  CHECK(result.conflicts.empty());
  CHECK_FALSE(result.sourceChanged);
  CHECK_FALSE(result.targetChanged);
}

TEST_CASE("a field changed on the source only reaches the target", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"db")"),
                                   labels(R"("tier":"web")"), ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.merged) == labels(R"("tier":"db")"));
  CHECK(toJson(result.forTarget) == labels(R"("tier":"db")"));
  CHECK(toJson(result.forSource) == labels(R"("tier":"db")"));
  CHECK_FALSE(result.sourceChanged);
  CHECK(result.targetChanged);
}

TEST_CASE("a field changed on the target only reaches the source", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"web")"),
                                   labels(R"("tier":"db")"), ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.forSource) == labels(R"("tier":"db")"));
  CHECK(result.sourceChanged);
  CHECK_FALSE(result.targetChanged);
}

TEST_CASE("a field added on one side is added on the other", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"web")"),
                                   labels(R"("tier":"web","zone":"a")"), ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.forSource) == labels(R"("tier":"web","zone":"a")"));
  CHECK(result.sourceChanged);
}

TEST_CASE("a field removed on one side is removed on the other", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const std::string both = labels(R"("tier":"web","zone":"a")");
  SECTION("removed on the source") {
    const MergeResult result = merge(both, labels(R"("zone":"a")"), both, ownership);
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.forTarget) == labels(R"("zone":"a")"));
    CHECK(result.targetChanged);
    CHECK_FALSE(result.sourceChanged);
  }
  SECTION("the last label removed on the target") {
    const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"web")"),
                                     R"({"metadata":{"labels":{}}})", ownership);
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.merged) == kEmpty);
    CHECK(toJson(result.forSource) == kEmpty);
    CHECK(result.sourceChanged);
  }
}

TEST_CASE("different keys of one map changed on the two sides merge without conflict",
          "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result =
      merge(labels(R"("a":"1","b":"1","c":"1")"), labels(R"("a":"2","b":"1","c":"1")"),
            labels(R"("a":"1","b":"1")"), ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.merged) == labels(R"("a":"2","b":"1")"));
  CHECK(result.sourceChanged);
  CHECK(result.targetChanged);
}

TEST_CASE("both sides changing a field to the same value is no conflict", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"db")"),
                                   labels(R"("tier":"db")"), ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.merged) == labels(R"("tier":"db")"));
  CHECK_FALSE(result.sourceChanged);
  CHECK_FALSE(result.targetChanged);
}

TEST_CASE("a conflict under source-wins puts the source value on both sides and reports it",
          "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::SourceWins);
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"db")"),
                                   labels(R"("tier":"cache")"), ownership);
  CHECK(toJson(result.merged) == labels(R"("tier":"db")"));
  CHECK(toJson(result.forTarget) == labels(R"("tier":"db")"));
  CHECK_FALSE(result.sourceChanged);
  CHECK(result.targetChanged);
  REQUIRE(result.conflicts.size() == 1);
  const FieldConflict& conflict = result.conflicts[0];
  CHECK(conflict.path == "/metadata/labels/tier");
  CHECK(conflict.rule == "/metadata/labels/*");
  CHECK(conflict.baseValue == R"("web")");
  CHECK(conflict.sourceValue == R"("db")");
  CHECK(conflict.targetValue == R"("cache")");
  CHECK(conflict.strategy == ConflictStrategy::SourceWins);
  CHECK(conflict.winner == Winner::Source);
}

TEST_CASE("a conflict under target-wins puts the target value on both sides", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::TargetWins);
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"db")"),
                                   labels(R"("tier":"cache")"), ownership);
  CHECK(toJson(result.merged) == labels(R"("tier":"cache")"));
  CHECK(toJson(result.forSource) == labels(R"("tier":"cache")"));
  CHECK(result.sourceChanged);
  CHECK_FALSE(result.targetChanged);
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].winner == Winner::Target);
}

TEST_CASE(
    "a conflict under newest-wins takes the value of the later writer, the source when "
    "the times are equal or unknown",
    "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::NewestWins);
  const auto early = Clock::time_point{} + std::chrono::hours(1);
  const auto late = early + std::chrono::seconds(1);
  std::vector<Strings> askedFor;
  const auto times = [&](std::optional<Clock::time_point> source,
                         std::optional<Clock::time_point> target) -> WriteTimeFn {
    return [&askedFor, source, target](Side side, const Strings& field) {
      askedFor.push_back(field);
      return side == Side::Source ? source : target;
    };
  };
  const auto winnerWith = [&](const WriteTimeFn& writeTime) {
    const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"db")"),
                                     labels(R"("tier":"cache")"), ownership, writeTime);
    REQUIRE(result.conflicts.size() == 1);
    CHECK(result.conflicts[0].strategy == ConflictStrategy::NewestWins);
    const Winner winner = result.conflicts[0].winner;
    CHECK(toJson(result.merged) ==
          labels(winner == Winner::Source ? R"("tier":"db")" : R"("tier":"cache")"));
    return winner;
  };
  CHECK(winnerWith(times(early, late)) == Winner::Target);
  CHECK(winnerWith(times(late, early)) == Winner::Source);
  CHECK(winnerWith(times(early, early)) == Winner::Source);
  CHECK(winnerWith(times(std::nullopt, late)) == Winner::Source);
  CHECK(winnerWith(times(late, std::nullopt)) == Winner::Source);
  CHECK(winnerWith({}) == Winner::Source);
  REQUIRE_FALSE(askedFor.empty());
  CHECK(askedFor.front() == Strings{"metadata", "labels", "tier"});
}

TEST_CASE("a conflict under reject leaves each side its own value and keeps the base",
          "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result =
      merge(labels(R"("tier":"web","zone":"a")"), labels(R"("tier":"db","zone":"a")"),
            labels(R"("tier":"cache","zone":"b")"), ownership);
  CHECK(toJson(result.merged) == labels(R"("tier":"web","zone":"b")"));
  CHECK(toJson(result.forSource) == labels(R"("tier":"db","zone":"b")"));
  CHECK(toJson(result.forTarget) == labels(R"("tier":"cache","zone":"b")"));
  CHECK(result.sourceChanged);  // zone still travels up
  CHECK_FALSE(result.targetChanged);
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].path == "/metadata/labels/tier");
  CHECK(result.conflicts[0].winner == Winner::None);
}

TEST_CASE("a removal on one side against a change on the other is a conflict", "[policies]") {
  const std::string base = labels(R"("tier":"web")");
  const std::string removed = R"({"metadata":{}})";
  const std::string changed = labels(R"("tier":"db")");
  SECTION("source-wins with the source removing: removed on both sides") {
    const MergeResult result =
        merge(base, removed, changed, labelsMergedWith(ConflictStrategy::SourceWins));
    REQUIRE(result.conflicts.size() == 1);
    CHECK(result.conflicts[0].sourceValue == std::nullopt);
    CHECK(result.conflicts[0].targetValue == R"("db")");
    CHECK(toJson(result.merged) == kEmpty);
    CHECK(toJson(result.forTarget) == kEmpty);
    CHECK(result.targetChanged);
  }
  SECTION("target-wins with the source removing: the target's change comes back") {
    const MergeResult result =
        merge(base, removed, changed, labelsMergedWith(ConflictStrategy::TargetWins));
    REQUIRE(result.conflicts.size() == 1);
    CHECK(toJson(result.forSource) == changed);
    CHECK(result.sourceChanged);
    CHECK_FALSE(result.targetChanged);
  }
  SECTION("reject: nothing moves") {
    const MergeResult result =
        merge(base, changed, removed, labelsMergedWith(ConflictStrategy::Reject));
    REQUIRE(result.conflicts.size() == 1);
    CHECK(toJson(result.merged) == base);
    CHECK_FALSE(result.sourceChanged);
    CHECK_FALSE(result.targetChanged);
  }
}

TEST_CASE("a change of type is a different value of the same field", "[policies]") {
  const OwnershipMap ownership({rule("/spec", Owner::Both, ConflictStrategy::TargetWins)});
  const std::string base = R"({"spec":{"mode":"simple"}})";
  const std::string toObject = R"({"spec":{"mode":{"kind":"advanced","level":2}}})";
  SECTION("changed on one side: the new type travels") {
    const MergeResult result = merge(base, toObject, base, ownership);
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.forTarget) == toObject);
    CHECK(result.targetChanged);
  }
  SECTION("back from object to string on one side") {
    const MergeResult result = merge(toObject, toObject, base, ownership);
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.forSource) == base);
  }
  SECTION("changed on both sides to different types: one conflict for the whole field") {
    const MergeResult result = merge(base, toObject, R"({"spec":{"mode":["simple"]}})", ownership);
    REQUIRE(result.conflicts.size() == 1);
    CHECK(result.conflicts[0].path == "/spec/mode");
    CHECK(result.conflicts[0].sourceValue == R"({"kind":"advanced","level":2})");
    CHECK(toJson(result.merged) == R"({"spec":{"mode":["simple"]}})");
  }
  SECTION("a number is not the same value as the string of its digits") {
    const MergeResult result =
        merge(R"({"spec":{"n":"1"}})", R"({"spec":{"n":1}})", R"({"spec":{"n":"1"}})", ownership);
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.forTarget) == R"({"spec":{"n":1}})");
  }
}

TEST_CASE(
    "a first sync without base takes one-sided fields and resolves differing ones as "
    "conflicts",
    "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::SourceWins);
  const MergeResult result = merge(std::nullopt, labels(R"("app":"x","tier":"web")"),
                                   labels(R"("app":"x","tier":"db","zone":"a")"), ownership);
  CHECK(toJson(result.merged) == labels(R"("app":"x","tier":"web","zone":"a")"));
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].path == "/metadata/labels/tier");
  CHECK(result.conflicts[0].baseValue == std::nullopt);
  CHECK(result.conflicts[0].winner == Winner::Source);
  CHECK(result.sourceChanged);
  CHECK(result.targetChanged);
}

TEST_CASE("a first sync to a missing target takes the source as it is", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result = merge(std::nullopt, labels(R"("tier":"web")"), kEmpty, ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.forTarget) == labels(R"("tier":"web")"));
  CHECK_FALSE(result.sourceChanged);
  CHECK(result.targetChanged);
}

TEST_CASE("only owner: both fields take part in the merge", "[policies]") {
  const auto ownership = labelsMergedWith(ConflictStrategy::Reject);
  const MergeResult result =
      merge(R"({"data":{"k":"1"},"status":{"p":"A"}})", R"({"data":{"k":"2"},"status":{"p":"B"}})",
            R"({"data":{"k":"3"},"status":{"p":"C"}})", ownership);
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.merged) == kEmpty);
  CHECK_FALSE(result.sourceChanged);
  CHECK_FALSE(result.targetChanged);
}

TEST_CASE("each conflicting field is decided by its own most specific rule, in path order",
          "[policies]") {
  const OwnershipMap ownership({
      rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins),
      rule("/metadata/labels/team~1*", Owner::Both, ConflictStrategy::Reject),
      rule("/metadata/annotations/*", Owner::Both, ConflictStrategy::TargetWins),
  });
  const std::string base =
      R"({"metadata":{"labels":{"team/name":"a","tier":"a"},"annotations":{"note":"a"}}})";
  const std::string source =
      R"({"metadata":{"labels":{"team/name":"b","tier":"b"},"annotations":{"note":"b"}}})";
  const std::string target =
      R"({"metadata":{"labels":{"team/name":"c","tier":"c"},"annotations":{"note":"c"}}})";
  const MergeResult result = merge(base, source, target, ownership);
  REQUIRE(result.conflicts.size() == 3);
  CHECK(result.conflicts[0].path == "/metadata/annotations/note");
  CHECK(result.conflicts[0].winner == Winner::Target);
  CHECK(result.conflicts[1].path == "/metadata/labels/team~1name");
  CHECK(result.conflicts[1].rule == "/metadata/labels/team~1*");
  CHECK(result.conflicts[1].winner == Winner::None);
  CHECK(result.conflicts[2].path == "/metadata/labels/tier");
  CHECK(result.conflicts[2].winner == Winner::Source);
  CHECK(toJson(result.merged) ==
        R"({"metadata":{"annotations":{"note":"c"},"labels":{"team/name":"a","tier":"b"}}})");
}

TEST_CASE("a both rule without onConflict rejects conflicts rather than guess", "[policies]") {
  const OwnershipMap ownership({rule("/metadata/labels/*", Owner::Both)});
  const MergeResult result = merge(labels(R"("tier":"web")"), labels(R"("tier":"db")"),
                                   labels(R"("tier":"cache")"), ownership);
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].strategy == ConflictStrategy::Reject);
  CHECK(result.conflicts[0].winner == Winner::None);
}

namespace {

// A writtenBySyncer answering `source` for the source and `target` for the target, and noting
// which sides it was asked about.
WrittenBySyncerFn copiedBy(bool source, bool target, std::vector<Side>* asked = nullptr) {
  return [source, target, asked](Side side, const Strings& field) {
    CHECK(field == Strings{"metadata", "labels", "chaos-t"});
    if (asked != nullptr) asked->push_back(side);
    return side == Side::Source ? source : target;
  };
}

MergeResult mergeCopied(const std::string& base, const std::string& source,
                        const std::string& target, ConflictStrategy strategy,
                        const WrittenBySyncerFn& writtenBySyncer) {
  const Json baseObject = parse(base);
  return threeWayMerge(&baseObject, parse(source), parse(target), labelsMergedWith(strategy), {},
                       {}, writtenBySyncer);
}

}  // namespace

// The syncer copied the target's Y1 up to the source, then died before the target write stored
// Y1 as the base (still X); the target's user has since set Y2.
TEST_CASE("a value the syncer copied to the source before a crash yields to the target's edit",
          "[policies][syncer-copy]") {
  const std::string x = labels(R"("chaos-t":"x")");
  const std::string y1 = labels(R"("chaos-t":"y1")");
  const std::string y2 = labels(R"("chaos-t":"y2")");
  for (const ConflictStrategy strategy :
       {ConflictStrategy::SourceWins, ConflictStrategy::Reject, ConflictStrategy::NewestWins}) {
    DYNAMIC_SECTION(toString(strategy)) {
      const MergeResult result = mergeCopied(x, y1, y2, strategy, copiedBy(true, false));
      CHECK(result.conflicts.empty());
      CHECK(toJson(result.merged) == y2);
      CHECK(toJson(result.forSource) == y2);
      CHECK(toJson(result.forTarget) == y2);
      CHECK(result.sourceChanged);
      CHECK_FALSE(result.targetChanged);
    }
  }
}

TEST_CASE("a value the syncer copied to the target yields to the source's edit",
          "[policies][syncer-copy]") {
  const MergeResult result =
      mergeCopied(labels(R"("chaos-t":"x")"), labels(R"("chaos-t":"y2")"),
                  labels(R"("chaos-t":"y1")"), ConflictStrategy::TargetWins, copiedBy(false, true));
  CHECK(result.conflicts.empty());
  CHECK(toJson(result.merged) == labels(R"("chaos-t":"y2")"));
  CHECK(toJson(result.forTarget) == labels(R"("chaos-t":"y2")"));
  CHECK_FALSE(result.sourceChanged);
  CHECK(result.targetChanged);
}

TEST_CASE("edits by others on both sides, or copies on both, are still decided by onConflict",
          "[policies][syncer-copy]") {
  const std::string x = labels(R"("chaos-t":"x")");
  const std::string y1 = labels(R"("chaos-t":"y1")");
  const std::string y2 = labels(R"("chaos-t":"y2")");
  for (const bool copies : {false, true}) {
    DYNAMIC_SECTION((copies ? "both sides the syncer's" : "neither side the syncer's")) {
      std::vector<Side> asked;
      const MergeResult sourceWins =
          mergeCopied(x, y1, y2, ConflictStrategy::SourceWins, copiedBy(copies, copies, &asked));
      REQUIRE(sourceWins.conflicts.size() == 1);
      CHECK(sourceWins.conflicts[0].winner == Winner::Source);
      CHECK(toJson(sourceWins.forTarget) == y1);
      CHECK(asked == std::vector<Side>{Side::Source, Side::Target});
      const MergeResult targetWins =
          mergeCopied(x, y1, y2, ConflictStrategy::TargetWins, copiedBy(copies, copies));
      REQUIRE(targetWins.conflicts.size() == 1);
      CHECK(targetWins.conflicts[0].winner == Winner::Target);
      CHECK(toJson(targetWins.forSource) == y2);
    }
  }
}

TEST_CASE("without writtenBySyncer a copy left by a crash is a conflict as before",
          "[policies][syncer-copy]") {
  const MergeResult result =
      mergeCopied(labels(R"("chaos-t":"x")"), labels(R"("chaos-t":"y1")"),
                  labels(R"("chaos-t":"y2")"), ConflictStrategy::SourceWins, {});
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].winner == Winner::Source);
  CHECK(toJson(result.forTarget) == labels(R"("chaos-t":"y1")"));
  CHECK(result.targetChanged);
}

TEST_CASE("a field absent on a side is never taken for the syncer's copy",
          "[policies][syncer-copy]") {
  const std::string x = labels(R"("chaos-t":"x")");
  const std::string y1 = labels(R"("chaos-t":"y1")");
  const std::string removed = R"({"metadata":{}})";
  SECTION("the source removed it by hand, the target holds another manager's value") {
    std::vector<Side> asked;
    // Even a callback claiming the source would not count for a field the source lacks.
    const MergeResult result =
        mergeCopied(x, removed, y1, ConflictStrategy::SourceWins, copiedBy(true, false, &asked));
    REQUIRE(result.conflicts.size() == 1);
    CHECK(toJson(result.forTarget) == kEmpty);
    CHECK(asked == std::vector<Side>{Side::Target});
  }
  SECTION("the syncer's copy on the source against a removal on the target: removed") {
    const MergeResult result =
        mergeCopied(x, y1, removed, ConflictStrategy::SourceWins, copiedBy(true, false));
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.merged) == kEmpty);
    CHECK(toJson(result.forSource) == kEmpty);
    CHECK(result.sourceChanged);
    CHECK_FALSE(result.targetChanged);
  }
}
