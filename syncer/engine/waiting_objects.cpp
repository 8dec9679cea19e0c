// Source objects that are not copied for now, and say why: over the limit of objects per
// namespace (limits.maxObjectsPerNamespace, --max-objects-per-namespace), waiting for their
// target namespace to finish terminating, or for the copies of what they depend on (a Pod's
// ConfigMaps). See docs/sync-engine.md ("Limits", "Namespaces", "Dependencies").
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "syncer/engine/internal/sync_state.hpp"
#include "syncer/engine/namespace_limits.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

// The synced source objects of `sync`'s kind in namespace `ns`, from the source cache, each with
// whether its copy is in the target cache: no API call, whatever the namespace holds.
std::vector<LimitEntry> limitEntries(const SyncState& state, const ResourceSync& sync,
                                     std::string_view ns) {
  std::vector<LimitEntry> entries;
  auto informer = sync.source.find(ns);
  if (informer == sync.source.end()) informer = sync.source.find("");
  if (informer == sync.source.end()) return entries;
  const std::string prefix = std::string(ns) + "/";
  for (const kube::CachedObjectPtr& cached : informer->second->store().list()) {
    if (!cached->key.starts_with(prefix)) continue;  // the informer of every namespace
    const Json object = cached->parse();
    if (!sync.translator->shouldSync(object) || !policySelects(sync.policy, ns, object)) continue;
    const std::string_view name = kube::nameOf(object);
    const mapping::TargetKey target = state.mapper.toTarget(
        mapping::SourceKey{std::string(ns), std::string(name)}, sync.translator->nameLimit());
    entries.push_back({std::string(name),
                       std::string(kube::stringAt(object, "/metadata/creationTimestamp")),
                       sync.targetObject(kube::objectKey(target.ns, target.name)) != nullptr});
  }
  return entries;
}

// How many source objects of `sync`'s kind namespace `ns` holds, synced or not (the count the
// source informers keep): when they are within the limit, every synced one may have a copy.
std::size_t sourceObjectsIn(const ResourceSync& sync, std::string_view ns) {
  const auto count = sync.sourceCounts.find(std::string(ns));
  return count == sync.sourceCounts.end() ? 0 : count->second;
}

// Records `key` as waiting (or not) in sync.overLimit, keeping the gauge in step.
void markOverLimit(SyncState& state, ResourceSync& sync, const SyncKey& key, bool waits) {
  auto it = sync.overLimit.find(key.ns);
  if (waits) {
    if (it == sync.overLimit.end())
      it = sync.overLimit.emplace(key.ns, std::set<std::string>{}).first;
    if (it->second.insert(key.name).second) ++state.stats.objectsOverLimit;
    return;
  }
  if (it == sync.overLimit.end() || it->second.erase(key.name) == 0) return;
  --state.stats.objectsOverLimit;
  if (it->second.empty()) sync.overLimit.erase(it);
}

// A Warning Event (logged when written; the recorder drops repeats) and the sync-status.
asio::awaitable<void> reportOnce(SyncState& state, ResourceSync& sync, const JsonValue& source,
                                 std::string_view reason, std::string_view result,
                                 const std::string& message) {
  const kube::ResourceInfo& resource = sync.translator->resource();
  if (co_await state.recorder.record(resource, source, EventType::Warning, reason, message)) {
    spdlog::warn("{}: {} {}: {}", reason, sync.name(), kube::objectKey(source), message);
  }
  co_await setSyncStatus(state, sync, source, result, message);
}

}  // namespace

std::size_t namespaceLimit(const SyncState& state, const ResourceSync& sync) {
  if (const auto& limit = sync.policy.limits.maxObjectsPerNamespace; limit && *limit > 0) {
    return static_cast<std::size_t>(*limit);
  }
  return state.options.maxObjectsPerNamespace;
}

asio::awaitable<bool> holdOverLimit(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                    const JsonValue& source, bool copied) {
  const std::size_t limit = namespaceLimit(state, sync);
  // Under direction up nothing is copied down: there is nothing to hold back. A copy that exists
  // is kept, whatever the limit. Within the limit nothing needs ranking.
  if (limit == 0 || sync.policy.direction == policies::Direction::Up || copied ||
      sourceObjectsIn(sync, key.ns) <= limit) {
    markOverLimit(state, sync, key, false);
    co_return false;
  }
  const LimitVerdict verdict =
      judgeNamespaceLimit(limitEntries(state, sync, key.ns), key.name, limit);
  markOverLimit(state, sync, key, !verdict.copy);
  if (verdict.copy) co_return false;
  const std::string message = overLimitMessage(key.ns, sync.name(), verdict, limit);
  co_await reportOnce(state, sync, source, kReasonSyncFailed, kStatusSyncFailed, message);
  co_return true;
}

void leaveNamespaceLimit(SyncState& state, ResourceSync& sync, const SyncKey& key) {
  markOverLimit(state, sync, key, false);
  releaseOverLimit(state, sync, key.ns);
}

void releaseOverLimit(SyncState& state, ResourceSync& sync, std::string_view ns) {
  const auto it = sync.overLimit.find(ns);
  if (it == sync.overLimit.end()) return;
  // Left in the set: each reconcile decides again whether it still waits.
  for (const std::string& name : it->second) {
    state.enqueue(SyncKey::object(sync.name(), std::string(ns), name));
  }
}

asio::awaitable<void> reportNamespaceTerminating(SyncState& state, ResourceSync& sync,
                                                 const JsonValue& source,
                                                 const std::string& targetNs) {
  const std::string message = "target namespace " + targetNs +
                              " is terminating: copied again once it is gone and made anew";
  co_await reportOnce(state, sync, source, kReasonSyncWaiting, kStatusSyncWaiting, message);
}

namespace {

// The queue's index of a copy others wait for: "<resource>/<target ns>/<name>".
std::string awaitedCopy(std::string_view resource, std::string_view targetKey) {
  return std::string(resource) + "/" + std::string(targetKey);
}

}  // namespace

asio::awaitable<bool> holdForDependencies(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                          const JsonValue& source) {
  std::string missing;
  for (const translators::Dependency& dependency : sync.translator->dependencies(source)) {
    const auto synced = state.resources.find(dependency.resource);
    if (dependency.optional || synced == state.resources.end() || synced->second.suspended) {
      continue;  // nothing would ever copy it: the copy does not wait for it
    }
    const mapping::TargetKey target = state.mapper.toTarget(
        mapping::SourceKey{key.ns, dependency.name}, synced->second.translator->nameLimit());
    const std::string targetKey = kube::objectKey(target.ns, target.name);
    if (synced->second.targetObject(targetKey)) continue;
    state.awaitingCopies[awaitedCopy(dependency.resource, targetKey)].insert(key.str());
    missing += (missing.empty() ? "" : ", ") + dependency.resource + " " + dependency.name;
  }
  if (missing.empty()) co_return false;
  const std::string message =
      "waiting for the copies of " + missing + " on the target: created once they are there";
  co_await reportOnce(state, sync, source, kReasonSyncWaiting, kStatusSyncWaiting, message);
  co_return true;
}

void releaseDependents(SyncState& state, std::string_view resource, std::string_view targetKey) {
  const auto waiting = state.awaitingCopies.find(awaitedCopy(resource, targetKey));
  if (waiting == state.awaitingCopies.end()) return;
  // Each reconcile checks all of its dependencies again: one still missing re-registers it.
  for (const std::string& key : waiting->second) {
    if (!state.stopping) state.queue.add(key);
  }
  state.awaitingCopies.erase(waiting);
}

}  // namespace bisync::engine::internal
