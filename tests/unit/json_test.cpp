#include "syncer/kube/json.hpp"

#include <string>

#include "mapping/identity_mapper.hpp"
#include "policies/merge.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/field_rules.hpp"

using namespace bisync::kube;

namespace {

// `depth` arrays or objects nested in one another: "[[[]]]" or {"a":{"a":{}}}.
std::string nestedArrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nestedObjects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 1; i < depth; ++i) text += R"({"a":)";
  text += "{}";
  text += std::string(depth - 1, '}');
  return text;
}

std::string failureOf(const Result<Json>& parsed) {
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().kind == ErrorKind::Decode);
  return parsed.error().describe();
}

}  // namespace

TEST_CASE("a 200,000-deep array or object is refused with the depth limit, not a crash",
          "[json][limits]") {
  const std::string arrays = failureOf(parseJson(nestedArrays(200'000), "deep"));
  CHECK_THAT(arrays, Catch::Contains("nesting deeper than 512 levels"));
  CHECK_THAT(arrays, Catch::StartsWith("deep: "));
  const std::string objects = failureOf(parseJson(nestedObjects(200'000), "deep"));
  CHECK_THAT(objects, Catch::Contains("nesting deeper than 512 levels"));
}

TEST_CASE("nesting exactly at the depth limit parses, one level more is refused",
          "[json][limits]") {
  CHECK(parseJson(nestedArrays(kMaxJsonDepth), "t"));
  CHECK(parseJson(nestedObjects(kMaxJsonDepth), "t"));
  failureOf(parseJson(nestedArrays(kMaxJsonDepth + 1), "t"));
  failureOf(parseJson(nestedObjects(kMaxJsonDepth + 1), "t"));

  const JsonLimits three{3, kMaxJsonBytes};
  CHECK(parseJson(R"({"a":[{"b":1}],"c":[[]]})", "t", three));
  CHECK_THAT(failureOf(parseJson(R"({"a":[{"b":[]}]})", "t", three)),
             Catch::Contains("nesting deeper than 3 levels at offset 12"));
}

TEST_CASE("a document larger than the size cap is refused naming both sizes", "[json][limits]") {
  const JsonLimits tenBytes{kMaxJsonDepth, 10};
  CHECK(parseJson(R"({"a":"bc"})", "t", tenBytes));  // exactly 10 bytes
  CHECK_THAT(failureOf(parseJson(R"({"a":"bcd"})", "t", tenBytes)),
             Catch::Contains("11 bytes, more than the 10-byte cap"));
}

TEST_CASE("the bounded parser reads what RapidJSON reads and reports its errors", "[json]") {
  const Result<Json> parsed = parseJson(
      "\xEF\xBB\xBF"  // a UTF-8 byte order mark, skipped as Document::Parse does
      R"({"s":"x\u00e9\"","n":[1,-2,3.5,18446744073709551615],"t":true,"z":null,"o":{}})",
      "t");
  REQUIRE(parsed);
  CHECK(toJson(*parsed) ==
        "{\"s\":\"x\xC3\xA9\\\"\",\"n\":[1,-2,3.5,18446744073709551615],\"t\":true,\"z\":null,"
        "\"o\":{}}");
  CHECK_THAT(failureOf(parseJson(R"({"a":1} x)", "t")),
             Catch::Contains("invalid JSON at offset 8: The document root must not be followed "
                             "by other values."));
  CHECK_THAT(failureOf(parseJson("", "t")), Catch::Contains("invalid JSON at offset 0"));
}

// Found by tests/fuzz (json): RapidJSON stops at a NUL byte as if the text ended there.
TEST_CASE("a NUL byte after the document is refused, not taken as the end of the text",
          "[json][limits]") {
  CHECK_THAT(failureOf(parseJson(std::string("\r\"J\"\0{\r", 7), "t")),
             Catch::Contains("invalid JSON at offset 4: The document root must not be followed "
                             "by other values."));
  CHECK_THAT(failureOf(parseJson(std::string("{}\0", 3), "t")),
             Catch::Contains("invalid JSON at offset 2"));
  CHECK(parseJson(std::string("{} \n", 4), "t"));
}

// Found by tests/fuzz (json): without full precision RapidJSON may read a number one unit in the
// last place off, so reading and writing it changed it.
TEST_CASE("a number read and written back is the same number", "[json]") {
  for (const char* number : {"381111111888811111111132", "3.8111111888811119e22",
                             "0.30000000000000004", "1.7976931348623157e308", "5e-324"}) {
    const Result<Json> first = parseJson(number, "t");
    REQUIRE(first);
    const std::string written = toJson(*first);
    const Result<Json> second = parseJson(written, "t");
    REQUIRE(second);
    INFO(number << " -> " << written);
    CHECK(toJson(*second) == written);
    CHECK(second->GetDouble() == first->GetDouble());
  }
}

// Found by tests/fuzz (json): RapidJSON's full-precision conversion has undefined behaviour on a
// zero with a large exponent; numbers are now converted by std::from_chars.
TEST_CASE("numbers keep RapidJSON's types and a double overflow is refused", "[json]") {
  const Result<Json> parsed =
      parseJson(R"([-0e66,0e66,-0,7,-7,4294967296,-9223372036854775808,18446744073709551615,)"
                R"(18446744073709551616,1e-400,1.5E3])",
                "t");
  REQUIRE(parsed);
  CHECK(toJson(*parsed) ==
        "[-0.0,0.0,0,7,-7,4294967296,-9223372036854775808,18446744073709551615,"
        "18446744073709553000.0,0.0,1500.0]");
  CHECK((*parsed)[3].IsInt());
  CHECK((*parsed)[5].IsInt64());
  CHECK((*parsed)[7].IsUint64());
  CHECK((*parsed)[8].IsDouble());
  CHECK_THAT(failureOf(parseJson("[1.8e308]", "t")),
             Catch::Contains("Number too big to be stored in double"));
}

TEST_CASE("a document at the depth limit survives every recursive walk of the syncer",
          "[json][limits]") {
  // Objects nested to the limit under a field that a policy merges, then everything that
  // recurses over documents: serialising, hashing, projecting, merging.
  const std::string deep = R"({"data":)" + nestedObjects(kMaxJsonDepth - 1) + "}";
  const Result<Json> parsed = parseJson(deep, "t");
  REQUIRE(parsed);
  CHECK(toJson(*parsed).size() == deep.size());
  CHECK(bisync::mapping::canonicalJson(*parsed) == deep);
  CHECK_THAT(bisync::mapping::contentHash(*parsed), Catch::StartsWith("sha256:"));
  using namespace bisync::policies;
  const OwnershipMap ownership(
      {bisync::unit::rule("/data", Owner::Both, ConflictStrategy::Reject)});
  const MergeResult merged = threeWayMerge(&*parsed, *parsed, *parsed, ownership);
  CHECK(merged.conflicts.empty());
  CHECK_FALSE(merged.targetChanged);
}
