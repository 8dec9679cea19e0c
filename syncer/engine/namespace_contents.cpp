#include "syncer/engine/internal/namespace_contents.hpp"

#include <algorithm>
#include <utility>

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;
using kube::ResourceInfo;

// Objects the namespace has whoever uses it: they never keep a namespace of ours alive.
bool isNamespaceDefault(const ResourceInfo& resource, const JsonValue& object) {
  const std::string_view name = kube::nameOf(object);
  if (resource.group.empty() && resource.resource == "serviceaccounts") return name == "default";
  if (resource.group.empty() && resource.resource == "configmaps") {
    return name == "kube-root-ca.crt";
  }
  if (resource.group.empty() && resource.resource == "secrets") {
    return kube::stringMember(object, "type") == "kubernetes.io/service-account-token" &&
           kube::stringAt(object, "/metadata/annotations/kubernetes.io~1service-account.name") ==
               "default";
  }
  return false;
}

// The namespaced, listable resources of one group version's discovery document.
void addResources(const JsonValue& document, const std::string& group, const std::string& version,
                  std::vector<ResourceInfo>& out) {
  const JsonValue* list = kube::member(document, "resources");
  if (list == nullptr || !list->IsArray()) return;
  for (const JsonValue& entry : list->GetArray()) {
    const std::string_view name = kube::stringMember(entry, "name");
    const JsonValue* namespaced = kube::member(entry, "namespaced");
    const JsonValue* verbs = kube::member(entry, "verbs");
    if (name.empty() || name.find('/') != std::string_view::npos || namespaced == nullptr ||
        !namespaced->IsBool() || !namespaced->GetBool() || verbs == nullptr || !verbs->IsArray()) {
      continue;
    }
    const auto& all = verbs->GetArray();
    const bool listable = std::any_of(all.begin(), all.end(), [](const JsonValue& verb) {
      return verb.IsString() && kube::stringView(verb) == "list";
    });
    // Events record what happened in a namespace; they keep nothing alive.
    if (!listable || name == "events") continue;
    out.push_back(ResourceInfo{group, version, std::string(name),
                               std::string(kube::stringMember(entry, "kind")), true});
  }
}

}  // namespace

asio::awaitable<kube::Result<std::vector<ResourceInfo>>> namespacedResources(kube::Client& client) {
  std::vector<ResourceInfo> resources;
  const std::string core = "/api/v1";
  const kube::Result<Json> coreDocument = co_await client.getPath(core);
  if (!coreDocument) co_return kube::fail(coreDocument.error());
  addResources(*coreDocument, "", "v1", resources);
  const std::string apis = "/apis";
  const kube::Result<Json> groups = co_await client.getPath(apis);
  if (!groups) co_return kube::fail(groups.error());
  const JsonValue* list = kube::member(*groups, "groups");
  if (list == nullptr || !list->IsArray()) co_return resources;
  for (const JsonValue& group : list->GetArray()) {
    const std::string name(kube::stringMember(group, "name"));
    const std::string version(kube::stringAt(group, "/preferredVersion/version"));
    if (name.empty() || version.empty()) continue;
    const std::string path = "/apis/" + name + "/" + version;
    const kube::Result<Json> document = co_await client.getPath(path);
    if (!document) co_return kube::fail(document.error());
    addResources(*document, name, version, resources);
  }
  co_return resources;
}

asio::awaitable<NamespaceContents> namespaceContents(kube::Client& client, const std::string& ns,
                                                     const std::set<std::string>& ignore,
                                                     std::size_t limit) {
  NamespaceContents contents;
  const kube::Result<std::vector<ResourceInfo>> resources = co_await namespacedResources(client);
  if (!resources) {
    contents.error = "discovery: " + resources.error().describe();
    co_return contents;
  }
  kube::ListOptions options;
  options.limit = 100;  // enough to see past a namespace's few defaults
  for (const ResourceInfo& resource : *resources) {
    const kube::Result<kube::ListResult> listed = co_await client.list(resource, ns, options);
    if (!listed) {
      contents.error = "list " + resource.resource + ": " + listed.error().describe();
      co_return contents;
    }
    for (const JsonValue& item : listed->items().GetArray()) {
      const std::string name(kube::nameOf(item));
      if (ignore.contains(resource.resource + "/" + name) || isNamespaceDefault(resource, item)) {
        continue;
      }
      if (contents.others.size() == limit) {
        contents.more = true;
        co_return contents;
      }
      contents.others.push_back(resource.resource + "/" + name);
    }
    if (!listed->continueToken.empty() && contents.others.empty()) {
      // A page of nothing but ignored objects, with more behind it: not provably empty.
      contents.others.push_back(resource.resource + " (more than " + std::to_string(options.limit) +
                                ")");
    }
  }
  co_return contents;
}

}  // namespace bisync::engine::internal
