// Kinds found by discovery: every kind to sync is looked up on both servers when the syncer
// starts, and the ones not served by both yet are looked up again every discoveryInterval, so
// that a CRD installed (or an aggregated API registered) after start-up is synced without a
// restart. Every round also checks that both sides still serve the kinds that sync: one that
// went away (its CRD deleted, an aggregated API unregistered) is stopped without deleting
// anything, waits like a kind not served yet, and resumes the same way when it returns.
// docs/sync-engine.md ("Kinds and discovery").
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "policies/policy_loader.hpp"
#include "policies/sync_plan.hpp"
#include "syncer/engine/finalizer.hpp"
#include "syncer/engine/internal/node_mirror.hpp"
#include "syncer/engine/internal/sync_state.hpp"
#include "translators/generic/generic_translator.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;

std::string resourceKey(const kube::ResourceInfo& resource) {
  return resource.group.empty() ? resource.resource : resource.resource + "." + resource.group;
}

std::string provisionalKey(const kube::ResourceSpec& spec) {
  std::string plural = spec.resource;
  if (spec.byKind()) {
    plural = spec.kind;
    std::transform(plural.begin(), plural.end(), plural.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool vowelBeforeY =
        plural.size() > 1 &&
        std::string_view("aeiou").find(plural[plural.size() - 2]) != std::string_view::npos;
    if (plural.ends_with("s")) {
      plural += "es";
    } else if (plural.ends_with("y") && !vowelBeforeY) {
      plural.back() = 'i';
      plural += "es";
    } else {
      plural += "s";
    }
  }
  return spec.group.empty() ? plural : plural + "." + spec.group;
}

namespace {

// What the engine does with a kind: watch it, and create, apply and delete its objects.
constexpr std::array<std::string_view, 6> kNeededVerbs = {"get",    "list",  "watch",
                                                          "create", "patch", "delete"};

// The policy of `kind`: from the options (a policy file or a built-in default), else the
// generic policy.
policies::SyncPolicy policyFor(const SyncerOptions& options, const kube::GroupVersionKind& kind) {
  for (const policies::SyncPolicy& policy : options.policies) {
    if (policy.resource == kind) return policy;
  }
  return policies::genericPolicy(kind);
}

std::optional<std::string> missingVerb(const kube::ResourceInfo& resource, std::string_view side) {
  for (const std::string_view verb : kNeededVerbs) {
    if (!resource.serves(verb)) {
      return "the " + std::string(side) + " API server does not allow " + std::string(verb) +
             " on it";
    }
  }
  return std::nullopt;
}

// Whether each side serves a kind through a CustomResourceDefinition.
struct CrdBacking {
  bool source = false;
  bool target = false;
};

// The first source informer of `sync` that has not listed yet; nullptr when all have.
kube::Informer* unlistedSourceInformer(const ResourceSync& sync) {
  for (const auto& [ns, informer] : sync.source) {
    if (!informer->hasSynced()) return informer.get();
  }
  return nullptr;
}

// Waits until the source informers of kind `key` have listed, then queues the keys admitKey held
// meanwhile. The kind may be suspended (then nothing is queued: it relists when it resumes) or
// resumed with new informers meanwhile: it is looked up again after every wait.
asio::awaitable<void> releaseWhenListed(std::weak_ptr<SyncState> weak, std::string key) {
  for (;;) {
    kube::Informer* pending = nullptr;
    {
      const std::shared_ptr<SyncState> state = weak.lock();
      if (!state || state->stopping) co_return;
      const auto it = state->resources.find(key);
      if (it == state->resources.end() || it->second.suspended) co_return;
      pending = unlistedSourceInformer(it->second);
      if (pending == nullptr) {
        const std::set<std::string> held = std::move(it->second.heldKeys);
        it->second.heldKeys.clear();
        for (const std::string& text : held) state->queue.add(text);
        co_return;
      }
    }
    co_await pending->waitForSync();  // also completes when the informer is stopped
  }
}

// Takes our finalizer off every source object of `resource` in the synced namespaces (a kind
// whose source CRD is being deleted: see suspendKind). Failures are logged; the CRD's deletion
// then waits for `--remove-finalizers` or the kind's next run.
asio::awaitable<void> releaseFinalizers(std::weak_ptr<SyncState> weak,
                                        kube::ResourceInfo resource) {
  const std::shared_ptr<SyncState> state = weak.lock();
  if (!state || state->stopping) co_return;
  const std::function<bool(std::string_view)> selects = [&state](std::string_view ns) {
    return state->options.namespaces.selects(ns);
  };
  const std::string finalizer(kCleanupFinalizer);
  const kube::Result<FinalizerSweep> sweep = co_await removeFinalizerFromAll(
      state->sourceClient, resource, selects, finalizer, state->options.fieldManager);
  if (!sweep) {
    spdlog::warn("cannot take finalizer {} off the {} of a withdrawn kind: {}", finalizer,
                 resource.resource, sweep.error().describe());
    co_return;
  }
  state->stats.source.patches += sweep->removed;
  for (const std::string& failure : sweep->failures) {
    spdlog::warn("cannot take finalizer {} off {} {}", finalizer, resource.resource, failure);
  }
  spdlog::info("{}: its source CRD is being deleted: finalizer {} taken off {} objects",
               resource.resource, finalizer, sweep->removed);
}

// Forgets what describes the caches of `sync`, which are gone (a stop) or are made afresh (a
// resume): the resumed kind starts from a full relist, which queues every key.
void forgetCaches(SyncState& state, ResourceSync& sync) {
  sync.heldKeys.clear();
  sync.misplacedCopies.clear();
  sync.pendingWrites.clear();
  sync.pendingSourceWrites.clear();
  sync.fights.clear();
  sync.immutableRefusals.clear();
  sync.hostPodsGone.clear();
  // Objects over a limit are judged again when the kind resumes (its relist queues them).
  for (const auto& [ns, names] : sync.overLimit) state.stats.objectsOverLimit -= names.size();
  sync.overLimit.clear();
  sync.sourceCounts.clear();
}

// The translator, policy and cache forms of a kind both servers serve, and its source informers
// (started). Target informers follow the namespaces the syncer owns (watchTargetNamespace). A
// suspended kind of the same key is made afresh in place (its entry is never erased).
ResourceSync& addResource(SyncState& state, const WaitingResource& waiting,
                          const kube::ResourceInfo& source, const kube::ResourceInfo& target,
                          CrdBacking crds) {
  const std::string key = resourceKey(source);
  ResourceSync& sync = state.resources[key];
  // What reconciles of a stopped kind recorded after its stop: a pending write of theirs would
  // have the fresh list's event of that object taken for our own, and its key never queued.
  forgetCaches(state, sync);
  sync.key = key;
  sync.spec = waiting.spec;
  sync.crdMirror = waiting.crdMirror;
  sync.suspended = false;
  sync.sourceCrd = crds.source;
  sync.targetCrd = crds.target;
  sync.sourceResource = source;
  const kube::GroupVersionKind kind{target.group, target.version, target.kind};
  sync.translator = state.registry.findByKind(kind);
  if (sync.translator == nullptr) {
    sync.ownTranslator = std::make_unique<translators::GenericTranslator>(target);
    sync.translator = sync.ownTranslator.get();
  }
  sync.policy = policyFor(state.options, kind);
  sync.ownership.emplace(sync.policy.fields);
  sync.sharedFields = policies::hasSharedFields(*sync.ownership);
  if (sync.translator->holdsSecrets()) {
    sync.baseForm = [](const kube::JsonValue& value) { return mapping::contentHash(value); };
  }
  sync.createsOnSource = sync.policy.createOnSource &&
                         sync.policy.direction != policies::Direction::Down &&
                         sync.policy.direction != policies::Direction::None &&
                         state.mapper.config().mode == mapping::NamespaceMode::Prefix;
  if (sync.policy.createOnSource && !sync.createsOnSource) {
    // A single-mode target namespace does not say which source namespace an object is for.
    spdlog::warn("{}: the policy's createOnSource is ignored in single namespace mode", key);
  }
  sync.forms = CacheForms{&state.mapper, &*sync.ownership, sync.sharedFields, sync.createsOnSource};
  sync.clusterScoped = !source.namespaced;
  std::vector<std::string> namespaces = state.options.namespaces.names;
  if (namespaces.empty() || sync.clusterScoped) namespaces = {""};  // one for all namespaces
  for (const std::string& ns : namespaces) {
    std::unique_ptr<kube::Informer>& informer = sync.source[ns];
    informer = state.makeSourceInformer(sync, ns);
    informer->start();
  }
  if (sync.clusterScoped) {
    std::unique_ptr<kube::Informer>& informer = sync.targets[""];
    informer = state.makeTargetInformer(sync, "");
    informer->start();
  }
  asio::co_spawn(state.sourceClient.ioContext(), releaseWhenListed(state.weak_from_this(), key),
                 asio::detached);
  if (syncsPods(sync)) state.nodeMirror->enable();  // their host Nodes are shown
  return sync;
}

// Why a cluster-scoped kind cannot be synced as its policy says, if it cannot: `direction: up`
// (mirrors in the source) or, asked for by a policy file (never by default: host-wide names),
// `direction: down` (copies named <cluster>-<name> on the target); only in prefix mode, whose
// ownership record proves which mirrors and copies are ours.
std::optional<std::string> clusterScopeProblem(const SyncState& state,
                                               const kube::ResourceInfo& resource,
                                               const kube::GroupVersionKind& kind) {
  if (resource.namespaced) return std::nullopt;
  const policies::SyncPolicy policy = policyFor(state.options, kind);
  const bool fromFile = !policy.file.starts_with("<built-in>/");
  const bool down = policy.direction == policies::Direction::Down && fromFile;
  if (policy.direction != policies::Direction::Up && !down) {
    return "a cluster-scoped kind syncs only with a policy file of direction up (mirrors of the "
           "target's objects in the source) or down (copies named <cluster>-<name> on the "
           "target)";
  }
  if (!state.record) return "a cluster-scoped kind needs --namespace-mode prefix";
  return std::nullopt;
}

// The kinds of the policies with `crd: <from>`.
std::vector<kube::GroupVersionKind> crdsFrom(const SyncerOptions& options,
                                             policies::CrdSource from) {
  std::vector<kube::GroupVersionKind> kinds;
  for (const policies::SyncPolicy& policy : options.policies) {
    if (policy.crd == from) kinds.push_back(policy.resource);
  }
  return kinds;
}

std::string lookupProblem(const kube::Error& error, std::string_view side) {
  if (error.isNotFound()) return "not served by the " + std::string(side) + " API server";
  return "discovery on the " + std::string(side) + " API server failed: " + error.describe();
}

kube::ResourceInfo crdResource() {
  return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          false};
}

struct CrdLookup {
  kube::CrdState state = kube::CrdState::Absent;
  std::string error;  // why it is Unreadable
  // Whether the kind is served through this CRD (one that is being deleted is not counted).
  bool backs() const {
    return state == kube::CrdState::Serving || state == kube::CrdState::NotServing;
  }
};

// The CRD through which `client` serves `resource`, if any. Only a group with a dot can be a
// CRD's, so the built-in groups cost no request.
asio::awaitable<CrdLookup> crdOf(kube::Client& client, const kube::ResourceInfo& resource) {
  if (resource.group.find('.') == std::string::npos) co_return CrdLookup{};
  const kube::ResourceInfo crds = crdResource();
  const std::string name = resourceKey(resource);
  const std::string_view clusterWide;
  const kube::Result<kube::Json> crd = co_await client.get(crds, clusterWide, name);
  if (!crd && crd.error().isNotFound()) co_return CrdLookup{};
  if (!crd) co_return CrdLookup{kube::CrdState::Unreadable, crd.error().describe()};
  co_return CrdLookup{kube::crdStateOf(*crd, resource.version), ""};
}

// Whether `client` serves `resource` now, by a fresh discovery and, for a kind served through a
// CRD, by that CRD (which discovery keeps listing while the CRD is being deleted).
asio::awaitable<kube::Presence> presenceOn(kube::Client& client, const kube::ResourceInfo& resource,
                                           bool crdBacked) {
  const kube::GroupVersionKind kind{resource.group, resource.version, resource.kind};
  const kube::Result<kube::ResourceInfo> found = co_await client.discover(kind);
  if (!found && !found.error().isNotFound()) co_return kube::Presence::Unknown;
  if (!crdBacked) co_return found ? kube::Presence::Served : kube::Presence::NotServed;
  const CrdLookup crd = co_await crdOf(client, resource);
  co_return found ? kube::presenceByCrd(crd.state) : kube::presenceUndiscovered(crd.state);
}

// The CRDs of a kind both sides serve; false (with the reason in waiting.why) while one of them
// is being deleted: the kind must not start before the deletion has run its course. A CRD that
// cannot be read (no permission) only costs the early stop on its deletion (admitKey).
asio::awaitable<bool> readCrds(SyncState& state, WaitingResource& waiting,
                               const kube::ResourceInfo& source, const kube::ResourceInfo& target,
                               CrdBacking& backing) {
  const CrdLookup onSource = co_await crdOf(state.sourceClient, source);
  const CrdLookup onTarget = co_await crdOf(state.targetClient, target);
  for (const auto& [crd, side] : {std::pair{&onSource, "source"}, {&onTarget, "target"}}) {
    if (crd->state == kube::CrdState::Unreadable) {
      spdlog::warn(
          "{}: its CRD on the {} API server cannot be read ({}): only discovery will "
          "notice its deletion there",
          waiting.name, side, crd->error);
    }
  }
  const auto served = [](const CrdLookup& crd) {
    return crd.state == kube::CrdState::Withdrawing ? kube::Presence::Withdrawn
                                                    : kube::Presence::Served;
  };
  if (const auto why = kube::whyKindGone(served(onSource), served(onTarget))) {
    waiting.why = *why;
    waiting.servedBySource = onSource.state != kube::CrdState::Withdrawing;
    waiting.servedByTarget = onTarget.state != kube::CrdState::Withdrawing;
    co_return false;
  }
  backing = {onSource.backs(), onTarget.backs()};
  co_return true;
}

enum class Lookup { Added, Waiting, Dropped };

// Looks `waiting` up on both servers; adds the kind when both serve it as the engine needs.
asio::awaitable<Lookup> lookUp(SyncState& state, WaitingResource& waiting) {
  const kube::Result<kube::ResourceInfo> source = co_await state.sourceClient.resolve(waiting.spec);
  waiting.servedBySource = source.has_value();
  if (!source) {
    waiting.why = lookupProblem(source.error(), "source");
    co_return Lookup::Waiting;
  }
  waiting.name = resourceKey(*source);
  const kube::GroupVersionKind kind{source->group, source->version, source->kind};
  if (waiting.crdMirror) {
    // Not a synced kind but the syncer's own mirror of CRDs: no policy, no refusal.
  } else if (const std::optional<std::string> refused = translators::genericRefusal(kind)) {
    spdlog::error("not syncing {} ({}): {}", waiting.name, waiting.spec.text, *refused);
    co_return Lookup::Dropped;
  }
  if (const std::optional<std::string> unfit =
          waiting.crdMirror ? std::nullopt : clusterScopeProblem(state, *source, kind)) {
    spdlog::error("not syncing {}: {}", waiting.name, *unfit);
    co_return Lookup::Dropped;
  }
  if (const auto it = state.resources.find(waiting.name);
      it != state.resources.end() && !it->second.suspended) {
    co_return Lookup::Dropped;  // named twice
  }
  const kube::Result<kube::ResourceInfo> target = co_await state.targetClient.discover(kind);
  waiting.servedByTarget = target.has_value();
  if (!target) {
    waiting.why = lookupProblem(target.error(), "target");
    co_return Lookup::Waiting;
  }
  // First: a CRD being deleted serves its kind without `create` until it is gone (and its objects
  // wait for their finalizers meanwhile); that is a wait, not a kind unfit to sync.
  CrdBacking crds;
  if (!co_await readCrds(state, waiting, *source, *target, crds)) {
    // Deleted while the syncer was down (or before the kind resumed): its objects wait for our
    // finalizer, which no reconcile of a waiting kind takes off.
    if (!waiting.servedBySource && source->namespaced) {
      asio::co_spawn(state.sourceClient.ioContext(),
                     releaseFinalizers(state.weak_from_this(), *source), asio::detached);
    }
    co_return Lookup::Waiting;
  }
  for (const auto& [resource, side] : {std::pair{&*source, "source"}, {&*target, "target"}}) {
    if (const std::optional<std::string> missing = missingVerb(*resource, side)) {
      spdlog::error("not syncing {}: {}", waiting.name, *missing);
      co_return Lookup::Dropped;
    }
  }
  if (state.stopping) co_return Lookup::Waiting;
  if (const auto stopped = state.resources.find(waiting.name);
      stopped != state.resources.end() && stopped->second.reconcilesInFlight > 0) {
    // Begun before the stop, they may still write and record pending writes, which the fresh
    // caches must not inherit.
    waiting.why = "reconciles begun before the stop are still running";
    co_return Lookup::Waiting;
  }
  ResourceSync& sync = addResource(state, waiting, *source, *target, crds);
  if (waiting.crdMirror) {
    sync.mirroredCrds = crdsFrom(state.options, policies::CrdSource::FromTarget);
    sync.copiedCrds = crdsFrom(state.options, policies::CrdSource::FromSource);
  }
  spdlog::info("syncing {} ({}/{} {}; status subresource: source {}, target {})", waiting.name,
               source->apiVersion(), source->kind, source->namespaced ? "namespaced" : "cluster",
               source->statusSubresource ? "yes" : "no", target->statusSubresource ? "yes" : "no");
  if (state.targetsWatched) {
    for (const std::string& ns : ownedTargetNamespaces(state)) watchTargetNamespace(state, ns);
  }
  co_return Lookup::Added;
}

}  // namespace

bool mirrorsCrds(const SyncState& state) {
  if (crdsFrom(state.options, policies::CrdSource::FromTarget).empty() &&
      crdsFrom(state.options, policies::CrdSource::FromSource).empty()) {
    return false;
  }
  if (!state.record) {
    spdlog::error(
        "crd: fromTarget and fromSource are ignored in single namespace mode (the copies need "
        "the ownership record)");
    return false;
  }
  return true;
}

asio::awaitable<void> resolveWaiting(SyncState& state) {
  // A CRD created since the last round is only in a fresh discovery document.
  state.sourceClient.forgetDiscovery();
  state.targetClient.forgetDiscovery();
  // Only this coroutine changes the list (one round at a time), so its entries stay put while
  // a lookup waits for the servers.
  for (std::size_t i = 0; i < state.waiting.size();) {
    WaitingResource& waiting = state.waiting[i];
    const std::string before = waiting.why;
    if (co_await lookUp(state, waiting) != Lookup::Waiting) {
      state.waiting.erase(state.waiting.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (waiting.why != before) {
      const auto interval =
          std::chrono::duration_cast<std::chrono::seconds>(state.options.discoveryInterval);
      spdlog::info("waiting for {}: {}; looked up again every {} s", waiting.spec.text, waiting.why,
                   interval.count());
    }
    ++i;
  }
}

asio::awaitable<void> rediscover(std::shared_ptr<SyncState> state) {
  while (!state->stopping) {
    state->discoveryTimer.expires_after(state->options.discoveryInterval);
    co_await state->discoveryTimer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (state->stopping) break;
    co_await resolveWaiting(*state);  // drops the discovery caches: both rounds see fresh ones
    if (state->stopping) break;
    co_await checkRunningKinds(*state);
  }
}

asio::awaitable<void> checkRunningKinds(SyncState& state) {
  std::vector<std::string> running;
  for (const auto& [key, sync] : state.resources) {
    if (!sync.suspended) running.push_back(key);
  }
  for (const std::string& key : running) {
    // Entries are never erased, but one may be suspended (admitKey) while a lookup waits.
    ResourceSync& sync = state.resources.find(key)->second;
    const kube::ResourceInfo source = sync.sourceResource;
    const kube::ResourceInfo target = sync.translator->resource();
    const bool sourceCrd = sync.sourceCrd;
    const bool targetCrd = sync.targetCrd;
    const kube::Presence onSource = co_await presenceOn(state.sourceClient, source, sourceCrd);
    const kube::Presence onTarget = co_await presenceOn(state.targetClient, target, targetCrd);
    if (state.stopping || sync.suspended) continue;
    if (const std::optional<std::string> why = kube::whyKindGone(onSource, onTarget)) {
      suspendKind(state, sync, onSource, onTarget, *why);
    }
  }
}

void suspendKind(SyncState& state, ResourceSync& sync, kube::Presence onSource,
                 kube::Presence onTarget, const std::string& why) {
  const bool servedBySource = onSource == kube::Presence::Served;
  const bool servedByTarget = onTarget == kube::Presence::Served;
  if (sync.suspended) return;
  sync.suspended = true;
  // Stopped on the loop thread, an informer calls no handler any more; its loop ends on its own.
  for (auto& [ns, informer] : sync.source) informer->stop();
  for (auto& [ns, informer] : sync.targets) informer->stop();
  sync.source.clear();
  sync.targets.clear();
  forgetCaches(state, sync);
  state.waiting.push_back(
      {sync.spec, sync.key, servedBySource, servedByTarget, why, sync.crdMirror});
  // The source's CRD is being deleted: its objects wait for their finalizers, and ours is never
  // taken off by a suspended kind's reconcile. The copies stay (a CRD's deletion is not the
  // user's deletion of each object); the finalizers go, so that the deletion can finish. Only
  // then: a kind not served for another reason (a version switched off, a server that answered
  // 404 while starting) keeps its objects, and their deletion must still clean up.
  if (onSource == kube::Presence::Withdrawn && sync.sourceCrd && !sync.clusterScoped) {
    asio::co_spawn(state.sourceClient.ioContext(),
                   releaseFinalizers(state.weak_from_this(), sync.sourceResource), asio::detached);
  }
  const auto interval =
      std::chrono::duration_cast<std::chrono::seconds>(state.options.discoveryInterval);
  spdlog::warn(
      "stopped syncing {}: {}; nothing of it is written or deleted until both API servers serve "
      "it again (looked up every {} s)",
      sync.key, why, interval.count());
}

namespace {

// The object of `key` as each side's cache holds it (the copy at the mapper's key on the
// target; for a cluster-scoped kind, the object of that name).
kube::CachedObjectPtr cachedSource(const ResourceSync& sync, const SyncKey& key) {
  return sync.sourceObject(key.ns, key.name);
}

kube::CachedObjectPtr cachedTarget(const SyncState& state, const ResourceSync& sync,
                                   const SyncKey& key) {
  if (sync.clusterScoped) {
    const kube::Informer* informer = sync.targetInformer("");
    return informer != nullptr ? informer->store().get(key.name) : nullptr;
  }
  const mapping::TargetKey target =
      state.mapper.toTarget(mapping::SourceKey{key.ns, key.name}, sync.translator->nameLimit());
  return sync.targetObject(kube::objectKey(target.ns, target.name));
}

struct SidePresence {
  kube::Presence source = kube::Presence::Served;
  kube::Presence target = kube::Presence::Served;
};

// Whether the reconcile of `key` may act on its object's absence from a side: not when that side
// serves the kind through a CRD that is gone or being deleted (Withdrawn, NotServed), since the
// absence is then the CRD's doing, not a user's. Absence from the target matters only where it
// deletes on the source (copies made up from the target, and mirrors of a cluster-scoped kind).
asio::awaitable<SidePresence> presenceBeneath(SyncState& state, ResourceSync& sync,
                                              const SyncKey& key) {
  SidePresence presence;
  const kube::ResourceInfo source = sync.sourceResource;
  const kube::ResourceInfo target = sync.translator->resource();
  // (A copy of a cluster-scoped kind synced down is at another name, and its absence only
  // makes the syncer create it again: nothing to guard.)
  const bool targetDeletesOnSource =
      sync.createsOnSource || (sync.clusterScoped && !sync.copiesClusterScopedDown());
  const bool checkTarget =
      sync.targetCrd && targetDeletesOnSource && !cachedTarget(state, sync, key);
  // A source object that is terminating may be the CRD's deletion at work too (our finalizer
  // keeps it in the cache until released).
  const kube::CachedObjectPtr cached = cachedSource(sync, key);
  if (sync.sourceCrd && (!cached || isTerminating(cached->parse()))) {
    const CrdLookup crd = co_await crdOf(state.sourceClient, source);
    presence.source = kube::presenceByCrd(crd.state);
  }
  if (checkTarget) {
    const CrdLookup crd = co_await crdOf(state.targetClient, target);
    presence.target = kube::presenceByCrd(crd.state);
  }
  co_return presence;
}

}  // namespace

asio::awaitable<bool> admitKey(SyncState& state, const SyncKey& key) {
  if (key.isNamespace()) co_return true;
  const auto it = state.resources.find(key.resource);
  if (it == state.resources.end()) co_return true;  // the reconcile drops it
  ResourceSync& sync = it->second;
  if (sync.suspended) co_return false;
  if (unlistedSourceInformer(sync) != nullptr) {
    sync.heldKeys.insert(key.str());  // releaseWhenListed queues it again
    co_return false;
  }
  const SidePresence presence = co_await presenceBeneath(state, sync, key);
  const std::optional<std::string> why = kube::whyKindGone(presence.source, presence.target);
  if (!why) co_return !sync.suspended;  // suspended meanwhile by another key
  suspendKind(state, sync, presence.source, presence.target, *why);
  co_return false;
}

}  // namespace bisync::engine::internal
