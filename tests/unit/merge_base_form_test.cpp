// The three-way merge with a digest base (policies/merge.hpp BaseForm): what the syncer keeps of
// a Secret's `both` fields in the merge-base annotation is digests, never values, and the merge
// still tells who changed what.
#include <string>

#include "mapping/identity_mapper.hpp"
#include "policies/merge.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/field_rules.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using namespace bisync::policies;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::kube::toJson;
using bisync::unit::parse;
using bisync::unit::rule;

const BaseForm kDigest = [](const JsonValue& value) { return bisync::mapping::contentHash(value); };

std::string digestOf(const std::string& json) { return kDigest(parse(json)); }

std::string data(const std::string& members) { return R"({"data":{)" + members + "}}"; }

MergeResult mergeDigests(const JsonValue* base, const std::string& source,
                         const std::string& target, ConflictStrategy strategy) {
  const OwnershipMap ownership({rule("/data/*", Owner::Both, strategy)});
  return threeWayMerge(base, parse(source), parse(target), ownership, {}, kDigest);
}

}  // namespace

TEST_CASE("a digest base holds digests of the values, never the values", "[policies]") {
  const MergeResult first =
      mergeDigests(nullptr, data(R"("password":"s3cret")"), "{}", ConflictStrategy::SourceWins);
  CHECK(toJson(first.forTarget) == data(R"("password":"s3cret")"));
  CHECK(toJson(first.merged) == data(R"("password":")" + digestOf(R"("s3cret")") + R"(")"));
  CHECK(toJson(first.merged).find("s3cret") == std::string::npos);
}

TEST_CASE("with a digest base a one-sided change travels and is no conflict", "[policies]") {
  const Json base = parse(data(R"("password":")" + digestOf(R"("old")") + R"(")"));
  for (const bool sourceChanges : {true, false}) {
    INFO((sourceChanges ? "source changes" : "target changes"));
    const std::string changed = data(R"("password":"new")");
    const std::string kept = data(R"("password":"old")");
    const MergeResult result =
        mergeDigests(&base, sourceChanges ? changed : kept, sourceChanges ? kept : changed,
                     ConflictStrategy::Reject);
    CHECK(result.conflicts.empty());
    CHECK(toJson(result.forSource) == changed);
    CHECK(toJson(result.forTarget) == changed);
    CHECK(toJson(result.merged) == data(R"("password":")" + digestOf(R"("new")") + R"(")"));
  }
  // Unchanged on both sides: nothing to write either way.
  const MergeResult same = mergeDigests(&base, data(R"("password":"old")"),
                                        data(R"("password":"old")"), ConflictStrategy::Reject);
  CHECK_FALSE(same.sourceChanged);
  CHECK_FALSE(same.targetChanged);
  CHECK(toJson(same.merged) == toJson(base));
}

TEST_CASE("with a digest base a conflict names digests, and reject keeps the base as it was",
          "[policies]") {
  const std::string baseText = data(R"("password":")" + digestOf(R"("old")") + R"(")");
  const Json base = parse(baseText);
  const MergeResult result = mergeDigests(&base, data(R"("password":"mine")"),
                                          data(R"("password":"theirs")"), ConflictStrategy::Reject);
  REQUIRE(result.conflicts.size() == 1);
  const FieldConflict& conflict = result.conflicts[0];
  CHECK(conflict.sourceValue == digestOf(R"("mine")"));
  CHECK(conflict.targetValue == digestOf(R"("theirs")"));
  CHECK(conflict.baseValue == "\"" + digestOf(R"("old")") + "\"");
  // Not digested twice: the next merge still compares against the same base.
  CHECK(toJson(result.merged) == baseText);
  // A removal against the base is a change, as with plain values.
  const MergeResult removed =
      mergeDigests(&base, "{}", data(R"("password":"old")"), ConflictStrategy::Reject);
  CHECK(removed.conflicts.empty());
  CHECK(toJson(removed.forTarget) == "{}");
}
