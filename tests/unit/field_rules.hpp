// Policy rules written as (pointer, owner[, onConflict]) in test fixtures: rule() fails the test
// (naming the pointer) when the pointer is not a valid policy path.
#pragma once

#include <optional>
#include <string_view>

#include "policies/field_path.hpp"
#include "policies/policy.hpp"
#include "tests/support/catch.hpp"

namespace bisync::unit {

inline policies::FieldRule rule(
    std::string_view pointer, policies::Owner owner,
    std::optional<policies::ConflictStrategy> onConflict = std::nullopt) {
  auto path = policies::FieldPath::parse(pointer);
  INFO(pointer);
  REQUIRE(path.has_value());
  return policies::FieldRule{*path, owner, onConflict, 0};
}

}  // namespace bisync::unit
