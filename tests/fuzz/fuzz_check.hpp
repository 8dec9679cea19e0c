// What the fuzz targets share: a property that does not hold prints itself and aborts, which
// libFuzzer reports as a crash and saves the input that caused it (tests/fuzz/run.sh prints its
// path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace bisync::fuzz {

inline void require(bool holds, std::string_view property, const std::string& detail = {}) {
  if (holds) return;
  std::fprintf(stderr, "\nproperty violated: %.*s\n%s\n", static_cast<int>(property.size()),
               property.data(), detail.c_str());
  std::abort();
}

inline std::string_view textOf(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace bisync::fuzz
