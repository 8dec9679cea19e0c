// Decodes a watch response body: a stream of JSON event objects
// ({"type":"ADDED","object":{...}}), normally one per line, arriving in chunks split at
// arbitrary byte boundaries. The parser finds each complete top-level JSON object by
// scanning braces outside strings, so neither the newlines nor the chunk boundaries matter,
// and each byte is scanned once. The scan also enforces the event limits (size and nesting)
// before an event is complete, so a server that sends one endless or endlessly nested event
// makes the watch fail instead of growing memory.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/watch_event.hpp"

namespace bisync::kube {

// A list page wraps each object in two levels ({"items":[...]}), an event in one
// ({"object":...}): one level less for an event lets through exactly the objects a list page
// lets through, so an object the watch delivered never makes the next relist fail.
inline constexpr std::size_t kMaxWatchEventDepth = kMaxJsonDepth - 1;
inline constexpr JsonLimits kWatchEventLimits{kMaxWatchEventDepth, kMaxWatchEventBytes};

class WatchStreamParser {
 public:
  using Sink = std::function<void(WatchEvent&&)>;

  // `eventLimits` bound each event: its bytes (what is held of an incomplete event never
  // exceeds maxBytes plus one chunk) and its nesting.
  explicit WatchStreamParser(std::string origin, JsonLimits eventLimits = kWatchEventLimits)
      : origin_(std::move(origin)), limits_(eventLimits) {}

  // Feeds the next chunk; calls sink for each complete event. A malformed event, or one past
  // the limits, is an error: the stream can no longer be trusted and the watch must be
  // restarted (the parser is not usable afterwards).
  Result<void> feed(std::string_view chunk, const Sink& sink);
  // Bytes of an incomplete event held back for the next chunk.
  std::size_t pendingBytes() const { return buffer_.size() - start_; }

 private:
  Result<void> emit(std::string_view text, const Sink& sink);

  std::string origin_;
  JsonLimits limits_;
  std::string buffer_;
  std::size_t start_ = 0;    // first byte of the current (incomplete) event
  std::size_t scanned_ = 0;  // bytes of buffer_ already scanned
  std::size_t depth_ = 0;
  bool inString_ = false;
  bool escaped_ = false;
};

// One event as parseJson(text, origin, limits) reads it.
Result<WatchEvent> decodeWatchEvent(std::string_view text, std::string_view origin,
                                    const JsonLimits& limits = kWatchEventLimits);

}  // namespace bisync::kube
