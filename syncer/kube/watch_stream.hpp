// Decodes a watch response body: a stream of JSON event objects
// ({"type":"ADDED","object":{...}}), normally one per line, arriving in chunks split at
// arbitrary byte boundaries. The parser finds each complete top-level JSON object by
// scanning braces outside strings, so neither the newlines nor the chunk boundaries matter,
// and each byte is scanned once.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "syncer/kube/client.hpp"
#include "syncer/kube/error.hpp"

namespace bisync::kube {

class WatchStreamParser {
 public:
  using Sink = std::function<void(WatchEvent&&)>;

  explicit WatchStreamParser(std::string origin) : origin_(std::move(origin)) {}

  // Feeds the next chunk; calls sink for each complete event. A malformed event is an
  // error: the stream can no longer be trusted and the watch must be restarted.
  Result<void> feed(std::string_view chunk, const Sink& sink);
  // Bytes of an incomplete event held back for the next chunk.
  std::size_t pendingBytes() const { return buffer_.size() - start_; }

 private:
  Result<void> emit(std::string_view text, const Sink& sink);

  std::string origin_;
  std::string buffer_;
  std::size_t start_ = 0;    // first byte of the current (incomplete) event
  std::size_t scanned_ = 0;  // bytes of buffer_ already scanned
  int depth_ = 0;
  bool inString_ = false;
  bool escaped_ = false;
};

Result<WatchEvent> decodeWatchEvent(std::string_view text, std::string_view origin);

}  // namespace bisync::kube
