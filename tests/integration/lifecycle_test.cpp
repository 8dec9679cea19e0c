// The production-controller drills of docs/operations.md ("Failure drills"), one test case per
// drill, each named after it, all against the real testbed with the real kube-bisync daemon as a
// child process: leader election and failover, finalizer-guarded deletion, limits, target
// namespace lifecycle, disabling a kind, permission failures, and the least-privilege RBAC of
// examples/deploy. Waits poll with a deadline; what must not happen is checked over a window
// whose name says so.
//
// Each group of drills keeps its helpers in a namespace of its own.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

using namespace std::chrono_literals;

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
namespace rbac_drills {}  // namespace rbac_drills

// ---------------------------------------------------------------------------------------------
// Forbidden answers on either side: reported, degraded, resumed.
namespace forbidden_drills {

using bisync::testing::Auth;
using bisync::testing::DaemonOptions;
using bisync::testing::DaemonProcess;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::TempDir;
using bisync::testing::Views;
using bisync::testing::waitFor;
using bisync::testing::waitLogged;
namespace kube = bisync::kube;

// What the daemon logs once per (side, verb, resource) when it becomes forbidden, and again.
constexpr const char* kForbiddenLine =
    "forbidden: the target API server refuses patch on configmaps";
constexpr const char* kPermittedLine =
    "permitted again: the target API server allows patch on configmaps";
constexpr const char* kForbiddenSeries =
    R"(kube_bisync_api_forbidden_total{side="target",verb="patch",resource="configmaps"})";

// The target identity of the drill: user "viewer" (no grants of its own) bound to a ClusterRole
// of this scene (named apart from other drills that bind "viewer"), deleted at scope end.
class ViewerGrant {
 public:
  explicit ViewerGrant(SyncScene& scene)
      : scene_(scene),
        name_("forbidden-drill-" + scene.cluster()),
        dir_(scene.testbed().dir(), "forbidden-drill-") {}
  ~ViewerGrant() {
    scene_.testbed().kubectl(
        Side::Target, {"delete", "clusterrolebinding,clusterrole", name_, "--ignore-not-found"});
  }
  ViewerGrant(const ViewerGrant&) = delete;
  ViewerGrant& operator=(const ViewerGrant&) = delete;

  // Grants what the daemon needs on the target; without `patchConfigMaps`, every ConfigMap but
  // the daemon's ownership record may not be patched (server-side apply is a patch).
  void apply(bool patchConfigMaps) {
    const std::string configMapVerbs = patchConfigMaps
                                           ? "[get, list, watch, create, update, patch, delete]"
                                           : "[get, list, watch, create, update, delete]";
    const std::string manifest =
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: " + name_ +
        "\nrules:\n"
        "- apiGroups: ['*']\n  resources: ['*']\n  verbs: [get, list, watch]\n"
        "- apiGroups: ['']\n  resources: [configmaps]\n  verbs: " +
        configMapVerbs +
        "\n"
        "- apiGroups: ['']\n  resources: [configmaps]\n  resourceNames: [" +
        scene_.ownershipRecord() +
        "]\n  verbs: [patch]\n"
        "- apiGroups: ['']\n  resources: [secrets, namespaces, events]\n  verbs: ['*']\n"
        "- apiGroups: [coordination.k8s.io]\n  resources: [leases]\n  verbs: ['*']\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
        "  name: " +
        name_ +
        "\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: " + name_ +
        "\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: viewer\n";
    const std::filesystem::path file = dir_.path() / "rbac.yaml";
    std::ofstream(file) << manifest;
    const bisync::testing::CommandResult applied =
        scene_.testbed().kubectl(Side::Target, {"apply", "-f", file.string()});
    INFO("kubectl apply the viewer's ClusterRole: " << applied.summary());
    REQUIRE(applied.ok());
  }

  // The daemon's options: admin on the source, "viewer" on the target.
  DaemonOptions daemonOptions() const {
    const bisync::testing::Testbed& testbed = scene_.testbed();
    const std::string source =
        testbed.writeKubeconfig(Side::Source, Auth::AdminToken, dir_.path() / "source.kubeconfig");
    const std::string target =
        testbed.writeKubeconfig(Side::Target, Auth::ViewerToken, dir_.path() / "target.kubeconfig");
    std::vector<std::string> args{"--source-kubeconfig", source, "--target-kubeconfig", target};
    for (std::string& arg : scene_.daemonArgs()) args.push_back(std::move(arg));
    return {BISYNC_DAEMON_BINARY, std::move(args), false};
  }

 private:
  SyncScene& scene_;
  std::string name_;
  TempDir dir_;
};

bisync::testing::ProbeResult readyz(const DaemonProcess& daemon) {
  bisync::testing::ProbeRequest request;
  request.url = daemon.opsUrl() + "/readyz";
  return bisync::testing::httpGet(request);
}

TEST_CASE("a forbidden write is reported once and sync resumes when the permission is back",
          "[lifecycle][forbidden]") {
  SyncScene scene("forbid");
  ViewerGrant grant(scene);
  grant.apply(true);
  DaemonProcess daemon(scene.testbed(), grant.daemonOptions());
  REQUIRE(daemon.waitForLog(bisync::testing::kReadyLine, 60s));
  const pid_t pid = daemon.pid();

  grant.apply(false);
  // The API server's RBAC cache takes a moment to see the change: the test goes on once the
  // server itself says no.
  REQUIRE(waitFor("the target refuses viewer patch on configmaps", 20s, [&](std::string& s) {
    const bisync::testing::CommandResult canI = scene.testbed().kubectl(
        Side::Target,
        {"auth", "can-i", "patch", "configmaps", "--as", "viewer", "-n", scene.targetNs()});
    s = canI.out + canI.summary();
    return canI.exitCode == 1 && canI.out.find("no") != std::string::npos;
  }));
  auto created = scene.tryCreateAll(kube::resources::configMaps(),
                                    bisync::testing::numberedConfigMaps(scene.ns(), 3, "v"));
  INFO((created ? "created" : created.error()));
  REQUIRE(created);
  const Views& sources = *created;

  // Refused with backoff: several 403s, one log line, degraded, still ready.
  CHECK(waitLogged(daemon, "three or more 403s on patch configmaps", 30s, [&](std::string& s) {
    return daemon.metric(kForbiddenSeries, s).value_or(0) >= 3;
  }));
  std::string seen;
  CHECK(daemon.metric("kube_bisync_degraded", seen) == 1.0);
  CHECK(daemon.countLog(kForbiddenLine) == 1);
  const bisync::testing::ProbeResult degraded = readyz(daemon);
  INFO("readyz: " << degraded.status << " " << degraded.body << degraded.error);
  CHECK(degraded.status == 200);
  CHECK(degraded.body.find("forbids patch on configmaps") != std::string::npos);
  CHECK(waitLogged(daemon, "a Forbidden Event on source cm-000", 30s, [&](std::string& s) {
    return scene.countEvents(Side::Source, scene.ns(), "Forbidden", "cm-000", s) >= 1 &&
           s.find("the target API server forbids patch on configmaps") != std::string::npos;
  }));
  std::string copies;
  const auto listed =
      scene.list(Side::Target, kube::resources::configMaps(), scene.targetNs(), copies);
  INFO(copies);
  CHECK((listed && listed->count("cm-000") == 0));

  grant.apply(true);
  CHECK(bisync::testing::waitForCopies(daemon, scene, kube::resources::configMaps(), sources, 45s));
  CHECK(waitLogged(daemon, "kube_bisync_degraded back to 0", 30s, [&](std::string& s) {
    return daemon.metric("kube_bisync_degraded", s) == 0.0;
  }));
  CHECK(daemon.countLog(kPermittedLine) == 1);
  CHECK(daemon.countLog(kForbiddenLine) == 1);
  CHECK(daemon.running());
  CHECK(daemon.pid() == pid);
}

}  // namespace forbidden_drills
