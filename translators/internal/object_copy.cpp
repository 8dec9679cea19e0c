#include "translators/internal/object_copy.hpp"

#include <utility>

namespace bisync::translators::internal {
namespace {

using kube::Json;
using kube::JsonValue;
using kube::Result;
using Allocator = Json::AllocatorType;

using kube::stringValue;
using kube::stringView;

// The member, or nullptr when absent or JSON null (the API server's Go types decode null as
// "not set").
const JsonValue* presentMember(const JsonValue& object, std::string_view name) {
  const JsonValue* value = kube::member(object, name);
  return value == nullptr || value->IsNull() ? nullptr : value;
}

bool isStringMap(const JsonValue& value) {
  if (!value.IsObject()) return false;
  for (rapidjson::SizeType i = 0; i < value.MemberCount(); ++i) {
    if (!(value.MemberBegin() + i)->value.IsString()) return false;
  }
  return true;
}

// Source labels and annotations with the syncer's prefix are never copied: on the target they
// are the origin metadata, which only stampOrigin writes (a source could otherwise forge its
// own origin, or carry another instance's when it was itself synced from somewhere else).
bool copiedKey(std::string_view key, bool annotation) {
  if (key.starts_with(mapping::kSyncerKeyPrefix)) return false;
  return !(annotation && key == mapping::kLastAppliedAnnotation);
}

// Where errors point: "ConfigMap team-a/settings" once the name is known.
class Context {
 public:
  explicit Context(const kube::ResourceInfo& resource) : origin_(resource.kind) {}
  void identify(std::string_view ns, std::string_view name) {
    origin_ += ' ';
    if (!ns.empty()) {
      origin_.append(ns);
      origin_ += '/';
    }
    origin_.append(name);
  }
  kube::Error error(std::string message) const {
    return kube::decodeError(origin_, std::move(message));
  }

 private:
  std::string origin_;
};

// Copies metadata.labels or metadata.annotations without the syncer's own keys.
Result<void> copyMetadataMap(const JsonValue& sourceMetadata, JsonValue& targetMetadata,
                             std::string_view field, Allocator& allocator, const Context& context) {
  const JsonValue* map = presentMember(sourceMetadata, field);
  if (map == nullptr) return {};
  if (!isStringMap(*map)) {
    return kube::fail(
        context.error("/metadata/" + std::string(field) + " is not an object of strings"));
  }
  JsonValue copy(rapidjson::kObjectType);
  for (rapidjson::SizeType i = 0; i < map->MemberCount(); ++i) {
    const auto& entry = *(map->MemberBegin() + i);
    if (!copiedKey(stringView(entry.name), field == "annotations")) continue;
    copy.AddMember(JsonValue(entry.name, allocator), JsonValue(entry.value, allocator), allocator);
  }
  targetMetadata.AddMember(stringValue(field, allocator), std::move(copy), allocator);
  return {};
}

// Adds source[field] to target when present; false when it has the wrong type.
bool copyContentField(const JsonValue& source, JsonValue& target, const ContentField& field,
                      Allocator& allocator) {
  const JsonValue* value = presentMember(source, field.name);
  if (value == nullptr) return true;
  switch (field.type) {
    case FieldType::StringMap:
      if (!isStringMap(*value)) return false;
      // Go's omitempty drops an empty map, so the server never returns one.
      if (value->MemberCount() == 0) return true;
      break;
    case FieldType::String:
      if (!value->IsString()) return false;
      if (value->GetStringLength() == 0) return true;
      break;
    case FieldType::Bool:
      if (!value->IsBool()) return false;
      break;
  }
  target.AddMember(stringValue(field.name, allocator), JsonValue(*value, allocator), allocator);
  return true;
}

}  // namespace

Result<Json> translateObject(const JsonValue& source, const mapping::IdentityMapper& mapper,
                             const kube::ResourceInfo& resource, mapping::NameLimit limit,
                             std::span<const ContentField> fields) {
  Context context(resource);
  if (!source.IsObject()) return kube::fail(context.error("the object is not a JSON object"));
  const JsonValue* metadata = kube::member(source, "metadata");
  if (metadata == nullptr || !metadata->IsObject()) {
    return kube::fail(context.error("/metadata is missing or not an object"));
  }
  const std::string_view name = kube::stringMember(*metadata, "name");
  const std::string_view ns =
      resource.namespaced ? kube::stringMember(*metadata, "namespace") : std::string_view{};
  if (name.empty()) return kube::fail(context.error("/metadata/name is missing or not a string"));
  if (resource.namespaced && ns.empty()) {
    return kube::fail(context.error("/metadata/namespace is missing or not a string"));
  }
  context.identify(ns, name);
  // Without it the origin annotations would be incomplete and the syncer would later refuse
  // to touch its own copy; every object the API server returns has one.
  const std::string_view uid = kube::stringMember(*metadata, "uid");
  if (uid.empty()) return kube::fail(context.error("/metadata/uid is missing or not a string"));

  const mapping::SourceKey sourceKey{std::string(ns), std::string(name)};
  const mapping::TargetKey targetKey = mapper.toTarget(sourceKey, limit);

  Json target(rapidjson::kObjectType);
  Allocator& allocator = target.GetAllocator();
  target.AddMember("apiVersion", stringValue(resource.apiVersion(), allocator), allocator);
  target.AddMember("kind", stringValue(resource.kind, allocator), allocator);
  JsonValue targetMetadata(rapidjson::kObjectType);
  targetMetadata.AddMember("name", stringValue(targetKey.name, allocator), allocator);
  if (!targetKey.ns.empty()) {
    targetMetadata.AddMember("namespace", stringValue(targetKey.ns, allocator), allocator);
  }
  for (const std::string_view field : {"labels", "annotations"}) {
    if (auto copied = copyMetadataMap(*metadata, targetMetadata, field, allocator, context);
        !copied) {
      return kube::fail(copied.error());
    }
  }
  target.AddMember("metadata", std::move(targetMetadata), allocator);
  if (auto stamped = mapper.stampOrigin(target, allocator, sourceKey, uid); !stamped) {
    return kube::fail(context.error(stamped.error().message));
  }

  for (const ContentField& field : fields) {
    if (!copyContentField(source, target, field, allocator)) {
      const char* expected = field.type == FieldType::StringMap ? "an object of strings"
                             : field.type == FieldType::String  ? "a string"
                                                                : "a boolean";
      return kube::fail(context.error("/" + std::string(field.name) + " is not " + expected));
    }
  }
  return target;
}

}  // namespace bisync::translators::internal
