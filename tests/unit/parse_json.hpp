// Test fixtures written as JSON text: parse() fails the test (naming the parse error) when the
// text is not JSON; canonical() is the form to compare JSON by content (members sorted by key
// at every level, compact), not by member order.
#pragma once

#include <string>
#include <utility>

#include "mapping/identity_mapper.hpp"
#include "syncer/kube/json.hpp"
#include "tests/support/catch.hpp"

namespace bisync::unit {

inline kube::Json parse(const std::string& text) {
  auto parsed = kube::parseJson(text, "test fixture");
  INFO((parsed ? std::string() : parsed.error().describe()));
  REQUIRE(parsed);
  return std::move(*parsed);
}

inline std::string canonical(const kube::JsonValue& value) { return mapping::canonicalJson(value); }

inline std::string canonicalText(const std::string& text) { return canonical(parse(text)); }

}  // namespace bisync::unit
