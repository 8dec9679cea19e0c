// Table tests of the finalizer's decision and patches (syncer/engine/finalizer.hpp): when the
// syncer adds kube-bisync.io/cleanup to a source object, waits for the copy, takes it off; and
// that its JSON patches touch only its own entry, tested against what was read.
#include <optional>
#include <string>
#include <vector>

#include "syncer/engine/finalizer.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using namespace bisync::engine;
using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;

struct Row {
  const char* what;
  FinalizerInputs in;
  FinalizerStep step;
};

FinalizerInputs inputs(bool enabled, bool syncsDown, bool synced, bool terminating, bool hasOurs,
                       bool copy) {
  FinalizerInputs in;
  in.enabled = enabled;
  in.syncsDown = syncsDown;
  in.sourceSynced = synced;
  in.terminating = terminating;
  in.hasOurs = hasOurs;
  in.copyPresent = copy;
  return in;
}

}  // namespace

TEST_CASE("the finalizer is added, held and removed as the source and its copy say",
          "[finalizer]") {
  // enabled, syncsDown, synced, terminating, hasOurs, copyPresent
  const std::vector<Row> rows{
      {"a synced source without ours gets it", inputs(true, true, true, false, false, false),
       FinalizerStep::Add},
      {"with its copy too", inputs(true, true, true, false, false, true), FinalizerStep::Add},
      {"a synced source with ours: nothing", inputs(true, true, true, false, true, true),
       FinalizerStep::None},
      {"ours, copy not made yet: nothing", inputs(true, true, true, false, true, false),
       FinalizerStep::None},
      {"terminating with ours, copy there: wait", inputs(true, true, false, true, true, true),
       FinalizerStep::WaitForCopy},
      {"terminating with ours, copy gone: remove", inputs(true, true, false, true, true, false),
       FinalizerStep::Remove},
      {"terminating without ours: nothing", inputs(true, true, false, true, false, true),
       FinalizerStep::None},
      {"terminating, never added on one being deleted", inputs(true, true, true, true, false, true),
       FinalizerStep::None},
      {"flag off, copy kept: remove at once", inputs(false, true, true, false, true, true),
       FinalizerStep::Remove},
      {"flag off, no finalizer: nothing", inputs(false, true, true, false, false, true),
       FinalizerStep::None},
      {"flag off, terminating, copy there: the copy goes first",
       inputs(false, true, false, true, true, true), FinalizerStep::WaitForCopy},
      {"direction none (not synced), copy there: wait",
       inputs(true, false, false, false, true, true), FinalizerStep::WaitForCopy},
      {"direction none, copy gone: remove", inputs(true, false, false, false, true, false),
       FinalizerStep::Remove},
      {"direction up: never added", inputs(true, false, true, false, false, false),
       FinalizerStep::None},
      {"direction up with ours (policy changed): remove",
       inputs(true, false, true, false, true, true), FinalizerStep::Remove},
      {"deselected, copy there: wait for it", inputs(true, true, false, false, true, true),
       FinalizerStep::WaitForCopy},
      {"deselected, copy gone: remove", inputs(true, true, false, false, true, false),
       FinalizerStep::Remove},
      {"not synced, no finalizer: nothing", inputs(true, true, false, false, false, false),
       FinalizerStep::None},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    CHECK(toString(decideFinalizer(row.in)) == toString(row.step));
  }
}

TEST_CASE("finalizerIndex finds only the exact entry", "[finalizer]") {
  const auto object = parse(
      R"({"metadata":{"finalizers":["example.com/a","kube-bisync.io/cleanup-x","kube-bisync.io/cleanup"]}})");
  CHECK(finalizerIndex(object, kCleanupFinalizer) == std::optional<std::size_t>(2));
  CHECK_FALSE(hasFinalizer(parse(R"({"metadata":{}})"), kCleanupFinalizer));
  CHECK_FALSE(hasFinalizer(parse(R"({"metadata":{"finalizers":"kube-bisync.io/cleanup"}})"),
                           kCleanupFinalizer));
  CHECK_FALSE(hasFinalizer(parse(R"({"metadata":{"finalizers":[7]}})"), kCleanupFinalizer));
}

TEST_CASE("the add patch appends ours after testing the array, with a version precondition",
          "[finalizer]") {
  const auto without = parse(R"({"metadata":{"name":"a","resourceVersion":"41"}})");
  const std::optional<std::string> first = addFinalizerPatch(without, kCleanupFinalizer);
  REQUIRE(first);
  CHECK(canonical(parse(*first)) == canonicalText(R"([{"op":"add","path":"/metadata/finalizers",
                           "value":["kube-bisync.io/cleanup"]},
                          {"op":"replace","path":"/metadata/resourceVersion","value":"41"}])"));

  const auto others =
      parse(R"({"metadata":{"name":"a","resourceVersion":"42","finalizers":["example.com/a"]}})");
  const std::optional<std::string> appended = addFinalizerPatch(others, kCleanupFinalizer);
  REQUIRE(appended);
  CHECK(canonical(parse(*appended)) ==
        canonicalText(R"([{"op":"test","path":"/metadata/finalizers","value":["example.com/a"]},
                          {"op":"add","path":"/metadata/finalizers/-",
                           "value":"kube-bisync.io/cleanup"},
                          {"op":"replace","path":"/metadata/resourceVersion","value":"42"}])"));

  const auto has = parse(R"({"metadata":{"finalizers":["kube-bisync.io/cleanup"]}})");
  CHECK_FALSE(addFinalizerPatch(has, kCleanupFinalizer));
}

TEST_CASE("the remove patch removes our entry only, at its index in the array it tested",
          "[finalizer]") {
  const auto object = parse(R"({"metadata":{"resourceVersion":"7","finalizers":
      ["example.com/a","kube-bisync.io/cleanup","example.com/b"]}})");
  const std::optional<std::string> patch = removeFinalizerPatch(object, kCleanupFinalizer);
  REQUIRE(patch);
  CHECK(canonical(parse(*patch)) == canonicalText(R"([{"op":"test","path":"/metadata/finalizers",
                           "value":["example.com/a","kube-bisync.io/cleanup","example.com/b"]},
                          {"op":"remove","path":"/metadata/finalizers/1"},
                          {"op":"replace","path":"/metadata/resourceVersion","value":"7"}])"));
  const auto foreignOnly = parse(R"({"metadata":{"finalizers":["example.com/a"]}})");
  CHECK_FALSE(removeFinalizerPatch(foreignOnly, kCleanupFinalizer));
}
