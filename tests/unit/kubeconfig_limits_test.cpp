// Hostile or broken kubeconfigs, files and exec plugins: each is a clear Config error, never a
// crash, an overflow or a hang. (kubeconfig_test.cpp covers the normal loading rules.)
#include <string>

#include "syncer/kube/files.hpp"
#include "syncer/kube/kubeconfig.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace bisync::kube;
using bisync::unit::TempDir;

namespace {

const std::string kPlugin = std::string(BISYNC_TEST_DATA_DIR) + "/exec_plugin.sh";

std::string withUser(const std::string& user) {
  return "current-context: main\n"
         "contexts: [{name: main, context: {cluster: c1, user: u1}}]\n"
         "clusters: [{name: c1, cluster: {server: 'https://k8s'}}]\n"
         "users: [{name: u1, user: " +
         user + "}]\n";
}

std::string failureOf(const Result<RestConfig>& loaded) {
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().kind == ErrorKind::Config);
  return loaded.error().describe();
}

std::string pluginFailure(const std::string& mode) {
  const Result<RestConfig> config = restConfigFromYaml(
      withUser("{exec: {apiVersion: client.authentication.k8s.io/v1, command: " + kPlugin +
               ", env: [{name: PLUGIN_MODE, value: " + mode + "}]}}"),
      "/k/config", "");
  REQUIRE(config);
  const Result<Credentials> credentials = CredentialProvider(*config).current();
  REQUIRE_FALSE(credentials);
  CHECK(credentials.error().kind == ErrorKind::Config);
  return credentials.error().describe();
}

}  // namespace

TEST_CASE("a kubeconfig given as text loads as the file it names would", "[kubeconfig][limits]") {
  const Result<RestConfig> config = restConfigFromYaml(withUser("{token: abc}"), "/k/config", "");
  REQUIRE(config);
  CHECK(config->server == "https://k8s");
  CHECK(config->bearerToken == "abc");
  CHECK(config->origin == "kubeconfig /k/config, context main");
  CHECK_THAT(failureOf(restConfigFromYaml(withUser("{token: abc}"), "/k/config", "other")),
             Catch::Contains("context \"other\" not found"));
  CHECK(failureOf(restConfigFromYaml("", "/k/config", "")) ==
        "/k/config: no clusters, users or contexts in the file");
}

TEST_CASE("a kubeconfig nested 200,000 levels deep is a YAML error, not a stack overflow",
          "[kubeconfig][limits]") {
  const std::string flow = "users: " + std::string(200'000, '[') + std::string(200'000, ']');
  CHECK_THAT(failureOf(restConfigFromYaml(flow, "/k/config", "")),
             Catch::StartsWith("/k/config:1: invalid YAML"));
  // Block maps nest by indentation: 2,500 levels, past yaml-cpp's guard of 2,000.
  std::string block;
  for (std::size_t i = 0; i < 2'500; ++i) block += std::string(i, ' ') + "a:\n";
  CHECK_THAT(failureOf(restConfigFromYaml(block, "/k/config", "")),
             Catch::Contains("invalid YAML"));
}

TEST_CASE("a tokenFile that never ends stops at the configuration file cap",
          "[kubeconfig][limits]") {
  CHECK_THAT(failureOf(restConfigFromYaml(withUser("{tokenFile: /dev/zero}"), "/k/config", "")),
             Catch::Contains("users[u1].user.tokenFile: cannot read /dev/zero: larger than the "
                             "16777216-byte cap for configuration files"));
}

TEST_CASE("a file up to the cap is read whole, one byte more is refused", "[kubeconfig][limits]") {
  TempDir dir;
  const std::string path = dir.write("f", std::string(100, 'x'));
  std::string why;
  CHECK(readWholeFile(path, why, 100) == std::string(100, 'x'));
  CHECK_FALSE(readWholeFile(path, why, 99));
  CHECK(why == "larger than the 99-byte cap for configuration files");
}

TEST_CASE("an exec plugin's output nested 200,000 deep is refused by the depth limit",
          "[kubeconfig][limits]") {
  CHECK_THAT(pluginFailure("deep"),
             Catch::Contains("output is not JSON: nesting deeper than 512 levels"));
}

TEST_CASE("an exec plugin writing more than 1 MiB is stopped and refused", "[kubeconfig][limits]") {
  CHECK_THAT(pluginFailure("flood"), Catch::Contains("wrote more than 1 MiB of output"));
}

// Found by tests/fuzz (kubeconfig): an entry without its body was kept as yaml-cpp's invalid
// node, and reading it threw YAML::InvalidNode out of the loader.
TEST_CASE("a context, cluster or user without its body is a missing field, not an exception",
          "[kubeconfig][limits]") {
  const std::string noContext =
      "current-context: main\ncontexts: [{name: main}]\n"
      "clusters: [{name: c1, cluster: {server: 'https://k8s'}}]\n";
  CHECK(failureOf(restConfigFromYaml(noContext, "/k/config", "")) ==
        "/k/config: contexts[main].context.cluster: missing");
  const std::string noCluster =
      "current-context: main\n"
      "contexts: [{name: main, context: {cluster: c1}}]\n"
      "clusters: [{name: c1}]\n";
  CHECK(failureOf(restConfigFromYaml(noCluster, "/k/config", "")) ==
        "/k/config: clusters[c1].cluster.server: missing");
  const Result<RestConfig> noUser = restConfigFromYaml(
      "current-context: main\ncontexts: [{name: main, context: {cluster: c1, user: u1}}]\n"
      "clusters: [{name: c1, cluster: {server: 'https://k8s'}}]\nusers: [{name: u1}]\n",
      "/k/config", "");
  REQUIRE(noUser);
  CHECK(noUser->bearerToken.empty());
}
