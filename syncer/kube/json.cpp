#include "syncer/kube/json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace bisync::kube {

namespace detail {
void jsonAssertFailed(const char* expression) {
  throw std::logic_error(std::string("RapidJSON assertion failed: ") + expression);
}
}  // namespace detail

const JsonValue* member(const JsonValue& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(
      JsonValue(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string_view stringMember(const JsonValue& object, std::string_view name) {
  const JsonValue* value = member(object, name);
  if (value == nullptr || !value->IsString()) return {};
  return {value->GetString(), value->GetStringLength()};
}

std::optional<std::int64_t> intMember(const JsonValue& object, std::string_view name) {
  const JsonValue* value = member(object, name);
  if (value == nullptr || !value->IsInt64()) return std::nullopt;
  return value->GetInt64();
}

const JsonValue* at(const JsonValue& root, std::string_view jsonPointer) {
  JsonPointer pointer(jsonPointer.data(), jsonPointer.size());
  if (!pointer.IsValid()) return nullptr;
  return pointer.Get(root);
}

std::string_view stringAt(const JsonValue& root, std::string_view jsonPointer) {
  const JsonValue* value = at(root, jsonPointer);
  if (value == nullptr || !value->IsString()) return {};
  return {value->GetString(), value->GetStringLength()};
}

std::string toJson(const JsonValue& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

namespace {

// Numbers come as text and are converted here, exactly (std::from_chars): RapidJSON's default
// conversion may be one unit in the last place off, so a number read and written back could
// change (3.8111111888811119e22 became ...18e22), and its full-precision one has undefined
// behaviour on a zero with an exponent ("0e66"). Both found by tests/fuzz.
constexpr unsigned kParseFlags = rapidjson::kParseNumbersAsStringsFlag;

// Passes the reader's events on to the document being built, refusing to open a container past
// the depth limit. RapidJSON's reader recurses once per open container and calls StartObject or
// StartArray before it descends, so refusing there ends the parse (kParseErrorTermination) before
// the recursion goes deeper: the limit bounds the parser's stack and the document's depth alike.
class DepthLimitedBuilder {
 public:
  enum class Refusal { None, TooDeep, NumberTooBig };

  DepthLimitedBuilder(Json& document, std::size_t maxDepth)
      : document_(document), maxDepth_(maxDepth) {}

  Refusal refusal() const { return refusal_; }

  bool Null() { return document_.Null(); }
  bool Bool(bool value) { return document_.Bool(value); }
  bool Int(int value) { return document_.Int(value); }
  bool Uint(unsigned value) { return document_.Uint(value); }
  bool Int64(std::int64_t value) { return document_.Int64(value); }
  bool Uint64(std::uint64_t value) { return document_.Uint64(value); }
  bool Double(double value) { return document_.Double(value); }
  // A number RapidJSON has checked against the JSON grammar: an integer when it fits 64 bits,
  // as RapidJSON would store it, else the nearest double.
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    const char* end = text + length;
    if (std::find_if(text, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      std::int64_t negative = 0;
      std::uint64_t positive = 0;
      if (*text == '-' && std::from_chars(text, end, negative).ec == std::errc()) {
        return document_.Int64(negative);
      }
      if (*text != '-' && std::from_chars(text, end, positive).ec == std::errc()) {
        return document_.Uint64(positive);
      }
    }
    double value = 0;
    if (std::from_chars(text, end, value).ec == std::errc()) return document_.Double(value);
    // Out of range: an underflow is read as C does (zero or the nearest subnormal); infinity
    // has no JSON text to write back, so an overflow is refused, as RapidJSON refuses one.
    value = std::strtod(std::string(text, length).c_str(), nullptr);
    if (std::isinf(value)) {
      refusal_ = Refusal::NumberTooBig;
      return false;
    }
    return document_.Double(value);
  }
  bool String(const char* text, rapidjson::SizeType length, bool copy) {
    return document_.String(text, length, copy);
  }
  bool Key(const char* text, rapidjson::SizeType length, bool copy) {
    return document_.Key(text, length, copy);
  }
  bool StartObject() { return enter() && document_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return document_.EndObject(members);
  }
  bool StartArray() { return enter() && document_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return document_.EndArray(elements);
  }

 private:
  bool enter() {
    if (depth_ == maxDepth_) {
      refusal_ = Refusal::TooDeep;
      return false;
    }
    ++depth_;
    return true;
  }

  Json& document_;
  std::size_t maxDepth_;
  std::size_t depth_ = 0;
  Refusal refusal_ = Refusal::None;
};

}  // namespace

Result<Json> parseJson(std::string_view text, std::string_view origin, const JsonLimits& limits) {
  if (text.size() > limits.maxBytes) {
    return fail(
        decodeError(std::string(origin), std::to_string(text.size()) + " bytes, more than the " +
                                             std::to_string(limits.maxBytes) + "-byte cap"));
  }
  Json document;
  rapidjson::ParseResult result;
  auto refusal = DepthLimitedBuilder::Refusal::None;
  std::size_t end = 0;  // where the reader stopped
  // What Document::Parse does, with the depth-limiting handler between reader and document. The
  // same stream type as Document::Parse keeps its behaviour (a UTF-8 byte order mark is skipped).
  auto generator = [&](Json& target) {
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
    DepthLimitedBuilder builder(target, limits.maxDepth);
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags>(stream, builder);
    refusal = builder.refusal();
    end = stream.Tell();
    return !result.IsError();
  };
  document.Populate(generator);
  // RapidJSON reads a NUL byte as the end of the text, so `{}\0garbage` would pass as `{}`
  // (tests/fuzz found it).
  if (!result.IsError() && end != text.size()) {
    result.Set(rapidjson::kParseErrorDocumentRootNotSingular, end);
  }
  if (refusal == DepthLimitedBuilder::Refusal::NumberTooBig) {
    result.Set(rapidjson::kParseErrorNumberTooBig, result.Offset());
  }
  if (refusal == DepthLimitedBuilder::Refusal::TooDeep) {
    return fail(decodeError(std::string(origin),
                            "nesting deeper than " + std::to_string(limits.maxDepth) +
                                " levels at offset " + std::to_string(result.Offset())));
  }
  if (result.IsError()) {
    return fail(decodeError(std::string(origin), "invalid JSON at offset " +
                                                     std::to_string(result.Offset()) + ": " +
                                                     rapidjson::GetParseError_En(result.Code())));
  }
  return document;
}

Result<Json> parseJson(std::string_view text, std::string_view origin) {
  return parseJson(text, origin, JsonLimits{});
}

}  // namespace bisync::kube
