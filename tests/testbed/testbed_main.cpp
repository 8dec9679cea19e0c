// kube-bisync-testbed: runs the integration testbed (etcd + source and target kube-apiservers,
// each with a kube-controller-manager; on request the target's kube-scheduler, the source's
// virtual-cluster controllers and simulated nodes on the target) in the foreground for demos,
// benchmarks and manual testing, until SIGINT or SIGTERM.
#include <curl/curl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tests/support/node_simulator.hpp"
#include "tests/support/signal_teardown.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace fs = std::filesystem;
using bisync::testing::Auth;
using bisync::testing::Side;
using bisync::testing::Testbed;

std::string shellQuote(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

// The files `up` writes into --dir; removed again at teardown (they point at dead servers).
std::vector<fs::path> writeClientFiles(const Testbed& testbed, const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<fs::path> written;
  std::string env = "# Written by kube-bisync-testbed (pid " + std::to_string(::getpid()) +
                    "); valid while it runs.\n";
  auto set = [&env](const std::string& name, const std::string& value) {
    env += "export " + name + "=" + shellQuote(value) + "\n";
  };
  for (Side side : {Side::Source, Side::Target}) {
    const auto& info = testbed.server(side);
    const fs::path kubeconfig = fs::absolute(dir / (info.name + ".kubeconfig"));
    written.push_back(testbed.writeKubeconfig(side, Auth::AdminToken, kubeconfig));
    const std::string prefix = side == Side::Source ? "SOURCE_" : "TARGET_";
    set(prefix + "SERVER", info.url);
    set(prefix + "KUBECONFIG", kubeconfig.string());
    set(prefix + "CA_FILE", info.caFile);
    set(prefix + "LOG", info.logFile);
    if (!info.controllerManagerLogFile.empty()) {
      set(prefix + "CONTROLLER_MANAGER_LOG", info.controllerManagerLogFile);
    }
    if (!info.schedulerLogFile.empty()) {
      set(prefix + "SCHEDULER_LOG", info.schedulerLogFile);
    }
  }
  const auto& users = testbed.users();
  set("ADMIN_TOKEN", users.adminToken);
  set("ADMIN_TOKEN_FILE", users.adminTokenFile);
  set("VIEWER_TOKEN", users.viewerToken);
  set("CLIENT_CERT_FILE", users.clientCertFile);
  set("CLIENT_KEY_FILE", users.clientKeyFile);
  set("ETCD_ENDPOINT", testbed.etcdEndpoint());
  set("TESTBED_WORKDIR", testbed.dir().string());
  set("TESTBED_PID", std::to_string(::getpid()));
  const fs::path envFile = fs::absolute(dir / "testbed.env");
  bisync::testing::writeFile(envFile, env);
  written.push_back(envFile);
  return written;
}

int runUp(bisync::testing::SignalTeardown& signals, const fs::path& dir,
          bisync::testing::TestbedOptions options,
          const std::optional<bisync::testing::NodeSimulatorOptions>& nodeOptions) {
  Testbed testbed(std::move(options));
  // Declared after the testbed: stopped (its Nodes deleted) before the servers go.
  std::unique_ptr<bisync::testing::NodeSimulator> nodes;
  if (nodeOptions) {
    nodes = std::make_unique<bisync::testing::NodeSimulator>(testbed, *nodeOptions);
    nodes->start();
  }
  const auto files = writeClientFiles(testbed, dir);
  std::cout << "ready source=" << testbed.server(Side::Source).url
            << " target=" << testbed.server(Side::Target).url
            << " env=" << fs::absolute(dir / "testbed.env").string() << std::endl;
  const int sig = signals.waitForSignal();
  std::cerr << "testbed: " << ::strsignal(sig) << ", tearing down\n";
  for (const auto& file : files) {
    std::error_code ignored;
    fs::remove(file, ignored);
  }
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  // First, before any thread exists: SIGINT/SIGTERM stay blocked in every thread.
  bisync::testing::SignalTeardown signals;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  CLI::App app{
      "Runs etcd and two kube-apiservers (source and target), each with a "
      "kube-controller-manager, on loopback ports for kube-bisync demos and tests."};
  app.require_subcommand(1);
  CLI::App* up = app.add_subcommand(
      "up",
      "Start the testbed, write kubeconfigs and testbed.env into --dir, print one "
      "'ready' line, run until SIGINT/SIGTERM, then tear everything down.");
  std::string dir = ".testbed";
  auto options = bisync::testing::TestbedOptions::fromEnvironment();
  bool noWatchCache = false;
  bool noControllerManager = false;
  bool workloads = false;
  bisync::testing::NodeSimulatorOptions nodeOptions;
  nodeOptions.nodes = 0;
  int heartbeatSeconds = 10;
  up->add_option("--dir", dir, "Folder for source.kubeconfig, target.kubeconfig and testbed.env")
      ->capture_default_str();
  up->add_option("--apiserver", options.apiserverBinary,
                 "kube-apiserver binary (default: $KUBE_BISYNC_APISERVER, else "
                 "tests/testbed/install.sh builds or finds it)");
  up->add_option("--work-dir-parent", options.baseDir,
                 "Where the servers' folder (logs, certificates, etcd data) goes "
                 "(default: /dev/shm)");
  up->add_flag("--keep", options.keepDir, "Keep the servers' folder after teardown");
  up->add_flag("--no-watch-cache", noWatchCache,
               "Serve watches and lists from etcd (compaction then always gives 410)");
  up->add_option("--controller-manager", options.controllerManagerBinary,
                 "kube-controller-manager binary (default: $KUBE_BISYNC_CONTROLLER_MANAGER, "
                 "else the one next to the kube-apiserver binary)");
  up->add_flag("--no-controller-manager", noControllerManager,
               "Run no kube-controller-manager (deleted namespaces then stay Terminating)");
  up->add_flag("--scheduler", options.scheduler,
               "Run kube-scheduler against the target (binary: $KUBE_BISYNC_SCHEDULER, else the "
               "one next to kube-apiserver)");
  up->add_flag("--virtual-cluster-controllers", options.virtualClusterControllers,
               "The source's kube-controller-manager also runs the deployment, replicaset, "
               "endpoint, serviceaccount and serviceaccount-token controllers, and the source "
               "admits Pods through the ServiceAccount admission plugin");
  up->add_option("--nodes", nodeOptions.nodes,
                 "Simulated nodes registered on the target (host-node-1..N) that run the Pods "
                 "bound to them; 0: none")
      ->capture_default_str();
  up->add_option("--node-heartbeat-seconds", heartbeatSeconds,
                 "Lease and node status heartbeat of the simulated nodes")
      ->capture_default_str();
  up->add_flag("--workloads", workloads,
               "Shorthand for --scheduler --virtual-cluster-controllers --nodes 3 (--nodes "
               "given too wins)");
  CLI11_PARSE(app, argc, argv);
  options.watchCache = !noWatchCache;
  options.controllerManager = !noControllerManager;
  if (workloads) {
    options.scheduler = true;
    options.virtualClusterControllers = true;
    if (up->count("--nodes") == 0) {
      nodeOptions.nodes = 3;
    }
  }
  nodeOptions.heartbeatInterval = std::chrono::seconds(heartbeatSeconds);
  std::optional<bisync::testing::NodeSimulatorOptions> nodes;
  if (nodeOptions.nodes > 0) {
    nodes = nodeOptions;
  }

  int status = 1;
  try {
    status = runUp(signals, dir, std::move(options), nodes);
  } catch (const std::exception& e) {
    std::cerr << "kube-bisync-testbed: " << e.what() << "\n";
  }
  curl_global_cleanup();
  return status;
}
