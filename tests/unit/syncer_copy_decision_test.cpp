// The crash window of an `owner: both` field, through decidePair (syncer/engine/pair_decision.hpp)
// with the managedFields a server records: the syncer applied the target's "y1" up to the source,
// then died before its target write stored "y1" as the merge base (still "x"); the workload then
// set "y2" on the target. planOf must see that the source's "y1" is the syncer's own copy.
#include <optional>
#include <string>
#include <utility>

#include "mapping/identity_mapper.hpp"
#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "syncer/engine/pair_decision.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/field_rules.hpp"
#include "tests/unit/parse_json.hpp"
#include "translators/generic/generic_translator.hpp"

namespace {

using namespace bisync::engine;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::policies::ConflictStrategy;
using bisync::policies::Owner;
using bisync::unit::parse;
using bisync::unit::rule;

// A bidirectional Widget policy whose labels are shared, source-wins, as in the chaos run.
struct Widgets {
  Widgets() { policy.direction = bisync::policies::Direction::Bidirectional; }

  bisync::mapping::IdentityMapper mapper{bisync::mapping::MapperConfig{"vc1", {}, ""}};
  bisync::kube::ResourceInfo resource{"example.com", "v1", "widgets", "Widget"};
  bisync::policies::SyncPolicy policy;
  bisync::policies::OwnershipMap ownership{
      {rule("/spec", Owner::Source),
       rule("/metadata/labels/*", Owner::Both, ConflictStrategy::SourceWins)}};
  bisync::policies::BaseForm plainValues;
  Json owners{rapidjson::kArrayType};
  bisync::translators::GenericTranslator translator{resource};
};

// A Widget labelled chaos-t=`value`, whose managedFields say `manager` wrote that label.
Json widget(const std::string& ns, const std::string& value, const std::string& manager) {
  return parse(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w",)"
               R"("namespace":")" +
               ns + R"(","uid":"u1","resourceVersion":"5","labels":{"chaos-t":")" + value +
               R"("},"managedFields":[{"manager":")" + manager +
               R"(","operation":"Apply","time":"2026-12-05T15:00:01Z","fieldsType":"FieldsV1",)"
               R"("fieldsV1":{"f:metadata":{"f:labels":{"f:chaos-t":{}}}}}]},"spec":{}})");
}

PairDecision decide(const Widgets& widgets, const Json& source, const JsonValue* target,
                    const JsonValue* base) {
  auto translated = widgets.translator.toTarget(source, widgets.mapper);
  REQUIRE(translated);
  const PairInputs inputs{widgets.mapper,
                          widgets.resource,
                          widgets.policy,
                          widgets.ownership,
                          widgets.plainValues,
                          "kube-bisync",
                          {"team-a", "w"},
                          {"vc1--team-a", "w"},
                          source,
                          *translated,
                          target,
                          base,
                          widgets.owners,
                          false,
                          target != nullptr ? "7" : ""};
  auto decision = decidePair(inputs);
  REQUIRE(decision);
  return std::move(*decision);
}

// The target copy as the server holds it after the syncer's write of a source labelled "x", then
// the workload's edit of chaos-t to `value` (its managedFields entry now owns the label).
Json editedCopy(const Widgets& widgets, const std::string& value) {
  Json copy =
      std::move(decide(widgets, widget("team-a", "x", "kube-bisync"), nullptr, nullptr).apply.body);
  auto& allocator = copy.GetAllocator();
  bisync::kube::JsonPointer("/metadata/labels/chaos-t").Set(copy, value.c_str(), allocator);
  const Json edit = widget("vc1--team-a", value, "chaos-checker");
  copy["metadata"].AddMember("managedFields",
                             JsonValue(edit["metadata"]["managedFields"], allocator), allocator);
  copy["metadata"].AddMember("uid", "t1", allocator);
  return copy;
}

std::string chaosT(const JsonValue& fields) {
  const JsonValue* value = bisync::kube::at(fields, "/metadata/labels/chaos-t");
  return value != nullptr && value->IsString() ? value->GetString() : "(absent)";
}

}  // namespace

TEST_CASE("decidePair takes the target's edit over the source value the syncer copied up",
          "[reconciler][syncer-copy]") {
  const Widgets widgets;
  const Json target = editedCopy(widgets, "y2");
  const Json base = parse(R"({"metadata":{"labels":{"chaos-t":"x"}}})");
  SECTION("the source's y1 is the syncer's own copy: the target's y2 wins, no conflict") {
    const PairDecision decision =
        decide(widgets, widget("team-a", "y1", "kube-bisync"), &target, &base);
    CHECK(decision.plan.conflicts.empty());
    CHECK(chaosT(decision.plan.forSource) == "y2");
    CHECK(chaosT(decision.plan.forTarget) == "y2");
    CHECK(chaosT(decision.plan.base) == "y2");
    CHECK(decision.writeSource);
  }
  SECTION("the source's y1 is another writer's edit: a conflict, source-wins") {
    const PairDecision decision =
        decide(widgets, widget("team-a", "y1", "source-user"), &target, &base);
    REQUIRE(decision.plan.conflicts.size() == 1);
    CHECK(decision.plan.conflicts[0].path == "/metadata/labels/chaos-t");
    CHECK(chaosT(decision.plan.forTarget) == "y1");
    CHECK_FALSE(decision.writeSource);
  }
}
