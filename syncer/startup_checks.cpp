#include "syncer/startup_checks.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace bisync::startup {

policies::LoadedPolicies loadPolicies(const std::optional<std::string>& dir,
                                      const std::vector<kube::GroupVersionKind>& knownKinds) {
  policies::LoadedPolicies loaded = policies::withDefaults(dir ? policies::loadPolicyDirectory(*dir)
                                                               : policies::LoadedPolicies{});
  for (policies::PolicyProblem& problem : policies::checkKinds(loaded.policies, knownKinds)) {
    loaded.problems.push_back(std::move(problem));
  }
  std::stable_sort(loaded.problems.begin(), loaded.problems.end(),
                   [](const policies::PolicyProblem& a, const policies::PolicyProblem& b) {
                     return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                   });
  return loaded;
}

std::vector<const policies::SyncPolicy*> policiesOf(
    const std::vector<policies::SyncPolicy>& policies,
    const std::vector<kube::GroupVersionKind>& syncedKinds) {
  std::vector<const policies::SyncPolicy*> found;
  for (const kube::GroupVersionKind& kind : syncedKinds) {
    auto policy = std::find_if(policies.begin(), policies.end(),
                               [&](const policies::SyncPolicy& p) { return p.resource == kind; });
    if (policy != policies.end()) found.push_back(&*policy);
  }
  return found;
}

std::vector<policies::PolicyProblem> unservedResources(
    const std::vector<ResourceDiscovery>& discoveries, const ApiServers& servers) {
  std::vector<policies::PolicyProblem> problems;
  auto unserved = [&](const policies::SyncPolicy& policy, const char* side,
                      const std::string& server) {
    problems.push_back({policy.file, policy.line,
                        "resource " + policies::describeResource(policy.resource) +
                            " is not served by the " + side + " API server (" + server + ")"});
  };
  for (const ResourceDiscovery& discovery : discoveries) {
    if (!discovery.servedBySource) unserved(*discovery.policy, "source", servers.source);
    if (!discovery.servedByTarget) unserved(*discovery.policy, "target", servers.target);
  }
  return problems;
}

std::string describeSources(const std::vector<policies::SyncPolicy>& policies) {
  std::string list;
  for (const policies::SyncPolicy& policy : policies) {
    list += (list.empty() ? "" : ", ") + policies::describeResource(policy.resource) + " from " +
            policy.file;
  }
  return list;
}

}  // namespace bisync::startup
