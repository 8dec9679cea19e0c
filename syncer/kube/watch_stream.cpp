#include "syncer/kube/watch_stream.hpp"

#include <cctype>

namespace bisync::kube {

namespace {

bool parseEventType(std::string_view text, WatchEventType& type) {
  if (text == "ADDED")
    type = WatchEventType::Added;
  else if (text == "MODIFIED")
    type = WatchEventType::Modified;
  else if (text == "DELETED")
    type = WatchEventType::Deleted;
  else if (text == "BOOKMARK")
    type = WatchEventType::Bookmark;
  else if (text == "ERROR")
    type = WatchEventType::Error;
  else
    return false;
  return true;
}

// A byte of the server's stream for a message: itself when printable, else its value.
std::string describeByte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (std::isprint(byte) != 0) return std::string("byte '") + c + "'";
  return "byte " + std::to_string(byte);
}

}  // namespace

std::string_view toString(WatchEventType type) {
  switch (type) {
    case WatchEventType::Added: return "ADDED";
    case WatchEventType::Modified: return "MODIFIED";
    case WatchEventType::Deleted: return "DELETED";
    case WatchEventType::Bookmark: return "BOOKMARK";
    case WatchEventType::Error: return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> decodeWatchEvent(std::string_view text, std::string_view origin,
                                    const JsonLimits& limits) {
  Result<Json> parsed = parseJson(text, origin, limits);
  if (!parsed) return fail(parsed.error());
  Json& document = *parsed;
  WatchEvent event;
  if (const std::string_view type = stringMember(document, "type");
      !parseEventType(type, event.type)) {
    constexpr std::size_t kMaxTypeInMessage = 40;  // the server's text, bounded for the log
    return fail(decodeError(
        std::string(origin),
        "watch event with unknown type '" + std::string(type.substr(0, kMaxTypeInMessage)) + "'"));
  }
  auto object = document.FindMember("object");
  if (object == document.MemberEnd() || !object->value.IsObject()) {
    return fail(decodeError(std::string(origin), "watch event without an object"));
  }
  // Make the event's object the document's root without copying: swap it out of the
  // member, then swap it into the root. Both live in the document's allocator.
  JsonValue inner;
  inner.Swap(object->value);
  static_cast<JsonValue&>(document).Swap(inner);
  event.object = std::move(document);
  return event;
}

Result<void> WatchStreamParser::emit(std::string_view text, const Sink& sink) {
  Result<WatchEvent> event = decodeWatchEvent(text, origin_, limits_);
  if (!event) return fail(event.error());
  sink(std::move(*event));
  return {};
}

Result<void> WatchStreamParser::feed(std::string_view chunk, const Sink& sink) {
  buffer_.append(chunk);
  for (; scanned_ < buffer_.size(); ++scanned_) {
    char c = buffer_[scanned_];
    if (inString_) {
      if (escaped_)
        escaped_ = false;
      else if (c == '\\')
        escaped_ = true;
      else if (c == '"')
        inString_ = false;
      continue;
    }
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        start_ = scanned_ + 1;
        continue;
      }
      if (c != '{') {
        return fail(
            decodeError(origin_, "unexpected " + describeByte(c) + " between watch events"));
      }
    }
    if (c == '"') {
      inString_ = true;
    } else if (c == '{' || c == '[') {
      if (++depth_ > limits_.maxDepth) {
        return fail(decodeError(origin_, "a watch event nesting deeper than " +
                                             std::to_string(limits_.maxDepth) + " levels"));
      }
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        std::string_view text(buffer_.data() + start_, scanned_ + 1 - start_);
        if (Result<void> emitted = emit(text, sink); !emitted) return emitted;
        start_ = scanned_ + 1;
      }
    }
  }
  // Drop consumed bytes so the buffer only ever holds one partial event.
  if (start_ > 0) {
    buffer_.erase(0, start_);
    scanned_ -= start_;
    start_ = 0;
  }
  if (pendingBytes() > limits_.maxBytes) {
    return fail(decodeError(origin_, "a watch event of " + std::to_string(pendingBytes()) +
                                         " bytes so far, more than the " +
                                         std::to_string(limits_.maxBytes) + "-byte cap"));
  }
  return {};
}

}  // namespace bisync::kube
