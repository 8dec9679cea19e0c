// Naming of API resources: what a request path needs to know about a kind.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bisync::kube {

struct GroupVersionKind {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  bool operator==(const GroupVersionKind&) const = default;
};

// A resource as served: "configmaps" in v1, namespaced. Found by discovery, or one of the
// well-known core resources below.
struct ResourceInfo {
  std::string group;
  std::string version;
  std::string resource;  // plural, lower case: "configmaps"
  std::string kind;      // "ConfigMap"
  bool namespaced = true;
  bool statusSubresource = false;  // discovery lists "<resource>/status"
  // As discovery lists them ("get", "list", "watch", "patch", ...). The "{}" keeps aggregate
  // initialisations that stop before it free of -Wmissing-field-initializers.
  std::vector<std::string> verbs{};

  bool serves(std::string_view verb) const;  // verbs holds `verb`
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1" or "/apis/<group>/<version>"
  std::string groupVersionPath() const;
  // Collection path: ".../namespaces/<ns>/<resource>", or ".../<resource>" when `ns` is
  // empty or the resource is cluster-scoped.
  std::string collectionPath(std::string_view ns) const;
  // Object path, with an optional subresource ("status").
  std::string objectPath(std::string_view ns, std::string_view name,
                         std::string_view subresource = {}) const;
};

namespace resources {
ResourceInfo configMaps();
ResourceInfo secrets();
ResourceInfo namespaces();
ResourceInfo events();
}  // namespace resources

}  // namespace bisync::kube
