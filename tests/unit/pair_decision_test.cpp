// Table tests of the Reconciler's decisions (syncer/engine/pair_decision.hpp): what one reconcile
// of a source object and the object at its target key writes, where and with which
// precondition; clashes; fights; refused writes. The target objects are what a server stores
// of the syncer's own earlier writes (the apply configuration decidePair returned, plus a uid and
// a resourceVersion), edited where a row says someone changed them.
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

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

// One kind, one policy: /spec belongs to the source, /status to the target, labels are merged
// with `strategy`, and the containers list is shared too (merged item by item, by name).
struct World {
  explicit World(ConflictStrategy strategy = ConflictStrategy::Reject)
      : ownership({rule("/spec", Owner::Source), rule("/status", Owner::Target),
                   rule("/metadata/labels/*", Owner::Both, strategy),
                   rule("/spec/containers", Owner::Both, strategy)}) {
    policy.direction = bisync::policies::Direction::Bidirectional;
  }

  bisync::mapping::IdentityMapper mapper{bisync::mapping::MapperConfig{"vc1", {}, ""}};
  bisync::kube::ResourceInfo resource{"example.com", "v1", "widgets", "Widget"};
  bisync::policies::SyncPolicy policy;
  bisync::policies::OwnershipMap ownership;
  bisync::policies::BaseForm plainValues;
  Json owners{rapidjson::kArrayType};
  bisync::translators::GenericTranslator translator{resource};
};

Json widget(const std::string& labels, const std::string& spec, const std::string& uid = "u1") {
  return parse(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w",)"
               R"("namespace":"team-a","uid":")" +
               uid + R"(","resourceVersion":"5","labels":{)" + labels + R"(}},"spec":{)" + spec +
               "}}");
}

// The merge base a target copy carries, as the engine reads it before deciding.
std::optional<Json> baseOf(const JsonValue* target) {
  if (target == nullptr) return std::nullopt;
  const JsonValue* base = bisync::kube::at(*target, "/metadata/annotations");
  if (base == nullptr) return std::nullopt;
  const std::string_view text =
      bisync::kube::stringMember(*base, bisync::mapping::kMergeBaseAnnotation);
  if (text.empty()) return std::nullopt;
  return parse(std::string(text));
}

PairDecision decide(const World& world, const Json& source, const JsonValue* target,
                    bool copiedUp = false, const JsonValue* translated = nullptr) {
  const std::optional<Json> base = baseOf(target);
  auto generic = world.translator.toTarget(source, world.mapper);
  REQUIRE(generic);
  const PairInputs inputs{world.mapper,
                          world.resource,
                          world.policy,
                          world.ownership,
                          world.plainValues,
                          "kube-bisync",
                          {"team-a", "w"},
                          {"vc1--team-a", "w"},
                          source,
                          translated != nullptr ? *translated : *generic,
                          target,
                          base ? &*base : nullptr,
                          world.owners,
                          copiedUp,
                          target != nullptr ? "7" : ""};
  auto decision = decidePair(inputs);
  REQUIRE(decision);
  return std::move(*decision);
}

// What the target's server stores of the syncer's write of `source`.
Json storedCopy(const World& world, const Json& source) {
  Json stored = std::move(decide(world, source, nullptr).apply.body);
  auto& allocator = stored.GetAllocator();
  stored["metadata"].RemoveMember("resourceVersion");
  stored["metadata"].AddMember("resourceVersion", "7", allocator);
  stored["metadata"].AddMember("uid", "t1", allocator);
  return stored;
}

void set(Json& object, const char* pointer, const std::string& value) {
  bisync::kube::JsonPointer(pointer).Set(object, value.c_str(), object.GetAllocator());
}

std::string at(const JsonValue& object, const char* pointer) {
  const JsonValue* value = bisync::kube::at(object, pointer);
  return value != nullptr && value->IsString() ? value->GetString() : "(absent)";
}

// A target that someone other than the syncer made at the copy's name.
Json foreignObject() {
  return parse(R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w",)"
               R"("namespace":"vc1--team-a","uid":"t9","resourceVersion":"3"},"spec":{}})");
}

struct PairRow {
  const char* name;
  std::function<Json(const World&)> target;  // null: none
  std::function<Json()> source;
  TargetRole role;
  TargetWrite write;
  bool writeSource;
};

}  // namespace

TEST_CASE("the reconciler decides create, update, no-op, drift and clash from the two objects",
          "[reconciler][decisions]") {
  const auto original = [] { return widget(R"("tier":"web")", R"("size":3)"); };
  const auto resized = [] { return widget(R"("tier":"web")", R"("size":4)"); };
  const auto copyOf = [&](const World& world) { return storedCopy(world, original()); };
  const std::vector<PairRow> rows = {
      {"create: no copy yet", nullptr, original, TargetRole::Absent, TargetWrite::Create, false},
      {"no-op: the copy holds our last write", copyOf, original, TargetRole::OurCopy,
       TargetWrite::None, false},
      {"update: the source changed since", copyOf, resized, TargetRole::OurCopy,
       TargetWrite::Update, false},
      {"drift: someone changed a source-owned field of the copy",
       [&](const World& world) {
         Json copy = copyOf(world);
         copy["spec"]["size"].SetInt(9);
         return copy;
       },
       original, TargetRole::OurCopy, TargetWrite::Restore, false},
      {"no drift: the target added a field the syncer does not write",
       [&](const World& world) {
         Json copy = copyOf(world);
         set(copy, "/metadata/annotations/team", "ops");
         return copy;
       },
       original, TargetRole::OurCopy, TargetWrite::None, false},
      {"target-owned field changed: it goes to the source",
       [&](const World& world) {
         Json copy = copyOf(world);
         set(copy, "/status/phase", "Ready");
         return copy;
       },
       original, TargetRole::OurCopy, TargetWrite::None, true},
      {"clash: an object the syncer did not make", [](const World&) { return foreignObject(); },
       original, TargetRole::Clash, TargetWrite::None, false},
      {"clash: the copy of another source",
       [&](const World& world) {
         Json copy = copyOf(world);
         set(copy, "/metadata/annotations/kube-bisync.io~1source-name", "other");
         set(copy, "/metadata/labels/kube-bisync.io~1source-name", "other");
         return copy;
       },
       original, TargetRole::Clash, TargetWrite::None, false},
  };
  for (const PairRow& row : rows) {
    DYNAMIC_SECTION(row.name) {
      const World world;
      const std::optional<Json> target =
          row.target ? std::optional<Json>(row.target(world)) : std::nullopt;
      const PairDecision decision = decide(world, row.source(), target ? &*target : nullptr);
      CHECK(decision.target.role == row.role);
      CHECK(decision.targetWrite == row.write);
      CHECK(decision.writeSource == row.writeSource);
      if (row.role == TargetRole::Clash) CHECK_FALSE(decision.target.clash.empty());
      if (row.write == TargetWrite::Create || row.write == TargetWrite::Update) {
        // Written with the origin metadata, and an update with the cached copy's version as
        // its precondition.
        CHECK(at(decision.apply.body, "/metadata/annotations/kube-bisync.io~1source-uid") == "u1");
        CHECK(at(decision.apply.body, "/metadata/resourceVersion") ==
              (row.write == TargetWrite::Update ? "7" : "(absent)"));
      }
    }
  }
}

TEST_CASE("the target gets the source-owned fields as the translator made them",
          "[reconciler][decisions]") {
  const World world;
  const Json source = widget(R"("tier":"web")", R"("configRef":"settings")");
  // A plugin maps the reference to the target's name of the object it names.
  Json translated = std::move(*world.translator.toTarget(source, world.mapper));
  set(translated, "/spec/configRef", "settings-vc1");
  set(translated, "/metadata/labels/tier", "rewritten");  // a both field: merged from the source
  const PairDecision decision = decide(world, source, nullptr, false, &translated);
  CHECK(at(decision.plan.forTarget, "/spec/configRef") == "settings-vc1");
  CHECK(at(decision.apply.body, "/spec/configRef") == "settings-vc1");
  CHECK(at(decision.plan.forTarget, "/metadata/labels/tier") == "web");
}

TEST_CASE("the object a source was copied up from is adopted, one being deleted is a clash",
          "[reconciler][decisions]") {
  const World world;
  Json made = foreignObject();
  CHECK(decide(world, widget("", ""), &made, /*copiedUp=*/true).target.role == TargetRole::Adopted);
  set(made, "/metadata/deletionTimestamp", "2026-12-05T00:00:00Z");
  CHECK(decide(world, widget("", ""), &made, /*copiedUp=*/true).target.role == TargetRole::Clash);
}

TEST_CASE("a source over maxObjectBytes is rejected and nothing is written",
          "[reconciler][decisions]") {
  World world;
  world.policy.limits.maxObjectBytes = 10;
  const PairDecision decision = decide(world, widget(R"("tier":"web")", R"("size":3)"), nullptr);
  REQUIRE(decision.rejected);
  CHECK(decision.rejected->find("maxObjectBytes 10") != std::string::npos);
  CHECK(decision.targetWrite == TargetWrite::None);
}

TEST_CASE("a conflict on a shared field is decided by the rule's onConflict",
          "[reconciler][decisions]") {
  struct Row {
    ConflictStrategy strategy;
    const char* targetGets;
    bool writeSource;
  };
  // Both sides change the label since the last sync: source "api", target "db".
  for (const Row& row :
       {Row{ConflictStrategy::SourceWins, "api", false},
        Row{ConflictStrategy::TargetWins, "db", true}, Row{ConflictStrategy::Reject, "db", false},
        Row{ConflictStrategy::NewestWins, "api", false}}) {
    DYNAMIC_SECTION(bisync::policies::toString(row.strategy)) {
      const World world(row.strategy);
      Json copy = storedCopy(world, widget(R"("tier":"web")", ""));
      set(copy, "/metadata/labels/tier", "db");
      const PairDecision decision = decide(world, widget(R"("tier":"api")", ""), &copy);
      REQUIRE(decision.plan.conflicts.size() == 1);
      CHECK(decision.plan.conflicts[0].path == "/metadata/labels/tier");
      CHECK(decision.contested == std::vector<std::string>{"/metadata/labels/tier"});
      CHECK(at(decision.plan.forTarget, "/metadata/labels/tier") == row.targetGets);
      CHECK(decision.writeSource == row.writeSource);
    }
  }
}

TEST_CASE("list items keyed by name merge item by item; one item changed on both is a conflict",
          "[reconciler][decisions][lists]") {
  const World world;
  const auto containers = [](const char* app, const char* sidecar) {
    return widget("", std::string(R"("containers":[{"name":"app","image":")") + app +
                          R"("},{"name":"sidecar","image":")" + sidecar + R"("}])");
  };
  const Json synced = storedCopy(world, containers("app:1", "proxy:1"));

  SECTION("different items changed on the two sides: no conflict, both changes kept") {
    Json copy;
    copy.CopyFrom(synced, copy.GetAllocator());
    set(copy, "/spec/containers/1/image", "proxy:2");
    const PairDecision decision = decide(world, containers("app:2", "proxy:1"), &copy);
    CHECK(decision.plan.conflicts.empty());
    CHECK(at(decision.plan.forTarget, "/spec/containers/0/image") == "app:2");
    CHECK(at(decision.plan.forTarget, "/spec/containers/1/image") == "proxy:2");
    CHECK(at(decision.plan.forSource, "/spec/containers/1/image") == "proxy:2");
    CHECK(decision.writeSource);
    CHECK(decision.targetWrite == TargetWrite::Update);
  }
  SECTION("the same item's field changed differently on the two sides: a conflict named by key") {
    Json copy;
    copy.CopyFrom(synced, copy.GetAllocator());
    set(copy, "/spec/containers/0/image", "app:3");
    const PairDecision decision = decide(world, containers("app:2", "proxy:1"), &copy);
    REQUIRE(decision.plan.conflicts.size() == 1);
    CHECK(decision.plan.conflicts[0].path == "/spec/containers/[name=app]/image");
    // Reject: each side keeps its own value of that field.
    CHECK(at(decision.plan.forTarget, "/spec/containers/0/image") == "app:3");
    CHECK(at(decision.plan.forSource, "/spec/containers/0/image") == "app:2");
  }
}

// Chaos seed 8: a copy of an earlier incarnation merged in place carried a field the target set
// for the old object up into the new one.
TEST_CASE(
    "a copy of an earlier incarnation holding fields the target owns or shares is replaced, "
    "one holding none is updated in place",
    "[reconciler][decisions]") {
  const World world;
  SECTION("shared labels on the old copy: replaced, nothing else decided") {
    const Json copy = storedCopy(world, widget(R"("tier":"web")", R"("size":3)", "u1"));
    const PairDecision decision =
        decide(world, widget(R"("tier":"web")", R"("size":3)", "u2"), &copy);
    CHECK(decision.target.role == TargetRole::OurCopy);
    CHECK(decision.replaceEarlierIncarnation);
    CHECK_FALSE(decision.writeSource);
    CHECK(decision.targetWrite == TargetWrite::None);
  }
  SECTION("a target-owned status on the old copy: replaced") {
    Json copy = storedCopy(world, widget("", R"("size":3)", "u1"));
    set(copy, "/status/phase", "Ready");
    CHECK(decide(world, widget("", R"("size":3)", "u2"), &copy).replaceEarlierIncarnation);
  }
  SECTION("only source-owned fields on the old copy: updated in place with the new uid") {
    const Json copy = storedCopy(world, widget("", R"("size":3)", "u1"));
    const PairDecision decision = decide(world, widget("", R"("size":4)", "u2"), &copy);
    CHECK_FALSE(decision.replaceEarlierIncarnation);
    CHECK(decision.targetWrite == TargetWrite::Update);
    CHECK(at(decision.apply.body, "/metadata/annotations/kube-bisync.io~1source-uid") == "u2");
  }
  SECTION("the same incarnation with a target-owned status: merged as usual") {
    Json copy = storedCopy(world, widget("", R"("size":3)", "u1"));
    set(copy, "/status/phase", "Ready");
    const PairDecision decision = decide(world, widget("", R"("size":3)", "u1"), &copy);
    CHECK_FALSE(decision.replaceEarlierIncarnation);
    CHECK(decision.writeSource);
  }
}

TEST_CASE("a write the target refuses is replaced, reported or retried as the error says",
          "[reconciler][decisions]") {
  const World world;
  const Json source = widget("", R"("size":3)");
  const Json copy = storedCopy(world, source);
  const Json recreated = widget("", R"("size":3)", "u2");  // same name, new incarnation
  const auto apiError = [](int status, std::string reason, std::string message) {
    bisync::kube::Error error;
    error.httpStatus = status;
    error.reason = std::move(reason);
    error.message = std::move(message);
    return error;
  };
  const auto invalid = apiError(422, "Invalid", "spec.size: Invalid value: 3: must be odd");
  const auto immutable =
      apiError(422, "Invalid", "spec.selector: Invalid value: field is immutable");
  using bisync::policies::OnImmutable;
  CHECK(judgeRefusal(invalid, world.mapper, &copy, recreated, OnImmutable::Report) ==
        Refusal::ReplaceEarlierIncarnation);
  CHECK(judgeRefusal(immutable, world.mapper, &copy, source, OnImmutable::Report) ==
        Refusal::ReportImmutable);
  CHECK(judgeRefusal(immutable, world.mapper, &copy, source, OnImmutable::Recreate) ==
        Refusal::RecreateImmutable);
  CHECK(judgeRefusal(invalid, world.mapper, &copy, source, OnImmutable::Report) ==
        Refusal::Rejected);
  CHECK(judgeRefusal(apiError(403, "Forbidden", "no"), world.mapper, nullptr, source,
                     OnImmutable::Report) == Refusal::Forbidden);
  CHECK(judgeRefusal(apiError(409, "Conflict", "changed"), world.mapper, &copy, source,
                     OnImmutable::Report) == Refusal::Retry);
  CHECK(judgeRefusal(apiError(500, "InternalError", "etcd"), world.mapper, &copy, source,
                     OnImmutable::Report) == Refusal::Retry);
}

TEST_CASE("misplaced copies and the copy of a source no longer synced are unwanted",
          "[reconciler][decisions]") {
  const std::set<std::string> misplaced{"vc1--team-a/old-name"};
  CHECK(unwantedTargets(&misplaced, true, true, "vc1--team-a/w") ==
        std::vector<std::string>{"vc1--team-a/old-name"});
  CHECK(unwantedTargets(nullptr, false, true, "vc1--team-a/w") ==
        std::vector<std::string>{"vc1--team-a/w"});
  CHECK(unwantedTargets(nullptr, true, true, "vc1--team-a/w").empty());
  CHECK(unwantedTargets(nullptr, false, false, "vc1--team-a/w").empty());
}

TEST_CASE("a copy rewritten more than the threshold within the window is held back, doubling",
          "[reconciler][decisions][fights]") {
  using namespace std::chrono_literals;
  const FightOptions options{30s, 2, 5000ms, 12000ms};
  FightState state;
  auto now = std::chrono::steady_clock::time_point{} + 1h;
  CHECK_FALSE(judgeFight(state, now, true, options).hold);
  CHECK_FALSE(judgeFight(state, now + 1s, true, options).hold);
  const FightVerdict first = judgeFight(state, now + 2s, true, options);  // the third rewrite
  CHECK(first.hold);
  CHECK(first.started);
  CHECK(first.rewrites == 3);
  CHECK(first.delay == 5000ms);
  // While it lasts, the key waits for its end, with nothing new to report.
  const FightVerdict during = judgeFight(state, now + 4s, true, options);
  CHECK(during.hold);
  CHECK_FALSE(during.started);
  CHECK(during.wait == 3s);
  // One more rewrite right after it continues the fight: twice as long, then capped.
  CHECK(judgeFight(state, now + 8s, true, options).delay == 10000ms);
  CHECK(judgeFight(state, now + 19s, true, options).delay == 12000ms);
  // Quiet for a window after the backoff: forgotten.
  CHECK(judgeFight(state, now + 80s, false, options).forget);
  // A restore without rewrites is never held.
  FightState calm;
  CHECK_FALSE(judgeFight(calm, now, false, options).hold);
}
