// Start-up checks of the daemon's SyncPolicies, shared by `--validate-policies DIR` and
// `--policies DIR`: which policies the daemon runs with, and which of the synced resource types
// an API server does not serve. Every problem is a policies::PolicyProblem, printed as
// `file:line: reason`; the daemon exits 2 when there is any.
//
// loadPolicies reads the policy directory; everything else is pure. Asking the API servers
// (kube::Client::discover) is main.cpp's part: it hands the answers to unservedResources.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policies/policy.hpp"
#include "policies/policy_loader.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::startup {

// The policies of `dir` plus the built-in policy of every kind no file there covers (only the
// built-in ones without `dir`), and every problem: those of the files, and a policy for a kind
// outside `knownKinds` (the translators' kinds). Problems are sorted by file, then line.
policies::LoadedPolicies loadPolicies(const std::optional<std::string>& dir,
                                      const std::vector<kube::GroupVersionKind>& knownKinds);

// The policy of each of `syncedKinds`, in that order. A kind without a policy is left out (the
// engine then uses its built-in default, which loadPolicies always adds).
std::vector<const policies::SyncPolicy*> policiesOf(
    const std::vector<policies::SyncPolicy>& policies,
    const std::vector<kube::GroupVersionKind>& syncedKinds);

// What discovery said about one policy's resource type on each API server.
struct ResourceDiscovery {
  const policies::SyncPolicy* policy = nullptr;  // not null
  bool servedBySource = false;
  bool servedByTarget = false;
};

// The API servers, by URL, as messages name them.
struct ApiServers {
  std::string source;
  std::string target;
};

// A problem, at the policy's `resource:` line, for each side that does not serve the policy's
// resource type: "resource v1 ConfigMap is not served by the target API server (<URL>)". In
// the order of `discoveries`, source before target.
std::vector<policies::PolicyProblem> unservedResources(
    const std::vector<ResourceDiscovery>& discoveries, const ApiServers& servers);

// "v1 ConfigMap from ./policies/configmaps.yaml, v1 Secret from <built-in>/secrets.yaml".
std::string describeSources(const std::vector<policies::SyncPolicy>& policies);

}  // namespace bisync::startup
