// Kinds found by discovery: every kind to sync is looked up on both servers when the syncer
// starts, and the ones not served by both yet are looked up again every discoveryInterval, so
// that a CRD installed (or an aggregated API registered) after start-up is synced without a
// restart. docs/sync-engine.md ("Kinds and discovery").
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "policies/policy_loader.hpp"
#include "policies/sync_plan.hpp"
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

// The translator, policy and cache forms of a kind both servers serve, and its source informers
// (started). Target informers follow the namespaces the syncer owns (watchTargetNamespace).
ResourceSync& addResource(SyncState& state, const kube::ResourceInfo& source,
                          const kube::ResourceInfo& target) {
  const std::string key = resourceKey(source);
  ResourceSync& sync = state.resources[key];
  sync.key = key;
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

// The kinds of the policies with `crd: fromTarget`.
std::vector<kube::GroupVersionKind> crdsFromTarget(const SyncerOptions& options) {
  std::vector<kube::GroupVersionKind> kinds;
  for (const policies::SyncPolicy& policy : options.policies) {
    if (policy.crd == policies::CrdSource::FromTarget) kinds.push_back(policy.resource);
  }
  return kinds;
}

std::string lookupProblem(const kube::Error& error, std::string_view side) {
  if (error.isNotFound()) return "not served by the " + std::string(side) + " API server";
  return "discovery on the " + std::string(side) + " API server failed: " + error.describe();
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
  if (state.resources.contains(waiting.name)) co_return Lookup::Dropped;  // named twice
  const kube::Result<kube::ResourceInfo> target = co_await state.targetClient.discover(kind);
  waiting.servedByTarget = target.has_value();
  if (!target) {
    waiting.why = lookupProblem(target.error(), "target");
    co_return Lookup::Waiting;
  }
  for (const auto& [resource, side] : {std::pair{&*source, "source"}, {&*target, "target"}}) {
    if (const std::optional<std::string> missing = missingVerb(*resource, side)) {
      spdlog::error("not syncing {}: {}", waiting.name, *missing);
      co_return Lookup::Dropped;
    }
  }
  if (state.stopping) co_return Lookup::Waiting;
  ResourceSync& sync = addResource(state, *source, *target);
  if (waiting.crdMirror) sync.mirroredCrds = crdsFromTarget(state.options);
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
  if (crdsFromTarget(state.options).empty()) return false;
  if (!state.record) {
    spdlog::error(
        "crd: fromTarget is ignored in single namespace mode (the mirrors need the "
        "ownership record)");
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

asio::awaitable<void> rediscoverWhileWaiting(std::shared_ptr<SyncState> state) {
  while (!state->stopping && !state->waiting.empty()) {
    state->discoveryTimer.expires_after(state->options.discoveryInterval);
    co_await state->discoveryTimer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (state->stopping) break;
    co_await resolveWaiting(*state);
  }
}

}  // namespace bisync::engine::internal
