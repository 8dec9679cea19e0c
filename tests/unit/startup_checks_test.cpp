#include "syncer/startup_checks.hpp"

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "policies/policy.hpp"
#include "policies/policy_loader.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/temp_dir.hpp"
#include "translators/translator.hpp"

namespace {

using namespace bisync;
using bisync::kube::GroupVersionKind;
using bisync::policies::PolicyProblem;
using bisync::policies::SyncPolicy;
using bisync::unit::TempDir;

const GroupVersionKind kConfigMapKind{"", "v1", "ConfigMap"};
const GroupVersionKind kSecretKind{"", "v1", "Secret"};
const GroupVersionKind kDeploymentKind{"apps", "v1", "Deployment"};
const std::vector<GroupVersionKind> kKnownKinds{kConfigMapKind, kSecretKind};

std::vector<std::string> describeAll(const std::vector<PolicyProblem>& problems) {
  std::vector<std::string> lines;
  for (const PolicyProblem& problem : problems) lines.push_back(problem.describe());
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::ostringstream text;
  for (const std::string& line : lines) text << line << "\n";
  return text.str();
}

SyncPolicy policyFor(const GroupVersionKind& resource, const std::string& file, int line) {
  SyncPolicy policy;
  policy.resource = resource;
  policy.file = file;
  policy.line = line;
  return policy;
}

startup::ResourceDiscovery discovered(const SyncPolicy& policy, bool bySource, bool byTarget) {
  startup::ResourceDiscovery discovery;
  discovery.policy = &policy;
  discovery.servedBySource = bySource;
  discovery.servedByTarget = byTarget;
  return discovery;
}

const startup::ApiServers kServers{"https://source.example:6443", "https://target.example:6443"};

constexpr const char* kConfigMapPolicy =
    "apiVersion: kube-bisync.io/v1alpha1\n"
    "kind: SyncPolicy\n"
    "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
    "direction: down\n"
    "fields:\n"
    "  - path: /data\n"
    "    owner: source\n";

}  // namespace

TEST_CASE("without a policy directory the daemon runs with the built-in policy of every kind",
          "[startup]") {
  const policies::LoadedPolicies loaded = startup::loadPolicies(std::nullopt, kKnownKinds);
  INFO(join(describeAll(loaded.problems)));
  CHECK(loaded.problems.empty());
  CHECK(startup::describeSources(loaded.policies) ==
        "v1 ConfigMap from <built-in>/configmaps.yaml, v1 Secret from <built-in>/secrets.yaml");
}

TEST_CASE("a policy file replaces the built-in policy of its kind only", "[startup]") {
  TempDir dir("bisync-startup");
  const std::string file = dir.write("configmaps.yaml", kConfigMapPolicy);
  const policies::LoadedPolicies loaded = startup::loadPolicies(dir.path(), kKnownKinds);
  INFO(join(describeAll(loaded.problems)));
  CHECK(loaded.problems.empty());
  CHECK(startup::describeSources(loaded.policies) ==
        "v1 ConfigMap from " + file + ", v1 Secret from <built-in>/secrets.yaml");
}

TEST_CASE("policy problems of files and kinds come together, sorted by file and line",
          "[startup]") {
  TempDir dir("bisync-startup");
  const std::string deployments =
      dir.write("a-deployments.yaml",
                "apiVersion: kube-bisync.io/v1alpha1\n"
                "kind: SyncPolicy\n"
                "resource: {group: apps, version: v1, kind: Deployment}\n"
                "direction: down\n"
                "fields: []\n");
  const std::string configmaps = dir.write("b-configmaps.yaml",
                                           "apiVersion: kube-bisync.io/v1alpha1\n"
                                           "kind: SyncPolicy\n"
                                           "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
                                           "direction: sideways\n"
                                           "fields: []\n"
                                           "colour: blue\n");
  const policies::LoadedPolicies loaded = startup::loadPolicies(dir.path(), kKnownKinds);
  const std::vector<std::string> lines = describeAll(loaded.problems);
  INFO(join(lines));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind(deployments + ":3: ", 0) == 0);  // no translator for the kind
  CHECK(lines[1].rfind(configmaps + ":4: ", 0) == 0);   // unknown direction
  CHECK(lines[2].rfind(configmaps + ":6: ", 0) == 0);   // unknown key
}

TEST_CASE("the policies checked at start-up are those of the synced kinds, in their order",
          "[startup]") {
  const std::vector<SyncPolicy> all{policyFor(kConfigMapKind, "c.yaml", 3),
                                    policyFor(kSecretKind, "s.yaml", 4)};
  const std::vector<const SyncPolicy*> secretsFirst =
      startup::policiesOf(all, {kSecretKind, kConfigMapKind});
  REQUIRE(secretsFirst.size() == 2);
  CHECK(secretsFirst[0] == &all[1]);
  CHECK(secretsFirst[1] == &all[0]);
  const std::vector<const SyncPolicy*> configMapsOnly = startup::policiesOf(all, {kConfigMapKind});
  REQUIRE(configMapsOnly.size() == 1);
  CHECK(configMapsOnly[0] == &all[0]);
  CHECK(startup::policiesOf(all, {kDeploymentKind}).empty());
}

TEST_CASE("a resource type served by both API servers is no problem", "[startup]") {
  const SyncPolicy configMaps = policyFor(kConfigMapKind, "<built-in>/configmaps.yaml", 3);
  const SyncPolicy secrets = policyFor(kSecretKind, "<built-in>/secrets.yaml", 3);
  CHECK(startup::unservedResources(
            {discovered(configMaps, true, true), discovered(secrets, true, true)}, kServers)
            .empty());
  CHECK(startup::unservedResources({}, kServers).empty());
}

TEST_CASE(
    "a resource type one API server does not serve is a problem at the policy's resource "
    "line naming that server",
    "[startup]") {
  const SyncPolicy deployments = policyFor(kDeploymentKind, "policies/deployments.yaml", 3);
  const SyncPolicy configMaps = policyFor(kConfigMapKind, "policies/configmaps.yaml", 5);
  const SyncPolicy secrets = policyFor(kSecretKind, "<built-in>/secrets.yaml", 3);
  const std::vector<std::string> lines = describeAll(startup::unservedResources(
      {discovered(deployments, false, false), discovered(configMaps, true, true),
       discovered(secrets, true, false)},
      kServers));
  CHECK(lines ==
        std::vector<std::string>{
            "policies/deployments.yaml:3: resource apps/v1 Deployment is not served by the "
            "source API server (https://source.example:6443)",
            "policies/deployments.yaml:3: resource apps/v1 Deployment is not served by the "
            "target API server (https://target.example:6443)",
            "<built-in>/secrets.yaml:3: resource v1 Secret is not served by the target API "
            "server (https://target.example:6443)",
        });
}
