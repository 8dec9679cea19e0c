// The production-controller drills of docs/operations.md ("Failure drills"), one test case per
// drill, each named after it, all against the real testbed with the real kube-bisync daemon as a
// child process: leader election and failover, finalizer-guarded deletion, limits, target
// namespace lifecycle, disabling a kind, permission failures, and the least-privilege RBAC of
// examples/deploy. Waits poll with a deadline; what must not happen is checked over a window
// whose name says so.
//
// Each group of drills keeps its helpers in a namespace of its own.
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

using namespace std::chrono_literals;
using bisync::testing::Testbed;

// ---------------------------------------------------------------------------------------------
// Drift and namespace lifecycle drills, limits.
namespace limit_drills {}  // namespace limit_drills

// ---------------------------------------------------------------------------------------------
// Finalizer-guarded deletion, recreation, direction none.
namespace finalizer_drills {}  // namespace finalizer_drills

// ---------------------------------------------------------------------------------------------
// Leader election and failover.
namespace leader_drills {}  // namespace leader_drills

// ---------------------------------------------------------------------------------------------
// Least-privilege RBAC of examples/deploy, permission failures.
namespace rbac_drills {

namespace kube = bisync::kube;
using bisync::testing::configMap;
using bisync::testing::DaemonOptions;
using bisync::testing::DaemonProcess;
using bisync::testing::httpGet;
using bisync::testing::ProbeRequest;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::TempDir;
using bisync::testing::viewOf;
using bisync::testing::Views;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;

const std::filesystem::path kDeployDir = std::filesystem::path(BISYNC_EXAMPLES_DIR) / "deploy";
// The rule of kube-bisync-host (host-rbac.yaml) that lets the syncer write the synced kinds.
constexpr const char* kCopiesRule = "/rules/1/verbs";
// What the daemon counts when the host refuses to apply (PATCH) a ConfigMap copy.
constexpr const char* kForbiddenPatch =
    R"(kube_bisync_api_forbidden_total{side="target",verb="patch",resource="configmaps"})";

// kubectl as admin against `side`; the test stops when it fails.
std::string kubectl(Testbed& testbed, Side side, const std::vector<std::string>& args) {
  const bisync::testing::CommandResult result = testbed.kubectl(side, args);
  INFO("kubectl " << args.front() << " on the " << bisync::testing::toString(side) << ": "
                  << result.summary());
  REQUIRE(result.ok());
  return result.out;
}

// A kubeconfig for `side` that authenticates with `token` (a ServiceAccount's), trusting the
// testbed's serving certificate.
std::filesystem::path tokenKubeconfig(const Testbed& testbed, Side side, const std::string& token,
                                      const std::filesystem::path& path) {
  const bisync::testing::ApiServerInfo& server = testbed.server(side);
  std::ofstream(path) << "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                      << "    server: " << server.url << "\n"
                      << "    certificate-authority: " << server.caFile << "\n"
                      << "users:\n- name: u\n  user:\n    token: " << token << "\n"
                      << "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                      << "current-context: x\n";
  return path;
}

// The container args of examples/deploy/deployment.yaml, turned into a run against the
// testbed: the kubeconfig flags point at `source`/`target` (in-cluster on the host becomes the
// target kubeconfig), the cluster name is the scene's, the HTTP endpoints go to free loopback
// ports (DaemonProcess), and only the scene's namespace is synced.
std::vector<std::string> deploymentArgs(const SyncScene& scene, const std::string& source,
                                        const std::string& target) {
  const YAML::Node deployment = YAML::LoadFile((kDeployDir / "deployment.yaml").string());
  const YAML::Node container = deployment["spec"]["template"]["spec"]["containers"][0];
  std::vector<std::string> args;
  for (const YAML::Node& arg : container["args"]) {
    const std::string text = arg.as<std::string>();
    if (text.starts_with("--source-kubeconfig=")) {
      args.push_back("--source-kubeconfig=" + source);
    } else if (text == "--target-in-cluster") {
      args.push_back("--target-kubeconfig=" + target);
    } else if (text.starts_with("--cluster-name=")) {
      args.push_back("--cluster-name=" + scene.cluster());
    } else if (!text.starts_with("--metrics-bind-address") &&
               !text.starts_with("--health-probe-bind-address")) {
      args.push_back(text);
    }
  }
  args.insert(args.end(), {"--namespaces", scene.ns(), "-v", "2"});
  return args;
}

// A token of the ServiceAccount kube-bisync in `ns` on `side`, from the TokenRequest API.
std::string serviceAccountToken(Testbed& testbed, Side side, const std::string& ns) {
  std::string token = kubectl(testbed, side, {"-n", ns, "create", "token", "kube-bisync"});
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  return token;
}

std::optional<double> metricValue(const DaemonProcess& daemon, const std::string& series,
                                  std::string& seen) {
  std::string scraped;
  const std::optional<double> value = daemon.metric(series, scraped);
  seen += " " + scraped + ";";
  return value;
}

TEST_CASE("the least-privilege manifests of examples/deploy are enough to sync", "[rbac]") {
  SyncScene scene("rbac");
  Testbed& testbed = scene.testbed();
  kubectl(testbed, Side::Target, {"apply", "-f", (kDeployDir / "namespace.yaml").string()});
  kubectl(testbed, Side::Target, {"apply", "-f", (kDeployDir / "host-rbac.yaml").string()});
  kubectl(testbed, Side::Source, {"apply", "-f", (kDeployDir / "virtual-rbac.yaml").string()});
  const TempDir dir(testbed.dir(), "rbac-");
  const std::string source = tokenKubeconfig(
      testbed, Side::Source, serviceAccountToken(testbed, Side::Source, "kube-system"),
      dir.path() / "virtual.kubeconfig");
  const std::string target = tokenKubeconfig(
      testbed, Side::Target, serviceAccountToken(testbed, Side::Target, "kube-bisync"),
      dir.path() / "host.kubeconfig");
  Views sources;
  for (const std::string name : {"app-settings", "feature-flags"}) {
    auto created = scene.tryCreate(Side::Source, kube::resources::configMaps(),
                                   configMap(scene.ns(), name, {{"k", name}}));
    REQUIRE(created);
    sources.emplace(name, viewOf(*created));
  }
  DaemonProcess daemon(testbed, DaemonOptions{.binary = BISYNC_DAEMON_BINARY,
                                              .args = deploymentArgs(scene, source, target),
                                              .kubeconfigFlags = false});
  REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 60s));
  std::string seen;
  CHECK(metricValue(daemon, "kube_bisync_degraded", seen) == 0.0);
  CHECK_FALSE(metricValue(daemon, kForbiddenPatch, seen).has_value());
  INFO(seen);

  SECTION("without one verb the failure is visible, and sync resumes once it is back") {
    const pid_t pid = daemon.pid();
    kubectl(testbed, Side::Target,
            {"patch", "clusterrole", "kube-bisync-host", "--type", "json", "-p",
             std::string(R"([{"op":"replace","path":")") + kCopiesRule +
                 R"(","value":["get","list","watch","create","delete"]}])"});
    auto late = scene.tryCreate(Side::Source, kube::resources::configMaps(),
                                configMap(scene.ns(), "late", {{"k", "late"}}));
    REQUIRE(late);
    REQUIRE(waitLogged(
        daemon, "the refused apply is counted, degraded and reported", 60s, [&](std::string& s) {
          std::string events;
          const bool event =
              scene.countEvents(Side::Source, scene.ns(), "Forbidden", "late", events) >= 1;
          s += " Forbidden Events:" + events;
          return metricValue(daemon, kForbiddenPatch, s).value_or(0) >= 1 &&
                 metricValue(daemon, "kube_bisync_degraded", s) == 1.0 && event;
        }));
    ProbeRequest readyz;
    readyz.url = daemon.opsUrl() + "/readyz";
    CHECK(httpGet(readyz).status == 200);

    kubectl(testbed, Side::Target, {"apply", "-f", (kDeployDir / "host-rbac.yaml").string()});
    sources.emplace("late", viewOf(*late));
    REQUIRE(waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 60s));
    REQUIRE(waitLogged(daemon, "degraded clears", 30s, [&](std::string& s) {
      return metricValue(daemon, "kube_bisync_degraded", s) == 0.0;
    }));
    CHECK(daemon.pid() == pid);
    CHECK(daemon.running());
  }
}

}  // namespace rbac_drills

// ---------------------------------------------------------------------------------------------
// Forbidden answers on either side: reported, degraded, resumed.
namespace forbidden_drills {}  // namespace forbidden_drills
