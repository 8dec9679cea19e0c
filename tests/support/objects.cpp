#include "tests/support/objects.hpp"

namespace bisync::testing {
namespace {

kube::JsonValue copyOf(std::string_view text, kube::Json::AllocatorType& allocator) {
  return kube::JsonValue(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// apiVersion v1, `kind`, and metadata.name (plus metadata.namespace unless `ns` is empty).
kube::Json coreObject(std::string_view kind, std::string_view ns, std::string_view name) {
  kube::Json object(rapidjson::kObjectType);
  auto& allocator = object.GetAllocator();
  object.AddMember("apiVersion", "v1", allocator);
  object.AddMember("kind", copyOf(kind, allocator), allocator);
  kube::JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", copyOf(name, allocator), allocator);
  if (!ns.empty()) {
    metadata.AddMember("namespace", copyOf(ns, allocator), allocator);
  }
  object.AddMember("metadata", metadata, allocator);
  return object;
}

}  // namespace

kube::Json configMapObject(std::string_view ns, std::string_view name, std::string_view key,
                           std::string_view value) {
  kube::Json object = coreObject("ConfigMap", ns, name);
  auto& allocator = object.GetAllocator();
  kube::JsonValue data(rapidjson::kObjectType);
  data.AddMember(copyOf(key, allocator), copyOf(value, allocator), allocator);
  object.AddMember("data", data, allocator);
  return object;
}

kube::Json namespaceObject(std::string_view name) { return coreObject("Namespace", "", name); }

}  // namespace bisync::testing
