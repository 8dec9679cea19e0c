// What is ours on the target, decided from state a tenant or a narrowly privileged host user
// cannot forge (the ownership record, docs/security.md), and the target informers that follow
// it: the syncer watches only namespaces it owns.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "syncer/engine/internal/event_copies.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace {

namespace asio = boost::asio;

// Waits for every informer of `ns` to list, then releases the keys parked on it. The informers
// may be replaced or stopped meanwhile: each is looked up again after every wait.
asio::awaitable<void> releaseWhenWatched(std::weak_ptr<SyncState> weak, std::string ns) {
  for (;;) {
    kube::Informer* pending = nullptr;
    {
      const std::shared_ptr<SyncState> state = weak.lock();
      if (!state || state->stopping) co_return;
      for (auto& [name, sync] : state->resources) {
        // One informer for the cluster, not per namespace; none while suspended.
        if (sync.clusterScoped || sync.suspended) continue;
        const auto it = sync.targets.find(ns);
        if (it == sync.targets.end()) co_return;  // unwatched meanwhile
        if (!it->second->hasSynced()) {
          pending = it->second.get();
          break;
        }
      }
      if (pending == nullptr) {
        state->releaseWaiters(ns);
        co_return;
      }
    }
    co_await pending->waitForSync();  // also completes when the informer is stopped
  }
}

}  // namespace

bool ownsNamespace(const SyncState& state, std::string_view name, std::string_view uid) {
  if (state.mapper.config().mode == mapping::NamespaceMode::Single) {
    return name == state.mapper.config().targetNamespace;
  }
  return state.record && state.record->ownsNamespace(name, uid);
}

bool ownsCachedNamespace(const SyncState& state, std::string_view name) {
  if (state.mapper.config().mode == mapping::NamespaceMode::Single) {
    return name == state.mapper.config().targetNamespace;
  }
  const kube::CachedObjectPtr cached = state.targetNamespaces->store().get(name);
  return cached && ownsNamespace(state, name, cached->uid);
}

bool ownsCopy(const SyncState& state, const kube::JsonValue& object) {
  const std::string_view ns = kube::namespaceOf(object);
  if (!ownsCachedNamespace(state, ns)) return false;
  const auto origin = state.mapper.originOf(object);
  // Single mode: the one namespace is the mapping of every source namespace.
  return origin && !origin->ns.empty() && state.mapper.targetNamespace(origin->ns) == ns;
}

// The target namespaces this instance owns, by the record and the namespace cache (or the one
// of single mode): the ones its target informers watch.
std::vector<std::string> ownedTargetNamespaces(const SyncState& state) {
  if (state.mapper.config().mode == mapping::NamespaceMode::Single) {
    return {state.mapper.config().targetNamespace};
  }
  std::vector<std::string> owned;
  for (const auto& [ns, entry] : state.record->namespaces()) {
    if (ownsCachedNamespace(state, ns)) owned.push_back(ns);
  }
  return owned;
}

void watchTargetNamespace(SyncState& state, const std::string& ns) {
  if (state.eventCopies) state.eventCopies->watch(ns);
  bool started = false;
  for (auto& [name, sync] : state.resources) {
    if (sync.clusterScoped || sync.suspended || sync.targets.contains(ns)) continue;
    std::unique_ptr<kube::Informer>& informer = sync.targets[ns];
    informer = state.makeTargetInformer(sync, ns);
    informer->start();
    started = true;
  }
  if (!started && targetNamespaceWatched(state, ns)) return;
  asio::co_spawn(state.targetClient.ioContext(), releaseWhenWatched(state.weak_from_this(), ns),
                 asio::detached);
}

void unwatchTargetNamespace(SyncState& state, std::string_view ns) {
  if (state.eventCopies) state.eventCopies->unwatch(ns);
  for (auto& [name, sync] : state.resources) {
    const auto it = sync.targets.find(ns);
    if (it == sync.targets.end()) continue;
    it->second->stop();  // its loop ends on its own; the Store goes with the Informer
    sync.targets.erase(it);
  }
}

bool targetNamespaceWatched(const SyncState& state, std::string_view ns) {
  for (const auto& [name, sync] : state.resources) {
    if (!sync.clusterScoped && !sync.suspended && sync.targetInformer(ns) == nullptr) return false;
  }
  return true;
}

std::optional<std::string> recordedSourceNamespace(const SyncState& state,
                                                   std::string_view targetNs) {
  if (!state.record) return std::nullopt;
  const OwnedNamespace* entry = state.record->findNamespace(targetNs);
  if (entry == nullptr) return std::nullopt;
  return entry->sourceNamespace;
}

const kube::Informer* ResourceSync::targetInformer(std::string_view ns) const {
  const auto it = targets.find(ns);
  return it != targets.end() && it->second->hasSynced() ? it->second.get() : nullptr;
}

kube::CachedObjectPtr ResourceSync::targetObject(std::string_view targetKey) const {
  const auto slash = targetKey.find('/');
  if (slash == std::string_view::npos) return nullptr;
  const kube::Informer* informer = targetInformer(targetKey.substr(0, slash));
  return informer != nullptr ? informer->store().get(targetKey) : nullptr;
}

}  // namespace bisync::engine::internal
