#include "syncer/remove_finalizers.hpp"

#include <cstdio>

#include "syncer/engine/finalizer.hpp"

namespace bisync::startup {

namespace asio = boost::asio;

asio::awaitable<FinalizerRemoval> removeFinalizers(kube::Client& source,
                                                   const std::vector<kube::ResourceSpec>& kinds,
                                                   const engine::NamespaceSelection& namespaces,
                                                   const std::string& fieldManager) {
  FinalizerRemoval result;
  const std::function<bool(std::string_view)> selects = [&namespaces](std::string_view ns) {
    return namespaces.selects(ns);
  };
  for (const kube::ResourceSpec& spec : kinds) {
    const kube::Result<kube::ResourceInfo> resource = co_await source.resolve(spec);
    if (!resource || !resource->namespaced) {
      // The syncer never puts its finalizer on cluster-scoped objects.
      ++result.skipped;
      std::printf("%s: skipped (%s)\n", spec.text.c_str(),
                  resource ? "cluster-scoped" : resource.error().describe().c_str());
      continue;
    }
    ++result.kinds;
    const std::string finalizer(engine::kCleanupFinalizer);
    const kube::Result<engine::FinalizerSweep> sweep = co_await engine::removeFinalizerFromAll(
        source, *resource, selects, finalizer, fieldManager);
    if (!sweep) {
      ++result.failed;
      std::fprintf(stderr, "kube-bisync: list %s: %s\n", spec.text.c_str(),
                   sweep.error().describe().c_str());
      continue;
    }
    for (const std::string& failure : sweep->failures) {
      std::fprintf(stderr, "kube-bisync: %s %s\n", spec.text.c_str(), failure.c_str());
    }
    result.removed += sweep->removed;
    result.failed += sweep->failures.size();
    std::printf("%s: finalizer removed from %zu objects\n", spec.text.c_str(), sweep->removed);
  }
  co_return result;
}

}  // namespace bisync::startup
