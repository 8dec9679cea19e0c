// Client's discovery: resolving kinds and --resources items through the server's discovery
// documents, cached per client until forgetDiscovery(). The parsing is discovery.cpp's.
#include <optional>
#include <utility>

#include "syncer/kube/client.hpp"

namespace bisync::kube {

namespace {

Error notServed(const std::string& server, const std::string& what) {
  Error error;
  error.kind = ErrorKind::Api;
  error.httpStatus = 404;
  error.reason = "NotFound";
  error.origin = server;
  error.message = "the server does not serve " + what;
  return error;
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<const Json>>> Client::discoveryDocument(
    const std::string& path) {
  if (auto cached = discoveryCache_.find(path); cached != discoveryCache_.end()) {
    co_return cached->second;
  }
  Result<Json> document = co_await getPath(path);
  if (!document) co_return fail(std::move(document.error()));
  auto shared = std::make_shared<const Json>(std::move(*document));
  // Another coroutine may have cached the same path meanwhile; the newer answer wins.
  discoveryCache_.insert_or_assign(path, shared);
  co_return shared;
}

asio::awaitable<Result<ResourceInfo>> Client::findResource(const std::string& group,
                                                           const std::string& version,
                                                           const ResourceSpec& wanted,
                                                           const std::string& what) {
  const std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  const Result<std::shared_ptr<const Json>> list = co_await discoveryDocument(path);
  // A group version the server does not have answers 404, like a resource it lacks.
  if (!list && list.error().isNotFound()) co_return fail(notServed(server(), what));
  if (!list) co_return fail(list.error());
  std::optional<ResourceInfo> found = findInResourceList(**list, group, version, wanted);
  if (!found) co_return fail(notServed(server(), what));
  co_return std::move(*found);
}

asio::awaitable<Result<ResourceInfo>> Client::discover(const GroupVersionKind& gvk) {
  ResourceSpec wanted;
  wanted.group = gvk.group;
  wanted.version = gvk.version;
  wanted.kind = gvk.kind;
  const std::string apiVersion = gvk.group.empty() ? gvk.version : gvk.group + "/" + gvk.version;
  wanted.text = gvk.kind + "." + gvk.version + (gvk.group.empty() ? "" : "." + gvk.group);
  const std::string what = "kind " + gvk.kind + " in " + apiVersion;
  co_return co_await findResource(wanted.group, wanted.version, wanted, what);
}

asio::awaitable<Result<ResourceInfo>> Client::resolve(const ResourceSpec& spec) {
  if (spec.byKind()) {
    const GroupVersionKind gvk{spec.group, spec.version, spec.kind};
    co_return co_await discover(gvk);
  }
  const std::string what =
      "resource " + spec.resource + (spec.group.empty() ? "" : "." + spec.group);
  if (spec.group.empty()) {
    const std::string version = "v1";
    co_return co_await findResource(spec.group, version, spec, what);
  }
  const std::string groupPath = "/apis/" + spec.group;
  const Result<std::shared_ptr<const Json>> apiGroup = co_await discoveryDocument(groupPath);
  if (!apiGroup && apiGroup.error().isNotFound()) co_return fail(notServed(server(), what));
  if (!apiGroup) co_return fail(apiGroup.error());
  const std::optional<std::string> version = preferredVersion(**apiGroup);
  if (!version) {
    co_return fail(decodeError(server() + groupPath, "the APIGroup document names no version"));
  }
  co_return co_await findResource(spec.group, *version, spec, what);
}

void Client::forgetDiscovery() { discoveryCache_.clear(); }

}  // namespace bisync::kube
