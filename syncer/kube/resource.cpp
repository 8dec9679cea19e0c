#include "syncer/kube/resource.hpp"

namespace bisync::kube {

std::string ResourceInfo::groupVersionPath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string ResourceInfo::collectionPath(std::string_view ns) const {
  std::string path = groupVersionPath();
  if (namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/";
  path += resource;
  return path;
}

std::string ResourceInfo::objectPath(std::string_view ns, std::string_view name,
                                     std::string_view subresource) const {
  std::string path = collectionPath(ns);
  path += "/";
  path += name;
  if (!subresource.empty()) {
    path += "/";
    path += subresource;
  }
  return path;
}

namespace resources {
ResourceInfo configMaps() { return {"", "v1", "configmaps", "ConfigMap", true}; }
ResourceInfo secrets() { return {"", "v1", "secrets", "Secret", true}; }
ResourceInfo namespaces() { return {"", "v1", "namespaces", "Namespace", false}; }
ResourceInfo events() { return {"", "v1", "events", "Event", true}; }
}  // namespace resources

}  // namespace bisync::kube
