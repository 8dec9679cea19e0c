#include "syncer/remove_finalizers.hpp"

#include <cstdio>

#include "syncer/engine/finalizer.hpp"
#include "syncer/kube/store.hpp"

namespace bisync::startup {

namespace {

namespace asio = boost::asio;

// Removes ours from every object of one list page; adds what it did to `result`.
asio::awaitable<void> removeFromPage(kube::Client& source, const kube::ResourceInfo& resource,
                                     const kube::JsonValue& items,
                                     const engine::NamespaceSelection& namespaces,
                                     const std::string& fieldManager, FinalizerRemoval& result) {
  for (const kube::JsonValue& item : items.GetArray()) {
    if (!engine::hasFinalizer(item, engine::kCleanupFinalizer)) continue;
    if (!namespaces.selects(kube::namespaceOf(item))) continue;
    const std::string finalizer(engine::kCleanupFinalizer);
    const kube::Result<engine::FinalizerWrite> written =
        co_await engine::setFinalizer(source, resource, item, finalizer, false, fieldManager);
    if (written) {
      if (written->written) ++result.removed;
      continue;
    }
    ++result.failed;
    std::fprintf(stderr, "kube-bisync: %s %s: %s\n", resource.resource.c_str(),
                 kube::objectKey(item).c_str(), written.error().describe().c_str());
  }
}

// Every page of one kind's list, across all namespaces.
asio::awaitable<kube::Result<void>> removeFromKind(kube::Client& source,
                                                   const kube::ResourceInfo& resource,
                                                   const engine::NamespaceSelection& namespaces,
                                                   const std::string& fieldManager,
                                                   FinalizerRemoval& result) {
  kube::ListOptions options;
  options.limit = 500;
  const std::string allNamespaces;
  do {
    kube::Result<kube::ListResult> page = co_await source.list(resource, allNamespaces, options);
    if (!page) co_return kube::fail(page.error());
    co_await removeFromPage(source, resource, page->items(), namespaces, fieldManager, result);
    options.continueToken = page->continueToken;
  } while (!options.continueToken.empty());
  co_return kube::Result<void>{};
}

}  // namespace

asio::awaitable<FinalizerRemoval> removeFinalizers(kube::Client& source,
                                                   const std::vector<kube::ResourceSpec>& kinds,
                                                   const engine::NamespaceSelection& namespaces,
                                                   const std::string& fieldManager) {
  FinalizerRemoval result;
  for (const kube::ResourceSpec& spec : kinds) {
    const kube::Result<kube::ResourceInfo> resource = co_await source.resolve(spec);
    if (!resource || !resource->namespaced) {
      // The syncer never puts its finalizer on cluster-scoped objects.
      ++result.skipped;
      std::printf("%s: skipped (%s)\n", spec.text.c_str(),
                  resource ? "cluster-scoped" : resource.error().describe().c_str());
      continue;
    }
    const std::size_t before = result.removed;
    const kube::Result<void> done =
        co_await removeFromKind(source, *resource, namespaces, fieldManager, result);
    ++result.kinds;
    if (!done) {
      ++result.failed;
      std::fprintf(stderr, "kube-bisync: list %s: %s\n", spec.text.c_str(),
                   done.error().describe().c_str());
      continue;
    }
    std::printf("%s: finalizer removed from %zu objects\n", spec.text.c_str(),
                result.removed - before);
  }
  co_return result;
}

}  // namespace bisync::startup
