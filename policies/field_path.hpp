// Field paths of policies: JSON pointers (RFC 6901, "~1" for '/', "~0" for '~') in which a
// segment "*" matches any one segment and a segment ending in '*' ("app.kubernetes.io~1*")
// matches any segment with that prefix. A rule on a path governs everything below it
// (/data covers /data/key); of several rules covering a field, the most specific wins. There is
// no escape for a literal '*' (label, annotation, ConfigMap and Secret keys cannot hold one) and
// no empty segment.
// Pure, no I/O. docs/policy-merge.md has the full rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace bisync::policies {

class FieldPath {
 public:
  enum class SegmentKind { Literal, Prefix, Any };
  struct Segment {
    SegmentKind kind = SegmentKind::Literal;
    std::string text;  // unescaped; for Prefix the part before '*'; empty for Any
    bool operator==(const Segment&) const = default;
  };

  // A reason ("must start with '/'", "bad escape '~2' in segment 3", "'*' may only end a
  // segment") when `pointer` is not a valid pattern. "" and "/" are refused: a rule must name a
  // field.
  static tl::expected<FieldPath, std::string> parse(std::string_view pointer);

  const std::string& text() const { return text_; }  // as written
  const std::vector<Segment>& segments() const { return segments_; }

  // True when the pattern matches the concrete path `field` (unescaped segments) or one of its
  // ancestors.
  bool covers(const std::vector<std::string>& field) const;

  // > 0 when this pattern is more specific than `other`: more segments first, then, segment by
  // segment from the left, Literal over Prefix (longer prefix first) over Any. 0 when equal.
  int compareSpecificity(const FieldPath& other) const;

  bool operator==(const FieldPath& other) const { return text_ == other.text_; }

 private:
  std::string text_;
  std::vector<Segment> segments_;
};

// Splits a concrete JSON pointer into unescaped segments; nullopt-like error for bad escapes.
tl::expected<std::vector<std::string>, std::string> splitPointer(std::string_view pointer);
// Escapes one segment for a JSON pointer ('~' -> "~0", '/' -> "~1").
std::string escapeSegment(std::string_view segment);
// The inverse of splitPointer: "/metadata/labels/app.kubernetes.io~1name"; "" for no segments.
std::string joinPointer(const std::vector<std::string>& segments);

// Server-side apply keys the items of lists such as containers, env, volumes and ports by their
// `name` (fieldsV1 `k:{"name":"app"}`). The merge does the same for any list whose items are all
// objects with distinct string names, and a path through such a list names the item by a
// segment "[name=app]": "/spec/containers/[name=app]/image".
std::string keyedItemSegment(std::string_view name);
// The name of a "[name=...]" segment; empty for any other segment.
std::string_view keyedItemName(std::string_view segment);

}  // namespace bisync::policies
