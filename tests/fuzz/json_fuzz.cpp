// parseJson with our limits. Properties: it never crashes and never recurses past the depth
// limit (AddressSanitizer catches a stack overflow); it accepts exactly the texts that RapidJSON's
// non-recursive (iterative) parser accepts, that hold no NUL byte and that are within both
// limits, except numbers too large for a double; what it accepts serialises (toJson) to text that
// parses back to the same text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "syncer/kube/json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bisync::fuzz::require;
using namespace bisync::kube;

// The deepest nesting of a valid JSON text: brackets counted outside strings, no recursion.
std::size_t depthOf(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool inString = false;
  bool escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') inString = true;
    if (c == '{' || c == '[') deepest = std::max(deepest, ++depth);
    if (c == '}' || c == ']') --depth;
  }
  return deepest;
}

// The first byte picks the limits: the daemon's own, or small ones that short inputs reach.
JsonLimits limitsFrom(std::uint8_t choice) {
  if ((choice & 1U) != 0) return JsonLimits{};
  return JsonLimits{static_cast<std::size_t>(choice >> 4U),
                    static_cast<std::size_t>(choice >> 1U & 7U) * 128};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const JsonLimits limits = limitsFrom(data[0]);
  const std::string text(bisync::fuzz::textOf(data + 1, size - 1));

  const Result<Json> parsed = parseJson(text, "fuzz", limits);

  // Numbers as strings: RapidJSON's conversions have undefined behaviour of their own.
  rapidjson::Document reference;
  reference.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(
      text.data(), text.size());
  // RapidJSON takes a NUL byte for the end of the text; JSON allows none outside strings, and in
  // strings only escaped.
  const bool valid = !reference.HasParseError() && text.find('\0') == std::string::npos;
  const bool withinLimits =
      text.size() <= limits.maxBytes && (!valid || depthOf(text) <= limits.maxDepth);
  // Beyond RapidJSON's own checks, parseJson refuses a number too large for a double.
  const bool tooBig = !parsed && parsed.error().message.find("Number too big") != std::string::npos;
  require(parsed.has_value() == (valid && withinLimits) || (tooBig && valid && withinLimits),
          "parseJson accepts exactly the valid JSON within the limits",
          parsed ? std::string("accepted") : parsed.error().describe());
  if (!parsed) {
    require(parsed.error().kind == ErrorKind::Decode, "a refusal is a Decode error");
    return 0;
  }
  const std::string serialised = toJson(*parsed);
  const Result<Json> again = parseJson(serialised, "fuzz");
  require(again.has_value(), "toJson writes JSON that parses", serialised);
  require(toJson(*again) == serialised, "toJson(parseJson(toJson(x))) == toJson(x)", serialised);
  return 0;
}
