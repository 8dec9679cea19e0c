#include "syncer/kube/resource.hpp"

#include <algorithm>
#include <utility>

namespace bisync::kube {

bool ResourceInfo::serves(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

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
namespace {
// What kube-apiserver's discovery lists for these core resources (v1.20 and later).
std::vector<std::string> allVerbs() {
  return {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
}
}  // namespace

ResourceInfo configMaps() { return {"", "v1", "configmaps", "ConfigMap", true, false, allVerbs()}; }
ResourceInfo secrets() { return {"", "v1", "secrets", "Secret", true, false, allVerbs()}; }
ResourceInfo namespaces() {
  // A namespace cannot be deleted as part of a collection: discovery lists no deletecollection.
  std::vector<std::string> verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  return {"", "v1", "namespaces", "Namespace", false, true, std::move(verbs)};
}
ResourceInfo events() { return {"", "v1", "events", "Event", true, false, allVerbs()}; }
}  // namespace resources

}  // namespace bisync::kube
