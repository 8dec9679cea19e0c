// The watch stream parser. Properties: it never crashes; split into chunks anywhere it yields
// the same events, and fails or not, as fed whole; between chunks it never holds more of an
// incomplete event than the event cap.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "syncer/kube/watch_stream.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bisync::fuzz::require;
using namespace bisync::kube;

struct Outcome {
  std::vector<std::string> events;  // type and object of each event
  bool failed = false;
};

// Feeds `stream` in chunks whose sizes come from `sizes` (cycled; 0 means the rest).
Outcome feedInChunks(std::string_view stream, const std::vector<std::uint8_t>& sizes,
                     const JsonLimits& limits) {
  WatchStreamParser parser("fuzz", limits);
  Outcome outcome;
  const auto sink = [&](WatchEvent&& event) {
    outcome.events.push_back(std::string(toString(event.type)) + " " + toJson(event.object));
  };
  std::size_t next = 0;
  for (std::size_t at = 0; at < stream.size(); ++next) {
    const std::size_t size = sizes.empty() || sizes[next % sizes.size()] == 0
                                 ? stream.size() - at
                                 : sizes[next % sizes.size()];
    const std::string_view chunk = stream.substr(at, size);
    at += chunk.size();
    if (!parser.feed(chunk, sink)) {
      outcome.failed = true;
      break;
    }
    require(parser.pendingBytes() <= limits.maxBytes,
            "no more than the cap of an incomplete event is held");
  }
  return outcome;
}

// Limits the fuzzer reaches with short inputs (a few levels, a few hundred bytes), or the
// daemon's own.
JsonLimits limitsFrom(std::uint8_t choice) {
  if ((choice & 1U) != 0) return kWatchEventLimits;
  return JsonLimits{static_cast<std::size_t>(choice >> 4U) + 2,
                    static_cast<std::size_t>(choice >> 1U & 7U) * 64 + 32};
}

}  // namespace

// Input: one byte choosing the limits, one byte N, N chunk sizes, then the stream.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const JsonLimits limits = limitsFrom(data[0]);
  const std::size_t sizeCount = std::min<std::size_t>(data[1], size - 2);
  const std::vector<std::uint8_t> sizes(data + 2, data + 2 + sizeCount);
  const std::string stream(bisync::fuzz::textOf(data + 2 + sizeCount, size - 2 - sizeCount));

  const Outcome whole = feedInChunks(stream, {}, limits);
  const Outcome split = feedInChunks(stream, sizes, limits);
  require(whole.failed == split.failed, "chunking does not change whether the stream fails");
  require(whole.events == split.events, "chunking does not change the events");
  return 0;
}
