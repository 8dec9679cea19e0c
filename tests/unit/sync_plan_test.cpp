#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policies/field_path.hpp"
#include "policies/merge.hpp"
#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "policies/sync_plan.hpp"
#include "syncer/engine/managed_fields.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/field_rules.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using namespace bisync::policies;
using bisync::engine::fieldWriteTime;
using bisync::engine::ownedOnlyBy;
using bisync::engine::WriteTime;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::kube::toJson;
using Clock = std::chrono::system_clock;
using Strings = std::vector<std::string>;

using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;
using bisync::unit::rule;

Strings segmentsOf(std::string_view pointer) {
  auto segments = splitPointer(pointer);
  INFO(pointer);
  REQUIRE(segments.has_value());
  return *segments;
}

// Data belongs to the source, status to the target, labels are merged with `strategy`,
// annotations are ignored; everything else (/metadata/name, /spec) has no rule.
OwnershipMap policyWith(ConflictStrategy strategy) {
  return OwnershipMap({rule("/data", Owner::Source), rule("/status", Owner::Target),
                       rule("/metadata/labels/*", Owner::Both, strategy),
                       rule("/metadata/annotations", Owner::Ignore)});
}

SyncPlan plan(const std::optional<std::string>& base, const std::string& source,
              const std::string& target, const OwnershipMap& ownership,
              const WriteTimeFn& writeTime = {}) {
  const Json sourceView = parse(source);
  const Json targetView = parse(target);
  if (!base) return planSync(sourceView, targetView, nullptr, ownership, writeTime);
  const Json baseView = parse(*base);
  return planSync(sourceView, targetView, &baseView, ownership, writeTime);
}

std::string labels(const std::string& members) {
  return R"({"metadata":{"labels":{)" + members + "}}}";
}

std::vector<Strings> sorted(std::vector<Strings> fields) {
  std::sort(fields.begin(), fields.end());
  return fields;
}

bool mayForceAt(const OwnershipMap& ownership, std::string_view pointer, Side written) {
  return mayForce(ownership, segmentsOf(pointer), written);
}

constexpr const char* kEmpty = "{}";

}  // namespace

TEST_CASE(
    "a plan sends source-owned fields to the target only and target-owned ones to the "
    "source only",
    "[sync-plan]") {
  const SyncPlan result = plan(
      std::string(kEmpty), R"({"data":{"a":"1","b":"2"},"status":{"phase":"Pending"}})",
      R"({"data":{"a":"0"},"status":{"phase":"Ready"}})", policyWith(ConflictStrategy::SourceWins));
  CHECK(canonical(result.forTarget) == canonicalText(R"({"data":{"a":"1","b":"2"}})"));
  CHECK(canonical(result.forSource) == canonicalText(R"({"status":{"phase":"Ready"}})"));
  CHECK(canonical(result.base) == kEmpty);
  CHECK(result.targetDiffers);
  CHECK(result.sourceDiffers);
  CHECK(result.conflicts.empty());
}

TEST_CASE("a plan carries neither ignored nor unlisted fields", "[sync-plan]") {
  const auto ownership = policyWith(ConflictStrategy::SourceWins);
  const std::string source =
      R"({"metadata":{"name":"src","annotations":{"note":"x"}},"spec":{"replicas":1},
          "data":{"a":"1"}})";
  const std::string target =
      R"({"metadata":{"name":"dst","annotations":{"note":"y"}},"spec":{"replicas":3},
          "data":{"a":"1"}})";
  const SyncPlan result = plan(std::string(kEmpty), source, target, ownership);
  CHECK(canonical(result.forTarget) == canonicalText(R"({"data":{"a":"1"}})"));
  CHECK(canonical(result.forSource) == kEmpty);
  CHECK(canonical(result.base) == kEmpty);
  CHECK_FALSE(result.targetDiffers);
  CHECK_FALSE(result.sourceDiffers);
  CHECK(result.conflicts.empty());
}

TEST_CASE("a both field changed on the source only is planned for the target and becomes the base",
          "[sync-plan]") {
  const SyncPlan result =
      plan(labels(R"("tier":"web")"), R"({"metadata":{"labels":{"tier":"db"}},"data":{"a":"1"}})",
           R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"}})",
           policyWith(ConflictStrategy::Reject));
  CHECK(canonical(result.forTarget) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"db"}},"data":{"a":"1"}})"));
  CHECK(canonical(result.forSource) == canonicalText(labels(R"("tier":"db")")));
  CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"db")")));
  CHECK(result.targetDiffers);
  CHECK_FALSE(result.sourceDiffers);
  CHECK(result.conflicts.empty());
}

TEST_CASE("a both field changed on the target only is planned for the source and becomes the base",
          "[sync-plan]") {
  const SyncPlan result =
      plan(labels(R"("tier":"web")"),
           R"({"metadata":{"labels":{"tier":"web"}},"status":{"phase":"Ready"}})",
           R"({"metadata":{"labels":{"tier":"db"}},"status":{"phase":"Ready"}})",
           policyWith(ConflictStrategy::Reject));
  CHECK(canonical(result.forSource) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"db"}},"status":{"phase":"Ready"}})"));
  CHECK(canonical(result.forTarget) == canonicalText(labels(R"("tier":"db")")));
  CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"db")")));
  CHECK(result.sourceDiffers);
  CHECK_FALSE(result.targetDiffers);
  CHECK(result.conflicts.empty());
}

TEST_CASE("a field removed on one side is removed from the other side's plan", "[sync-plan]") {
  const auto ownership = policyWith(ConflictStrategy::Reject);
  SECTION("a both field removed on the source") {
    const std::string both = labels(R"("tier":"web","zone":"a")");
    const SyncPlan result = plan(both, labels(R"("zone":"a")"), both, ownership);
    CHECK(canonical(result.forTarget) == canonicalText(labels(R"("zone":"a")")));
    CHECK(canonical(result.base) == canonicalText(labels(R"("zone":"a")")));
    CHECK(result.targetDiffers);
    CHECK_FALSE(result.sourceDiffers);
    CHECK(result.conflicts.empty());
  }
  SECTION("the last both field removed on the target") {
    const std::string tier = labels(R"("tier":"web")");
    const SyncPlan result = plan(tier, tier, R"({"metadata":{"labels":{}}})", ownership);
    CHECK(canonical(result.forSource) == kEmpty);
    CHECK(canonical(result.base) == kEmpty);
    CHECK(result.sourceDiffers);
    CHECK_FALSE(result.targetDiffers);
  }
  SECTION("a source-owned field removed on the source") {
    const SyncPlan result = plan(std::string(kEmpty), R"({"data":{"a":"1"}})",
                                 R"({"data":{"a":"1","b":"2"}})", ownership);
    CHECK(canonical(result.forTarget) == canonicalText(R"({"data":{"a":"1"}})"));
    CHECK(result.targetDiffers);
    CHECK_FALSE(result.sourceDiffers);
  }
  SECTION("a target-owned field removed on the target") {
    const SyncPlan result = plan(std::string(kEmpty), R"({"status":{"phase":"Ready","note":"x"}})",
                                 R"({"status":{"phase":"Ready"}})", ownership);
    CHECK(canonical(result.forSource) == canonicalText(R"({"status":{"phase":"Ready"}})"));
    CHECK(result.sourceDiffers);
    CHECK_FALSE(result.targetDiffers);
  }
}

TEST_CASE("a conflict under source-wins plans the source value for both sides", "[sync-plan]") {
  const SyncPlan result =
      plan(labels(R"("tier":"web")"), labels(R"("tier":"db")"), labels(R"("tier":"cache")"),
           policyWith(ConflictStrategy::SourceWins));
  CHECK(canonical(result.forTarget) == canonicalText(labels(R"("tier":"db")")));
  CHECK(canonical(result.forSource) == canonicalText(labels(R"("tier":"db")")));
  CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"db")")));
  CHECK(result.targetDiffers);
  CHECK_FALSE(result.sourceDiffers);
  // The conflict's details are the merge's (policy_merge_test.cpp); the plan passes them on.
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].winner == Winner::Source);
}

TEST_CASE("a conflict under target-wins plans the target value for both sides", "[sync-plan]") {
  const SyncPlan result =
      plan(labels(R"("tier":"web")"), labels(R"("tier":"db")"), labels(R"("tier":"cache")"),
           policyWith(ConflictStrategy::TargetWins));
  CHECK(canonical(result.forTarget) == canonicalText(labels(R"("tier":"cache")")));
  CHECK(canonical(result.forSource) == canonicalText(labels(R"("tier":"cache")")));
  CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"cache")")));
  CHECK_FALSE(result.targetDiffers);
  CHECK(result.sourceDiffers);
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].strategy == ConflictStrategy::TargetWins);
  CHECK(result.conflicts[0].winner == Winner::Target);
}

TEST_CASE("a conflict under newest-wins plans the value of the side that wrote it last",
          "[sync-plan]") {
  const auto ownership = policyWith(ConflictStrategy::NewestWins);
  const auto early = Clock::from_time_t(1795428000);
  const auto late = early + std::chrono::seconds(1);
  std::vector<std::pair<Side, Strings>> asked;
  const auto times = [&asked](Clock::time_point source, Clock::time_point target) -> WriteTimeFn {
    return [&asked, source, target](Side side, const Strings& field) {
      asked.emplace_back(side, field);
      return std::optional<Clock::time_point>(side == Side::Source ? source : target);
    };
  };
  const auto planWith = [&](const WriteTimeFn& writeTime) {
    return plan(labels(R"("tier":"web")"), labels(R"("tier":"db")"), labels(R"("tier":"cache")"),
                ownership, writeTime);
  };
  SECTION("the target wrote later") {
    const SyncPlan result = planWith(times(early, late));
    CHECK(canonical(result.forSource) == canonicalText(labels(R"("tier":"cache")")));
    CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"cache")")));
    CHECK(result.sourceDiffers);
    CHECK_FALSE(result.targetDiffers);
    REQUIRE(result.conflicts.size() == 1);
    CHECK(result.conflicts[0].strategy == ConflictStrategy::NewestWins);
    CHECK(result.conflicts[0].winner == Winner::Target);
  }
  SECTION("the source wrote later") {
    const SyncPlan result = planWith(times(late, early));
    CHECK(canonical(result.forTarget) == canonicalText(labels(R"("tier":"db")")));
    CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"db")")));
    CHECK(result.targetDiffers);
    CHECK_FALSE(result.sourceDiffers);
    REQUIRE(result.conflicts.size() == 1);
    CHECK(result.conflicts[0].winner == Winner::Source);
  }
  const auto askedSide = [&asked](Side side) {
    return std::any_of(
        asked.begin(), asked.end(), [side](const std::pair<Side, Strings>& question) {
          return question.first == side && question.second == Strings{"metadata", "labels", "tier"};
        });
  };
  CHECK(askedSide(Side::Source));
  CHECK(askedSide(Side::Target));
}

TEST_CASE("a conflict under reject keeps each side's value and the old base", "[sync-plan]") {
  const SyncPlan result =
      plan(labels(R"("tier":"web","zone":"a")"), labels(R"("tier":"db","zone":"b")"),
           labels(R"("tier":"cache","zone":"a")"), policyWith(ConflictStrategy::Reject));
  CHECK(canonical(result.forTarget) == canonicalText(labels(R"("tier":"cache","zone":"b")")));
  CHECK(canonical(result.forSource) == canonicalText(labels(R"("tier":"db","zone":"b")")));
  CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"web","zone":"b")")));
  CHECK(result.targetDiffers);  // zone still travels down
  CHECK_FALSE(result.sourceDiffers);
  REQUIRE(result.conflicts.size() == 1);
  CHECK(result.conflicts[0].path == "/metadata/labels/tier");
  CHECK(result.conflicts[0].strategy == ConflictStrategy::Reject);
  CHECK(result.conflicts[0].winner == Winner::None);
}

TEST_CASE("a first sync without base over equal values plans no conflict and no write",
          "[sync-plan]") {
  const std::string object =
      R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"},"status":{"phase":"Ready"}})";
  const SyncPlan result = plan(std::nullopt, object, object, policyWith(ConflictStrategy::Reject));
  CHECK(result.conflicts.empty());
  CHECK_FALSE(result.targetDiffers);
  CHECK_FALSE(result.sourceDiffers);
  CHECK(canonical(result.base) == canonicalText(labels(R"("tier":"web")")));
  CHECK(canonical(result.forTarget) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"}})"));
  CHECK(canonical(result.forSource) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"web"}},"status":{"phase":"Ready"}})"));
}

TEST_CASE("a first sync to an empty target plans the source's fields for it", "[sync-plan]") {
  const SyncPlan result =
      plan(std::nullopt, R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"}})", kEmpty,
           policyWith(ConflictStrategy::Reject));
  CHECK(result.conflicts.empty());
  CHECK(result.targetDiffers);
  CHECK_FALSE(result.sourceDiffers);
  CHECK(canonical(result.forTarget) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"}})"));
}

TEST_CASE("sides already holding what the plan wants need no write (loop prevention layer 1)",
          "[sync-plan]") {
  const auto ownership = policyWith(ConflictStrategy::SourceWins);
  const Json base = parse(labels(R"("tier":"web","zone":"a")"));
  const Json source = parse(
      R"({"metadata":{"name":"s","labels":{"tier":"db","zone":"a"}},"data":{"a":"1","n":1},
          "status":{"phase":"Pending"}})");
  const Json target = parse(
      R"({"metadata":{"name":"t","labels":{"tier":"cache","zone":"b"},
                      "annotations":{"note":"target only"}},
          "data":{"old":"x"},"status":{"phase":"Ready"}})");
  const SyncPlan first = planSync(source, target, &base, ownership);
  REQUIRE(first.targetDiffers);
  REQUIRE(first.sourceDiffers);

  // Write each side as planned: its other-owned fields and its both fields.
  const Json writtenTarget =
      withProjection(withProjection(target, Owner::Source, first.forTarget, ownership), Owner::Both,
                     first.forTarget, ownership);
  const Json writtenSource =
      withProjection(withProjection(source, Owner::Target, first.forSource, ownership), Owner::Both,
                     first.forSource, ownership);
  CHECK(canonical(writtenFields(writtenTarget, Side::Target, ownership)) ==
        canonical(first.forTarget));

  const SyncPlan second = planSync(writtenSource, writtenTarget, &first.base, ownership);
  CHECK_FALSE(second.targetDiffers);
  CHECK_FALSE(second.sourceDiffers);
  CHECK(second.conflicts.empty());
  CHECK(canonical(second.forTarget) == canonical(first.forTarget));
  CHECK(canonical(second.forSource) == canonical(first.forSource));
  CHECK(canonical(second.base) == canonical(first.base));

  SECTION("member order and 1 against 1.0 make no difference") {
    const Json reordered = parse(
        R"({"status":{"phase":"Ready"},"data":{"n":1.0,"a":"1"},
            "metadata":{"labels":{"zone":"b","tier":"db"}}})");
    const SyncPlan third = planSync(writtenSource, reordered, &first.base, ownership);
    CHECK_FALSE(third.targetDiffers);
  }
}

TEST_CASE("the written fields of a side are the other side's fields and the both fields",
          "[sync-plan]") {
  const auto ownership = policyWith(ConflictStrategy::SourceWins);
  const Json view = parse(
      R"({"metadata":{"name":"s","labels":{"tier":"web"},"annotations":{"note":"x"}},
          "data":{"a":"1"},"status":{"phase":"Ready"},"spec":{"replicas":1}})");
  CHECK(canonical(writtenFields(view, Side::Target, ownership)) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"}})"));
  CHECK(canonical(writtenFields(view, Side::Source, ownership)) ==
        canonicalText(R"({"metadata":{"labels":{"tier":"web"}},"status":{"phase":"Ready"}})"));
}

TEST_CASE("a policy has shared fields exactly when it has an owner both rule", "[sync-plan]") {
  CHECK(hasSharedFields(policyWith(ConflictStrategy::Reject)));
  CHECK_FALSE(
      hasSharedFields(OwnershipMap({rule("/data", Owner::Source), rule("/status", Owner::Target),
                                    rule("/metadata/annotations", Owner::Ignore)})));
  CHECK_FALSE(hasSharedFields(OwnershipMap({})));
}

TEST_CASE("changedFields finds changed and added leaves but not removed ones", "[sync-plan]") {
  const Json has = parse(
      R"({"data":{"same":"1","changed":"1","removed":"1","n":1},
          "metadata":{"labels":{"tier":"web","app.kubernetes.io/name":"x"}}})");
  const Json wanted = parse(
      R"({"data":{"same":"1","changed":"2","added":"1","n":1.0,"nulled":null,"empty":{}},
          "metadata":{"labels":{"tier":"web","app.kubernetes.io/name":"y","zone":"a"}}})");
  CHECK(sorted(changedFields(has, wanted)) ==
        std::vector<Strings>{{"data", "added"},
                             {"data", "changed"},
                             {"metadata", "labels", "app.kubernetes.io/name"},
                             {"metadata", "labels", "zone"}});
  CHECK(changedFields(has, has).empty());
  CHECK(changedFields(wanted, parse(kEmpty)).empty());
}

TEST_CASE("changedFields sees a change of type as a change of the wanted leaves", "[sync-plan]") {
  const Json scalar = parse(R"({"spec":{"mode":"simple"}})");
  const Json object = parse(R"({"spec":{"mode":{"kind":"advanced","level":2}}})");
  CHECK(changedFields(object, scalar) == std::vector<Strings>{{"spec", "mode"}});
  CHECK(sorted(changedFields(scalar, object)) ==
        std::vector<Strings>{{"spec", "mode", "kind"}, {"spec", "mode", "level"}});
}

TEST_CASE("removalPatch nulls the nested fields the wanted object lacks", "[sync-plan]") {
  const Json has = parse(
      R"({"metadata":{"labels":{"tier":"web","zone":"a"}},
          "data":{"keep":"1","changed":"1","old":"1"}})");
  SECTION("some fields gone") {
    const Json wanted = parse(
        R"({"metadata":{"labels":{"tier":"web"}},"data":{"keep":"1","changed":"2","old":null}})");
    const std::optional<Json> patch = removalPatch(has, wanted);
    REQUIRE(patch.has_value());
    CHECK(canonical(*patch) ==
          canonicalText(R"({"metadata":{"labels":{"zone":null}},"data":{"old":null}})"));
  }
  SECTION("everything gone") {
    const std::optional<Json> patch = removalPatch(has, parse(kEmpty));
    REQUIRE(patch.has_value());
    CHECK(canonical(*patch) == canonicalText(R"({"metadata":{"labels":{"tier":null,"zone":null}},
                            "data":{"keep":null,"changed":null,"old":null}})"));
  }
}

TEST_CASE("removalPatch is nullopt when there is nothing to remove", "[sync-plan]") {
  const Json has = parse(R"({"metadata":{"labels":{"tier":"web"}},"data":{"a":"1"}})");
  CHECK_FALSE(removalPatch(has, has).has_value());
  CHECK_FALSE(
      removalPatch(has,
                   parse(R"({"metadata":{"labels":{"tier":"db","zone":"a"}},"data":{"a":"2"}})"))
          .has_value());
  CHECK_FALSE(removalPatch(parse(kEmpty), has).has_value());
  CHECK_FALSE(removalPatch(parse(R"({"metadata":{"labels":{}},"data":{"a":null}})"), parse(kEmpty))
                  .has_value());
}

TEST_CASE("mayForce takes over only the fields the syncer writes on that side", "[sync-plan]") {
  const OwnershipMap ownership({
      rule("/data", Owner::Source),
      rule("/status", Owner::Target),
      rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins),
      rule("/metadata/labels/t*", Owner::Both, ConflictStrategy::TargetWins),
      rule("/metadata/labels/n*", Owner::Both, ConflictStrategy::NewestWins),
      rule("/metadata/annotations/*", Owner::Both, ConflictStrategy::Reject),
      rule("/spec", Owner::Ignore),
  });
  // source-owned: forced when writing the target, never when writing the source
  CHECK(mayForceAt(ownership, "/data/a", Side::Target));
  CHECK_FALSE(mayForceAt(ownership, "/data/a", Side::Source));
  // target-owned: the reverse
  CHECK(mayForceAt(ownership, "/status/phase", Side::Source));
  CHECK_FALSE(mayForceAt(ownership, "/status/phase", Side::Target));
  // both: on either side, whatever the strategy (the value written is the one the merge
  // chose; a rejected conflict's field is never written)
  for (const Side side : {Side::Source, Side::Target}) {
    CHECK(mayForceAt(ownership, "/metadata/labels/app", side));        // source-wins
    CHECK(mayForceAt(ownership, "/metadata/labels/tier", side));       // target-wins
    CHECK(mayForceAt(ownership, "/metadata/labels/name", side));       // newest-wins
    CHECK(mayForceAt(ownership, "/metadata/annotations/note", side));  // reject
    CHECK_FALSE(mayForceAt(ownership, "/spec/replicas", side));        // ignore
    CHECK_FALSE(mayForceAt(ownership, "/metadata/name", side));        // no rule
  }
}

TEST_CASE("managedFieldPath names a field the way the API server does", "[sync-plan]") {
  CHECK(managedFieldPath({"metadata", "labels", "app.kubernetes.io/name"}) ==
        ".metadata.labels.app.kubernetes.io/name");
  CHECK(managedFieldPath({"data", "key"}) == ".data.key");
  CHECK(managedFieldPath({}).empty());
}

// The crash window of a both field, with the objects' real managedFields: the syncer applied the
// target's "y1" to the source and died before the target write stored it as the base ("x"); the
// workload then set "y2" on the target. The plan takes y2 everywhere, with no conflict.
TEST_CASE("a plan takes the target's edit over a value the syncer copied to the source",
          "[sync-plan][syncer-copy]") {
  const Json source = parse(R"({"metadata":{"labels":{"chaos-t":"y1"},"managedFields":[
    {"manager":"kube-bisync","time":"2026-12-05T15:00:01Z",
     "fieldsV1":{"f:metadata":{"f:labels":{"f:chaos-t":{}}}}}]}})");
  const Json target = parse(R"({"metadata":{"labels":{"chaos-t":"y2"},"managedFields":[
    {"manager":"chaos-checker","time":"2026-12-05T15:00:02Z",
     "fieldsV1":{"f:metadata":{"f:labels":{"f:chaos-t":{}}}}}]}})");
  const Json base = parse(labels(R"("chaos-t":"x")"));
  const auto writtenBySyncer = [&](Side side, const Strings& field) {
    return ownedOnlyBy(side == Side::Source ? source : target, field, "kube-bisync");
  };
  const Json sourceView = parse(labels(R"("chaos-t":"y1")"));
  const Json targetView = parse(labels(R"("chaos-t":"y2")"));
  const auto ownership = policyWith(ConflictStrategy::SourceWins);
  const SyncPlan result =
      planSync(sourceView, targetView, &base, ownership, {}, {}, writtenBySyncer);
  CHECK(result.conflicts.empty());
  CHECK(canonical(result.forSource) == canonicalText(labels(R"("chaos-t":"y2")")));
  CHECK(canonical(result.forTarget) == canonicalText(labels(R"("chaos-t":"y2")")));
  CHECK(canonical(result.base) == canonicalText(labels(R"("chaos-t":"y2")")));
  CHECK(result.sourceDiffers);
  CHECK_FALSE(result.targetDiffers);
  // Before the fix (no writtenBySyncer) the same inputs overwrote the target's edit.
  const SyncPlan old = planSync(sourceView, targetView, &base, ownership);
  REQUIRE(old.conflicts.size() == 1);
  CHECK(canonical(old.forTarget) == canonicalText(labels(R"("chaos-t":"y1")")));
}
