// Test fixtures written as JSON text: parse() fails the test (naming the parse error) when the
// text is not JSON.
#pragma once

#include <string>
#include <utility>

#include "syncer/kube/json.hpp"
#include "tests/support/catch.hpp"

namespace bisync::unit {

inline kube::Json parse(const std::string& text) {
  auto parsed = kube::parseJson(text, "test fixture");
  INFO((parsed ? std::string() : parsed.error().describe()));
  REQUIRE(parsed);
  return std::move(*parsed);
}

}  // namespace bisync::unit
