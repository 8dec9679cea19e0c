// RapidJSON configured for this project, plus small safe accessors. RapidJSON asserts (and
// in release builds misbehaves) when a value is read as the wrong type; here a failed
// assertion throws, and code reading server data uses the accessors below, which check
// types, so malformed server data can never crash the daemon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bisync::kube::detail {
[[noreturn]] void jsonAssertFailed(const char* expression);
}

#ifndef RAPIDJSON_ASSERT
#define RAPIDJSON_ASSERT(x) \
  ((x) ? static_cast<void>(0) : ::bisync::kube::detail::jsonAssertFailed(#x))
#endif
#ifndef RAPIDJSON_HAS_STDSTRING
#define RAPIDJSON_HAS_STDSTRING 1
#endif
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "syncer/kube/error.hpp"

namespace bisync::kube {

// RapidJSON's pool allocator, with smaller chunks than its 64 KiB default: the syncer makes many
// short-lived documents of a few KiB (one per event and per step of a reconcile), and a 64 KiB
// malloc for each one dominated its CPU profile and fragmented the heap the caches live in.
class JsonAllocator : public rapidjson::MemoryPoolAllocator<> {
 public:
  static constexpr std::size_t kChunkBytes = 4096;
  JsonAllocator() : MemoryPoolAllocator(kChunkBytes) {}
};

using Json = rapidjson::GenericDocument<rapidjson::UTF8<>, JsonAllocator>;
using JsonValue = rapidjson::GenericValue<rapidjson::UTF8<>, JsonAllocator>;
using JsonPointer = rapidjson::GenericPointer<JsonValue>;

// nullptr unless `object` is an object with a member `name`.
const JsonValue* member(const JsonValue& object, std::string_view name);
// The member as a string, or "" when absent or not a string.
std::string_view stringMember(const JsonValue& object, std::string_view name);
std::optional<std::int64_t> intMember(const JsonValue& object, std::string_view name);
// Resolves a JSON pointer ("/metadata/name"); nullptr when any step is missing.
const JsonValue* at(const JsonValue& root, std::string_view jsonPointer);
std::string_view stringAt(const JsonValue& root, std::string_view jsonPointer);

// metadata shortcuts
inline std::string_view nameOf(const JsonValue& o) { return stringAt(o, "/metadata/name"); }
inline std::string_view namespaceOf(const JsonValue& o) {
  return stringAt(o, "/metadata/namespace");
}
inline std::string_view uidOf(const JsonValue& o) { return stringAt(o, "/metadata/uid"); }
inline std::string_view resourceVersionOf(const JsonValue& o) {
  return stringAt(o, "/metadata/resourceVersion");
}

// The characters of a JSON string (a member name or a string value; check IsString() first).
inline std::string_view stringView(const JsonValue& string) {
  return {string.GetString(), string.GetStringLength()};
}
// A JSON string holding a copy of `text`, allocated with `allocator`.
inline JsonValue stringValue(std::string_view text, Json::AllocatorType& allocator) {
  return {text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator};
}

// Limits on JSON text from outside the process: API servers, annotations, exec plugins. The
// values and why they are safe for real objects: docs/reliability.md.
//
// Nesting: kube-apiserver's built-in kinds nest fewer than 20 levels and the deepest real CRD
// schemas fewer than 100; 512 leaves five times that and keeps every recursive walk over a
// parsed document (toJson, Accept, deep copies, canonicalJson, the policy merge) far from the
// end of a thread's stack. A document that was parsed here is therefore safe to walk
// recursively; text of unknown origin must never reach RapidJSON's own Parse().
inline constexpr std::size_t kMaxJsonDepth = 512;
// Size: the largest text parsed at all, a list page of 500 objects of up to 1.5 MiB each (etcd's
// default request limit), JSON overhead included. RapidJSON's string lengths are 32-bit, so the
// cap must also stay well below 4 GiB.
inline constexpr std::size_t kMaxJsonBytes = std::size_t{1} << 30U;

struct JsonLimits {
  std::size_t maxDepth = kMaxJsonDepth;  // levels of nested objects and arrays; `[]` is 1
  std::size_t maxBytes = kMaxJsonBytes;
};

// Recursive: safe for documents from parseJson (their depth is bounded) and for what the syncer
// builds itself.
std::string toJson(const JsonValue& value);
// A Decode error names the limit that was hit ("nesting deeper than 512 levels", "N bytes, more
// than the M-byte cap") or RapidJSON's reason and offset. Never recurses deeper than
// limits.maxDepth, so no input can overflow the stack.
Result<Json> parseJson(std::string_view text, std::string_view origin, const JsonLimits& limits);
// With the default JsonLimits.
Result<Json> parseJson(std::string_view text, std::string_view origin);

}  // namespace bisync::kube
