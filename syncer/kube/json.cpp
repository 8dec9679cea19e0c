#include "syncer/kube/json.hpp"

#include <rapidjson/error/en.h>

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

Result<Json> parseJson(std::string_view text, std::string_view origin) {
  Json document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError()) {
    return fail(decodeError(std::string(origin),
                            std::string("invalid JSON at offset ") +
                                std::to_string(document.GetErrorOffset()) + ": " +
                                rapidjson::GetParseError_En(document.GetParseError())));
  }
  return document;
}

}  // namespace bisync::kube
