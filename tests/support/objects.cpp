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

kube::ResourceInfo priorityClasses() {
  return {"scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false};
}

kube::Json priorityClassObject(std::string_view name, int value, std::string_view description,
                               std::string_view copy) {
  kube::Json object = coreObject("PriorityClass", "", name);
  auto& allocator = object.GetAllocator();
  object["apiVersion"].SetString("scheduling.k8s.io/v1", allocator);
  kube::JsonValue labels(rapidjson::kObjectType);
  labels.AddMember("example.com/copy", copyOf(copy, allocator), allocator);
  object["metadata"].AddMember("labels", labels, allocator);
  object.AddMember("description", copyOf(description, allocator), allocator);
  object.AddMember("value", value, allocator);
  return object;
}

std::string priorityClassPolicy(std::string_view copy) {
  return "apiVersion: kube-bisync.io/v1alpha1\n"
         "kind: SyncPolicy\n"
         "resource: {group: scheduling.k8s.io, version: v1, kind: PriorityClass}\n"
         "direction: down\n"
         "selector: {matchLabels: {example.com/copy: " +
         std::string(copy) +
         "}}\n"
         "fields:\n"
         "  - {path: /*, owner: source}\n";
}

}  // namespace bisync::testing
