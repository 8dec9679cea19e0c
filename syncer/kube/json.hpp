// RapidJSON configured for this project, plus small safe accessors. RapidJSON asserts (and
// in release builds misbehaves) when a value is read as the wrong type; here a failed
// assertion throws, and code reading server data uses the accessors below, which check
// types, so malformed server data can never crash the daemon.
#pragma once

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

std::string toJson(const JsonValue& value);
Result<Json> parseJson(std::string_view text, std::string_view origin);

}  // namespace bisync::kube
