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
#include "translators/generic/generic_translator.hpp"
#include "translators/translator.hpp"

namespace {

using namespace bisync;
using bisync::kube::GroupVersionKind;
using bisync::policies::PolicyProblem;
using bisync::policies::SyncPolicy;
using bisync::unit::TempDir;

const GroupVersionKind kConfigMapKind{"", "v1", "ConfigMap"};
const GroupVersionKind kSecretKind{"", "v1", "Secret"};

// The daemon's refusal of kinds (a function, for the loader's std::function).
std::optional<std::string> refusal(const GroupVersionKind& kind) {
  return translators::genericRefusal(kind);
}

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
  const policies::LoadedPolicies loaded = startup::loadPolicies(std::nullopt, refusal);
  INFO(join(describeAll(loaded.problems)));
  CHECK(loaded.problems.empty());
  CHECK(startup::describeSources(loaded.policies) ==
        "v1 ConfigMap from <built-in>/configmaps.yaml, v1 Pod from <built-in>/pods.yaml, v1 Secret "
        "from <built-in>/secrets.yaml");
}

TEST_CASE("a policy file replaces the built-in policy of its kind only", "[startup]") {
  TempDir dir("bisync-startup");
  const std::string file = dir.write("configmaps.yaml", kConfigMapPolicy);
  const policies::LoadedPolicies loaded = startup::loadPolicies(dir.path(), refusal);
  INFO(join(describeAll(loaded.problems)));
  CHECK(loaded.problems.empty());
  CHECK(startup::describeSources(loaded.policies) ==
        "v1 ConfigMap from " + file +
            ", v1 Pod from <built-in>/pods.yaml, v1 Secret from <built-in>/secrets.yaml");
}

TEST_CASE("policy problems of files and kinds come together, sorted by file and line",
          "[startup]") {
  TempDir dir("bisync-startup");
  const std::string nodes = dir.write("a-nodes.yaml",
                                      "apiVersion: kube-bisync.io/v1alpha1\n"
                                      "kind: SyncPolicy\n"
                                      "resource: {group: \"\", version: v1, kind: Node}\n"
                                      "direction: down\n"
                                      "fields: []\n");
  const std::string configmaps = dir.write("b-configmaps.yaml",
                                           "apiVersion: kube-bisync.io/v1alpha1\n"
                                           "kind: SyncPolicy\n"
                                           "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
                                           "direction: sideways\n"
                                           "fields: []\n"
                                           "colour: blue\n");
  const policies::LoadedPolicies loaded = startup::loadPolicies(dir.path(), refusal);
  const std::vector<std::string> lines = describeAll(loaded.problems);
  INFO(join(lines));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind(nodes + ":3: kube-bisync cannot sync v1 Node: ", 0) == 0);  // refused kind
  CHECK(lines[1].rfind(configmaps + ":4: ", 0) == 0);  // unknown direction
  CHECK(lines[2].rfind(configmaps + ":6: ", 0) == 0);  // unknown key
}

namespace {

std::string refusal(const kube::Result<void>& checked) {
  return checked ? std::string("(accepted)") : checked.error().describe();
}

std::string normalised(const std::string& url) {
  const kube::Result<startup::ServerAddress> address = startup::parseServerUrl(url);
  return address ? address->url() : "refused: " + address.error().describe();
}

kube::RestConfig restConfig(const std::string& server, const std::string& contextNamespace = "") {
  kube::RestConfig config;
  config.server = server;
  config.contextNamespace = contextNamespace;
  config.origin = "kubeconfig /etc/target.kubeconfig, context host";
  return config;
}

}  // namespace

TEST_CASE(
    "each side needs its kubeconfig flag or its in-cluster flag, not both, and a context only "
    "with a kubeconfig",
    "[startup]") {
  CHECK(startup::checkSideFlags({"source", "/etc/virtual.kubeconfig", false, ""}));
  CHECK(startup::checkSideFlags({"source", "/etc/virtual.kubeconfig", false, "tenant"}));
  CHECK(startup::checkSideFlags({"target", "", true, ""}));
  CHECK(refusal(startup::checkSideFlags({"source", "", false, ""})) ==
        "source: --source-kubeconfig FILE or --source-in-cluster is required (KUBECONFIG and "
        "~/.kube/config are not read)");
  CHECK(refusal(startup::checkSideFlags({"target", "/etc/host.kubeconfig", true, ""})) ==
        "target: --target-kubeconfig and --target-in-cluster exclude each other");
  CHECK(refusal(startup::checkSideFlags({"target", "", true, "admin"})) ==
        "target: --target-context needs --target-kubeconfig (an in-cluster config has no "
        "contexts)");
}

TEST_CASE(
    "a server URL is normalised: scheme and host in lower case, the default port, no trailing "
    "slash or dot, no user info, query or fragment",
    "[startup]") {
  CHECK(normalised("https://127.0.0.1:6443") == "https://127.0.0.1:6443");
  CHECK(normalised("HTTPS://API.Example.COM/") == "https://api.example.com:443");
  CHECK(normalised("https://api.example.com.:443//") == "https://api.example.com:443");
  CHECK(normalised("http://api.example.com") == "http://api.example.com:80");
  CHECK(normalised("https://[FD00::1]:6443/") == "https://[fd00::1]:6443");
  CHECK(normalised("https://[::1]") == "https://[::1]:443");
  CHECK(normalised("https://user:secret@api.example.com:6443/k8s/clusters/c-1/?x=1#top") ==
        "https://api.example.com:6443/k8s/clusters/c-1");
  for (const char* bad : {"127.0.0.1:6443", "ftp://api.example.com", "https://", "https://:6443",
                          "https://api.example.com:0", "https://api.example.com:65536",
                          "https://api.example.com:64x", "https://[::1", "https://[::1]x:1"}) {
    INFO(bad);
    CHECK_THAT(normalised(bad), Catch::StartsWith("refused: " + std::string(bad) + ": "));
  }
}

TEST_CASE("source and target URLs that name the same server are refused, naming both",
          "[startup]") {
  CHECK(startup::checkServers({"https://10.0.0.1:6443", "https://10.0.0.2:6443"}, false));
  CHECK(startup::checkServers({"https://api:6443", "https://api:6444"}, false));
  // A proxy path in front of each cluster (Rancher, for example) makes them two clusters.
  CHECK(startup::checkServers({"https://rancher/k8s/clusters/a", "https://rancher/k8s/clusters/b"},
                              false));
  CHECK(refusal(startup::checkServers({"https://API.example.com/", "https://api.example.com:443"},
                                      false)) ==
        "source and target are the same cluster: source (https://API.example.com/) and target "
        "(https://api.example.com:443) both name the API server https://api.example.com:443; "
        "kube-bisync would sync the cluster into itself");
  // One host and port is one server whatever scheme the URL claims.
  CHECK_THAT(refusal(startup::checkServers({"http://api:6443", "https://api:6443"}, true)),
             Catch::StartsWith("source and target are the same cluster"));
}

TEST_CASE("a plain HTTP server is refused unless --allow-insecure-http, naming the side and URL",
          "[startup]") {
  CHECK(refusal(startup::checkServers({"https://virtual:6443", "http://host:8080"}, false)) ==
        "target: server http://host:8080 is plain HTTP: credentials and objects would cross the "
        "network unencrypted; use https, or pass --allow-insecure-http (for local tests)");
  CHECK(startup::checkServers({"https://virtual:6443", "http://host:8080"}, true));
  CHECK(refusal(startup::checkServers({"virtual:6443", "https://host"}, true)) ==
        "source: server \"virtual:6443\" cannot be used: not an https:// (or http://) URL");
  CHECK(startup::connectionWarnings("target", restConfig("http://host:8080")) ==
        std::vector<std::string>{"target: plain HTTP to http://host:8080 (--allow-insecure-http): "
                                 "credentials and objects cross the network unencrypted"});
}

TEST_CASE("insecure-skip-tls-verify is warned about, naming the side and the kubeconfig",
          "[startup]") {
  kube::RestConfig config = restConfig("https://host:6443");
  CHECK(startup::connectionWarnings("target", config).empty());
  config.insecureSkipTlsVerify = true;
  const std::vector<std::string> warnings = startup::connectionWarnings("target", config);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] ==
        "target: insecure-skip-tls-verify is set (kubeconfig /etc/target.kubeconfig, context "
        "host): the API server's certificate is not checked, so anyone on the network path can "
        "pose as https://host:6443 and receive the credentials");
}

TEST_CASE("API servers that report the same kube-system uid are one cluster and refused",
          "[startup]") {
  const startup::ClusterIdentity source{"https://127.0.0.1:6443", "uid-a"};
  CHECK(startup::checkDistinctClusters(source, {"https://127.0.0.1:7443", "uid-b"}));
  CHECK(refusal(startup::checkDistinctClusters(source, {"https://localhost:6443", "uid-a"})) ==
        "source and target are the same cluster: the API servers https://127.0.0.1:6443 (source) "
        "and https://localhost:6443 (target) report the same kube-system namespace (uid uid-a); "
        "kube-bisync would sync the cluster into itself");
}

TEST_CASE(
    "the state namespace is --state-namespace, else the target context's namespace, else "
    "default, and must be a DNS label",
    "[startup]") {
  const auto chosen = [](const std::optional<std::string>& flag, const kube::RestConfig& target) {
    const kube::Result<startup::StateNamespace> state = startup::chooseStateNamespace(flag, target);
    return state ? state->name + " (" + state->from + ")" : "refused: " + state.error().describe();
  };
  CHECK(chosen("bisync-state", restConfig("https://host", "ops")) ==
        "bisync-state (--state-namespace)");
  CHECK(chosen(std::nullopt, restConfig("https://host", "ops")) ==
        "ops (the namespace of the target's context)");
  CHECK(chosen(std::nullopt, restConfig("https://host")) ==
        "default (default: neither --state-namespace nor the target names one)");
  kube::RestConfig inCluster = restConfig("https://10.96.0.1:443", "kube-bisync");
  inCluster.origin = "in-cluster";
  CHECK(chosen(std::nullopt, inCluster) == "kube-bisync (the target's service account namespace)");

  const std::string rule =
      " is not a namespace name (a DNS label: at most 63 characters of a-z, 0-9 and '-', "
      "starting and ending with a letter or digit)";
  CHECK(chosen("Ops", restConfig("https://host")) == "refused: --state-namespace: \"Ops\"" + rule);
  CHECK(chosen("", restConfig("https://host")) == "refused: --state-namespace: \"\"" + rule);
  CHECK(chosen(std::string(64, 'a'), restConfig("https://host")).starts_with("refused: "));
  CHECK(chosen(std::nullopt, restConfig("https://host", "team.a")) ==
        "refused: target: the namespace of the target's context (kubeconfig "
        "/etc/target.kubeconfig, context host), \"team.a\"," +
            rule + "; choose one with --state-namespace");
}
