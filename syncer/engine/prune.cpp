// --prune (docs/sync-engine.md, "Finalizer-guarded deletion"): once the initial sync is done, the
// copies of ours of kinds that are no longer synced (dropped from --resources and the policies)
// are deleted from our target namespaces, and the syncer's finalizer taken off their sources,
// as `direction: none` does for a kind still named. Only copies ownsCopy proves ours are touched.
#include <spdlog/spdlog.h>

#include "syncer/engine/finalizer.hpp"
#include "syncer/engine/internal/namespace_contents.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;
using kube::Json;

struct PruneCounts {
  std::size_t copies = 0;
  std::size_t finalizers = 0;
  std::size_t failures = 0;
};

// A kind the syncer is told to sync, whether it syncs now or waits: never pruned.
bool namedToSync(const SyncState& state, const kube::ResourceInfo& resource) {
  if (state.resources.contains(resourceKey(resource))) return true;
  for (const kube::ResourceSpec& spec : state.options.resources) {
    if (spec.group != resource.group) continue;
    if (spec.byKind() ? spec.kind == resource.kind : spec.resource == resource.resource) {
      return true;
    }
  }
  return false;
}

// Takes our finalizer off the source object `origin` names (that incarnation only).
asio::awaitable<void> releaseSource(SyncState& state, const kube::ResourceInfo& target,
                                    const mapping::Origin& origin, PruneCounts& counts) {
  const kube::GroupVersionKind kind{target.group, target.version, target.kind};
  const kube::Result<kube::ResourceInfo> resource = co_await state.sourceClient.discover(kind);
  if (!resource) co_return;  // the source no longer serves it: nothing of ours is left there
  const std::string whole;
  const kube::Result<Json> source =
      co_await state.sourceClient.get(*resource, origin.ns, origin.name, whole);
  if (!source || kube::uidOf(*source) != origin.uid) co_return;
  const kube::Result<FinalizerWrite> written = co_await setFinalizer(
      state.sourceClient, *resource, *source, kCleanupFinalizer, false, state.options.fieldManager);
  if (!written) {
    ++counts.failures;
    spdlog::warn("prune: cannot remove the finalizer of {} {}/{}: {}", target.resource, origin.ns,
                 origin.name, written.error().describe());
  } else if (written->written) {
    ++counts.finalizers;
  }
}

// Deletes our copies of `resource` in target namespace `ns`, then frees their sources.
asio::awaitable<void> pruneKind(SyncState& state, const kube::ResourceInfo& resource,
                                const std::string& ns, PruneCounts& counts) {
  kube::ListOptions options;
  options.labelSelector =
      std::string(mapping::kManagedByLabel) + "=" + state.mapper.config().clusterName;
  const kube::Result<kube::ListResult> listed =
      co_await state.targetClient.list(resource, ns, options);
  if (!listed) co_return;  // not listable here (forbidden): not ours to judge
  for (const kube::JsonValue& item : listed->items().GetArray()) {
    const auto origin = state.mapper.originOf(item);
    if (!origin || !ownsCopy(state, item)) continue;
    const kube::Result<bool> removed = co_await removeIncarnation(
        state.targetClient, resource, ns, kube::nameOf(item), kube::uidOf(item));
    if (!removed) {
      ++counts.failures;
      spdlog::warn("prune: cannot delete {} {}/{}: {}", resource.resource, ns, kube::nameOf(item),
                   removed.error().describe());
      continue;
    }
    if (*removed) {
      ++counts.copies;
      ++state.stats.target.deletes;
      logWrite(state, "pruned " + resource.resource + " " + kube::objectKey(item));
    }
    co_await releaseSource(state, resource, *origin, counts);
  }
}

}  // namespace

asio::awaitable<void> pruneDroppedKinds(std::shared_ptr<SyncState> state) {
  const kube::Result<std::vector<kube::ResourceInfo>> resources =
      co_await namespacedResources(state->targetClient);
  if (!resources) {
    spdlog::warn("prune: discovery on the target failed: {}", resources.error().describe());
    co_return;
  }
  PruneCounts counts;
  for (const std::string& ns : ownedTargetNamespaces(*state)) {
    for (const kube::ResourceInfo& resource : *resources) {
      if (state->stopping) co_return;
      if (!namedToSync(*state, resource)) co_await pruneKind(*state, resource, ns, counts);
    }
  }
  spdlog::info(
      "prune: deleted {} copies of kinds no longer synced, removed {} finalizers ({} "
      "failures)",
      counts.copies, counts.finalizers, counts.failures);
}

}  // namespace bisync::engine::internal
