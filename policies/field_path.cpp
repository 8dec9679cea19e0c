#include "policies/field_path.hpp"

#include <cstddef>
#include <utility>

namespace bisync::policies {

namespace {

// Unescapes one raw segment ("~1" -> '/', "~0" -> '~'); any other '~' is refused, since RFC 6901
// gives it no meaning and a typo there would silently name a different field.
tl::expected<std::string, std::string> unescape(std::string_view raw, std::size_t segmentNumber) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '~') {
      out += raw[i];
      continue;
    }
    const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
    if (next != '0' && next != '1') {
      std::string escape = next == '\0' ? std::string("~") : std::string{'~', next};
      return tl::unexpected("bad escape '" + escape + "' in segment " +
                            std::to_string(segmentNumber));
    }
    out += next == '0' ? '~' : '/';
    ++i;
  }
  return out;
}

// The raw (still escaped) segments of a pointer that starts with '/'.
std::vector<std::string_view> rawSegments(std::string_view pointer) {
  std::vector<std::string_view> segments;
  std::size_t start = 1;
  while (true) {
    const std::size_t slash = pointer.find('/', start);
    if (slash == std::string_view::npos) {
      segments.push_back(pointer.substr(start));
      return segments;
    }
    segments.push_back(pointer.substr(start, slash - start));
    start = slash + 1;
  }
}

tl::expected<FieldPath::Segment, std::string> parseSegment(std::string_view raw,
                                                           std::size_t number) {
  using Kind = FieldPath::SegmentKind;
  if (raw.empty()) {
    return tl::unexpected("empty segment " + std::to_string(number) +
                          " (a doubled or trailing '/')");
  }
  if (raw == "*") return FieldPath::Segment{Kind::Any, ""};
  const bool prefix = raw.back() == '*';
  const std::string_view body = prefix ? raw.substr(0, raw.size() - 1) : raw;
  if (body.find('*') != std::string_view::npos) {
    return tl::unexpected("'*' may only end a segment (segment " + std::to_string(number) + ")");
  }
  auto text = unescape(body, number);
  if (!text) return tl::unexpected(std::move(text.error()));
  return FieldPath::Segment{prefix ? Kind::Prefix : Kind::Literal, std::move(*text)};
}

bool matches(const FieldPath::Segment& pattern, const std::string& segment) {
  switch (pattern.kind) {
    case FieldPath::SegmentKind::Literal: return segment == pattern.text;
    case FieldPath::SegmentKind::Prefix: return segment.starts_with(pattern.text);
    case FieldPath::SegmentKind::Any: return true;
  }
  return false;
}

int rank(FieldPath::SegmentKind kind) {
  switch (kind) {
    case FieldPath::SegmentKind::Literal: return 2;
    case FieldPath::SegmentKind::Prefix: return 1;
    case FieldPath::SegmentKind::Any: return 0;
  }
  return 0;
}

int sign(std::ptrdiff_t value) { return value > 0 ? 1 : (value < 0 ? -1 : 0); }

}  // namespace

tl::expected<FieldPath, std::string> FieldPath::parse(std::string_view pointer) {
  if (pointer.empty()) return tl::unexpected(std::string("empty path: a rule must name a field"));
  if (pointer.front() != '/') return tl::unexpected(std::string("must start with '/'"));
  if (pointer == "/") {
    return tl::unexpected(std::string("'/' is the whole object: a rule must name a field"));
  }
  FieldPath path;
  path.text_ = std::string(pointer);
  const std::vector<std::string_view> raw = rawSegments(pointer);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto segment = parseSegment(raw[i], i + 1);
    if (!segment) return tl::unexpected(std::move(segment.error()));
    path.segments_.push_back(std::move(*segment));
  }
  return path;
}

bool FieldPath::covers(const std::vector<std::string>& field) const {
  if (segments_.size() > field.size()) return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (!matches(segments_[i], field[i])) return false;
  }
  return true;
}

int FieldPath::compareSpecificity(const FieldPath& other) const {
  if (segments_.size() != other.segments_.size()) {
    return segments_.size() > other.segments_.size() ? 1 : -1;
  }
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& mine = segments_[i];
    const Segment& theirs = other.segments_[i];
    if (mine.kind != theirs.kind) return sign(rank(mine.kind) - rank(theirs.kind));
    if (mine.kind == SegmentKind::Prefix && mine.text.size() != theirs.text.size()) {
      return mine.text.size() > theirs.text.size() ? 1 : -1;
    }
  }
  return 0;
}

tl::expected<std::vector<std::string>, std::string> splitPointer(std::string_view pointer) {
  std::vector<std::string> segments;
  if (pointer.empty()) return segments;  // the whole document
  if (pointer.front() != '/') return tl::unexpected(std::string("must start with '/'"));
  const std::vector<std::string_view> raw = rawSegments(pointer);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto segment = unescape(raw[i], i + 1);
    if (!segment) return tl::unexpected(std::move(segment.error()));
    segments.push_back(std::move(*segment));
  }
  return segments;
}

std::string joinPointer(const std::vector<std::string>& segments) {
  std::string pointer;
  for (const std::string& segment : segments) {
    pointer += '/';
    pointer += escapeSegment(segment);
  }
  return pointer;
}

std::string keyedItemSegment(std::string_view name) { return "[name=" + std::string(name) + "]"; }

std::string_view keyedItemName(std::string_view segment) {
  constexpr std::string_view kOpen = "[name=";
  if (segment.size() <= kOpen.size() || !segment.starts_with(kOpen) || !segment.ends_with(']')) {
    return {};
  }
  return segment.substr(kOpen.size(), segment.size() - kOpen.size() - 1);
}

std::string escapeSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace bisync::policies
