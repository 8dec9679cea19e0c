// The policy flags of kube-bisync, run as a real process: `--validate-policies DIR` checks
// policy files without connecting anywhere; `--policies DIR` checks them the same way before
// the daemon connects anywhere (those tests point it at a port nothing listens on), and a
// valid directory is run against the testbed.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"

namespace {

namespace fs = std::filesystem;
using bisync::testing::CommandOptions;
using bisync::testing::CommandResult;
using bisync::testing::DaemonProcess;
using bisync::testing::kReadyLine;
using bisync::testing::runCommand;
using bisync::testing::SyncScene;
using bisync::testing::TempDir;
using bisync::testing::writeFile;
using namespace std::chrono_literals;

CommandResult validate(const fs::path& dir) {
  return runCommand({BISYNC_DAEMON_BINARY, "--validate-policies", dir.string()});
}

std::size_t lineCount(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A policy directory with three problems: an unknown key, a bad JSON pointer, and a second
// file for one resource type. `expected` holds the start of each problem's line.
struct BrokenPolicyDir {
  BrokenPolicyDir();
  TempDir dir;
  std::vector<std::string> expected;
};

BrokenPolicyDir::BrokenPolicyDir() : dir(fs::temp_directory_path(), "bisync-policy-cli-") {
  const fs::path configmaps = dir.path() / "configmaps.yaml";
  const fs::path secrets = dir.path() / "secrets.yaml";
  const fs::path moreConfigmaps = dir.path() / "more-configmaps.yaml";
  writeFile(configmaps,
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "direction: down\n"
            "fields:\n"
            "  - path: /data\n"
            "    owner: source\n"
            "    colour: blue\n");  // line 8: unknown key
  writeFile(secrets,
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: Secret}\n"
            "direction: down\n"
            "fields:\n"
            "  - path: /data/~2key\n"  // line 6: bad pointer
            "    owner: source\n");
  writeFile(moreConfigmaps,  // a second ConfigMap policy: its resource line (2) is the problem
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "direction: down\n"
            "fields: []\n");
  expected = {
      configmaps.string() + ":8: unknown key 'colour'",
      secrets.string() + ":6: fields[0].path: bad path '/data/~2key'",
      moreConfigmaps.string() + ":2: a second policy for v1 ConfigMap: " + configmaps.string() +
          ":3",
  };
}

// Every expected problem starts a line of `text`, and `text` has no other line.
void checkProblemLines(const std::string& text, const std::vector<std::string>& expected) {
  for (const std::string& line : expected) {
    INFO("expected a line of stderr to start with: " << line);
    CHECK((text.rfind(line, 0) == 0 || text.find("\n" + line) != std::string::npos));
  }
  CHECK(lineCount(text) == expected.size());  // one line per problem, nothing else
}

// A kubeconfig for a server nothing listens on: a daemon that tried to connect would log
// and wait for it instead of exiting.
fs::path unreachableKubeconfig(const fs::path& dir) {
  const fs::path file = dir / "unreachable.kubeconfig";
  const std::string server = "https://127.0.0.1:" + std::to_string(bisync::testing::pickFreePort());
  const std::string kubeconfig =
      "apiVersion: v1\n"
      "kind: Config\n"
      "current-context: nowhere\n"
      "contexts: [{name: nowhere, context: {cluster: nowhere, user: someone}}]\n"
      "users: [{name: someone, user: {token: not-a-token}}]\n"
      "clusters: [{name: nowhere, cluster: {insecure-skip-tls-verify: true, server: \"";
  writeFile(file, kubeconfig + server + "\"}}]\n");
  return file;
}

TEST_CASE("a broken policy directory exits 2 and prints every problem with file:line",
          "[policies]") {
  const BrokenPolicyDir broken;
  const CommandResult result = validate(broken.dir.path());
  INFO(result.summary() << "\nstdout: " << result.out);
  CHECK(result.exitCode == 2);
  checkProblemLines(result.err, broken.expected);
  CHECK(result.out.empty());
}

TEST_CASE(
    "the daemon with a broken --policies directory exits 2 before connecting anywhere and "
    "prints every problem with file:line",
    "[policies]") {
  const BrokenPolicyDir broken;
  TempDir kubeconfigs(fs::temp_directory_path(), "bisync-policy-cli-");
  const fs::path kubeconfig = unreachableKubeconfig(kubeconfigs.path());
  CommandOptions options;
  options.timeout = 30s;
  const CommandResult result =
      runCommand({BISYNC_DAEMON_BINARY, "--source-kubeconfig", kubeconfig.string(),
                  "--target-kubeconfig", kubeconfig.string(), "--cluster-name", "policy-cli",
                  "--policies", broken.dir.path().string()},
                 options);
  INFO(result.summary() << "\nstdout: " << result.out);
  REQUIRE_FALSE(result.timedOut);
  CHECK(result.exitCode == 2);
  checkProblemLines(result.err, broken.expected);
  CHECK(result.out.empty());  // no log line: it stopped before loading kubeconfigs
}

TEST_CASE("a valid policy directory passes validation", "[policies]") {
  TempDir dir(fs::temp_directory_path(), "bisync-policy-cli-");
  writeFile(dir.path() / "configmaps.yaml",
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "direction: bidirectional\n"
            "namespaces: {include: [\"*\"], exclude: [kube-system]}\n"
            "fields:\n"
            "  - path: /data\n"
            "    owner: source\n"
            "  - path: /metadata/labels/app.kubernetes.io~1*\n"
            "    owner: both\n"
            "    onConflict: newest-wins\n"
            "limits: {maxObjectsPerNamespace: 500, maxObjectBytes: 1048576}\n");

  const CommandResult result = validate(dir.path());
  INFO(result.summary() << "\nstdout: " << result.out);
  CHECK(result.exitCode == 0);
  CHECK(result.err.empty());
  CHECK(result.out.rfind("policies ok: 3 resource types (", 0) == 0);
  CHECK(result.out.find("v1 ConfigMap from " + (dir.path() / "configmaps.yaml").string()) !=
        std::string::npos);
  CHECK(result.out.find("v1 Secret from <built-in>/secrets.yaml") != std::string::npos);
}

}  // namespace

TEST_CASE("the daemon starts with a valid --policies directory and a custom ConfigMap policy",
          "[policies]") {
  SyncScene scene("policy-cli");
  TempDir dir(fs::temp_directory_path(), "bisync-policy-cli-");
  const fs::path configmaps = dir.path() / "configmaps.yaml";
  writeFile(configmaps,
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "direction: down\n"
            "namespaces: {exclude: [kube-system]}\n"
            "fields:\n"
            "  - path: /data\n"
            "    owner: source\n"
            "  - path: /metadata/labels/*\n"
            "    owner: source\n");
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY,
                                         scene.daemonArgs({"--policies", dir.path().string()})});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  CHECK(daemon.countLog(
            "policies: v1 ConfigMap from " + configmaps.string() +
            ", v1 Pod from <built-in>/pods.yaml, v1 Secret from <built-in>/secrets.yaml") == 1);
  CHECK(daemon.countLog("not served") == 0);
  INFO(daemon.describe());
  CHECK(daemon.terminate() == "exited with status 0");
}
