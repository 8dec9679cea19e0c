#include "syncer/engine/sync_key.hpp"

namespace bisync::engine {

SyncKey SyncKey::object(std::string_view resource, std::string_view ns, std::string_view name) {
  return {std::string(resource), std::string(ns), std::string(name)};
}

SyncKey SyncKey::namespaceKey(std::string_view sourceNamespace) {
  return {std::string(kNamespacesResource), std::string(sourceNamespace), ""};
}

std::string SyncKey::str() const { return resource + "/" + ns + "/" + name; }

std::string SyncKey::describe() const {
  if (isNamespace()) return "namespace " + ns;
  if (ns.empty()) return resource + " " + name;  // cluster-scoped
  return resource + " " + ns + "/" + name;
}

std::optional<SyncKey> SyncKey::parse(std::string_view text) {
  const auto first = text.find('/');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find('/', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  SyncKey key{std::string(text.substr(0, first)),
              std::string(text.substr(first + 1, second - first - 1)),
              std::string(text.substr(second + 1))};
  // Only a namespace key needs a namespace: an object key without one is a cluster-scoped object.
  if (key.resource.empty() || (key.ns.empty() && key.isNamespace()) ||
      key.name.find('/') != std::string::npos) {
    return std::nullopt;
  }
  if (key.isNamespace() != key.name.empty()) return std::nullopt;
  return key;
}

}  // namespace bisync::engine
