#include "tests/chaos/observe.hpp"

#include <algorithm>

#include "tests/support/sync_scene.hpp"

namespace bisync::chaos {

namespace {

using testing::stringMapAt;

StringMap chaosEntries(const testing::StringMap& map) {
  StringMap kept;
  for (const auto& [key, value] : map) {
    if (key.starts_with("chaos-")) kept[key] = value;
  }
  return kept;
}

StringMap contentOf(const kube::JsonValue& object, Kind kind) {
  if (kind != Kind::Widget) return stringMapAt(object, "/data");
  StringMap content;
  for (const auto& [field, value] : stringMapAt(object, "/spec")) content["spec." + field] = value;
  return content;
}

std::vector<std::string> finalizersOf(const kube::JsonValue& object) {
  std::vector<std::string> names;
  const kube::JsonValue* list = kube::at(object, "/metadata/finalizers");
  if (list == nullptr || !list->IsArray()) return names;
  for (const auto& entry : list->GetArray()) {
    if (entry.IsString()) names.emplace_back(entry.GetString());
  }
  return names;
}

}  // namespace

kube::ResourceInfo resourceOf(Kind kind) {
  switch (kind) {
    case Kind::ConfigMap: return kube::resources::configMaps();
    case Kind::Secret: return kube::resources::secrets();
    case Kind::Widget: return {std::string(kWidgetGroup), "v1", "widgets", "Widget", true};
    case Kind::Pod: return {"", "v1", "pods", "Pod", true, true};
    case Kind::Deployment: return {"apps", "v1", "deployments", "Deployment", true, true};
    case Kind::Node: return {"", "v1", "nodes", "Node", false, true};
  }
  return {};
}

std::string targetNamespace(const std::string& cluster, const std::string& ns) {
  return cluster + "--" + ns;
}

std::string sourceNamespaceOf(const std::string& ns, bool target, const Scope& scope) {
  for (const std::string& candidate : scope.namespaces) {
    if (ns == (target ? targetNamespace(scope.cluster, candidate) : candidate)) return candidate;
  }
  return "";
}

std::string sourceUidOf(const kube::JsonValue& object) {
  const kube::JsonValue* annotations = kube::at(object, "/metadata/annotations");
  if (annotations == nullptr) return "";
  return std::string(kube::stringMember(*annotations, testing::kSourceUid));
}

Observed observedOf(const kube::JsonValue& object, Kind kind) {
  const testing::StringMap labels = stringMapAt(object, "/metadata/labels");
  const testing::StringMap annotations = stringMapAt(object, "/metadata/annotations");
  Observed observed{.uid = std::string(kube::uidOf(object)),
                    .resourceVersion = std::string(kube::resourceVersionOf(object)),
                    .content = contentOf(object, kind),
                    .labels = chaosEntries(labels),
                    .annotations = chaosEntries(annotations),
                    .managedBy = testing::lookup(labels, testing::kManagedBy),
                    .sourceUid = sourceUidOf(object),
                    .deleting = kube::at(object, "/metadata/deletionTimestamp") != nullptr,
                    .finalizers = finalizersOf(object)};
  if (observed.managedBy == "<absent>") observed.managedBy.clear();
  return observed;
}

boost::asio::awaitable<kube::Result<Snapshot>> readSnapshot(kube::Client& client, bool target,
                                                            const Scope& scope) {
  Snapshot snapshot;
  for (const Kind kind : kKinds) {
    const kube::ResourceInfo resource = resourceOf(kind);
    kube::Result<kube::ListResult> listed = co_await client.list(resource, "");
    if (!listed) co_return tl::unexpected(listed.error());
    for (const kube::JsonValue& item : listed->items().GetArray()) {
      const std::string ns = sourceNamespaceOf(std::string(kube::namespaceOf(item)), target, scope);
      const std::string name(kube::nameOf(item));
      if (ns.empty() || !isWorkloadName(kind, name)) continue;
      snapshot[Key{kind, ns, name}] = observedOf(item, kind);
    }
  }
  co_return snapshot;
}

}  // namespace bisync::chaos
