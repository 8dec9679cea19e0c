// The real-API-server testbed: one etcd and two kube-apiservers ("source" and "target",
// etcd prefixes /source and /target) on loopback ports, with token and client-certificate
// authentication and RBAC, and for each server a kube-controller-manager running the
// namespace and garbage-collector controllers (so that a deleted namespace really goes away).
// On request (TestbedOptions::scheduler, ::virtualClusterControllers) the target also runs the
// real kube-scheduler and the source the controllers a virtual cluster has; NodeSimulator
// (node_simulator.hpp) provides the nodes. See tests/testbed/README.md.
//
// A Testbed owns its processes and its folder (under /dev/shm when possible): the constructor
// starts everything and waits until both servers (and their controller managers) are ready,
// the destructor stops everything and removes the folder. Children also die with the test
// process (PR_SET_PDEATHSIG), and SignalTeardown (process.hpp) cleans up on SIGINT/SIGTERM.
//
// Process control (stop/start/pause/resume, of either server or of etcd) is thread-safe, so a
// test may run an outage in the background while it watches the syncer from another thread;
// the calls are serialized (a start() holds the others back until the server is ready).
// Servers restart on the same port with the same serving certificate and etcd prefix. The
// controller managers are left alone by all of it: they reconnect by themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncer/kube/kubeconfig.hpp"
#include "tests/support/process.hpp"

namespace bisync::testing {

enum class Side { Source, Target };
std::string_view toString(Side side);

// How a client authenticates against a testbed server.
enum class Auth {
  AdminToken,      // bearer token of user "admin" (group system:masters)
  AdminTokenFile,  // the same token, read from a file (tokenFile in a kubeconfig)
  ViewerToken,     // bearer token of user "viewer": authenticated, no RBAC grants
  ClientCert,      // client certificate of user "admin-cert" (group system:masters)
};

struct TestbedOptions {
  // Empty: $KUBE_BISYNC_APISERVER, else what tests/testbed/install.sh prints.
  std::string apiserverBinary;
  // Runs a kube-controller-manager (controllers namespace and garbagecollector) per server.
  bool controllerManager = true;
  // Empty: $KUBE_BISYNC_CONTROLLER_MANAGER, else the kube-controller-manager next to the
  // kube-apiserver binary (where install.sh puts it).
  std::string controllerManagerBinary;
  // Runs the real kube-scheduler against the target (host) server, so that Pods created there
  // are bound to Nodes (a NodeSimulator registers them). Off by default: only workload tests
  // need it, and the others should not pay its start-up.
  bool scheduler = false;
  // Empty: $KUBE_BISYNC_SCHEDULER, else the kube-scheduler next to the kube-apiserver binary.
  std::string schedulerBinary;
  // Makes the source a virtual cluster as far as workloads go: its kube-controller-manager also
  // runs the deployment, replicaset, endpoint, serviceaccount and serviceaccount-token
  // controllers, and its API server admits Pods through the ServiceAccount admission plugin (a
  // Pod then needs its namespace's "default" ServiceAccount and that account's token Secret:
  // see waitForDefaultServiceAccount). Needs controllerManager. Off by default: these
  // controllers write ServiceAccounts and Secrets into every new source namespace.
  bool virtualClusterControllers = false;
  std::string etcdBinary = "/usr/bin/etcd";
  std::string etcdctlBinary = "/usr/bin/etcdctl";
  std::string kubectlBinary = "kubectl";
  // Parent of the testbed's folder. Empty: /dev/shm when writable, else $TMPDIR or /tmp.
  std::string baseDir;
  bool keepDir = false;  // leave the folder (logs, certificates, etcd data) for post-mortems
  // false: watches and lists are served by etcd, so a compacted resourceVersion is always 410.
  bool watchCache = true;
  std::vector<std::string> extraApiserverFlags;
  std::chrono::seconds startTimeout{120};
  // SIGTERM, then SIGKILL after this: an API server with open watches otherwise takes 60 s.
  std::chrono::milliseconds stopGrace{3000};

  // Defaults overridden by the environment: KUBE_BISYNC_TESTBED_KEEP=1 keeps the folder,
  // KUBE_BISYNC_TESTBED_DIR picks the parent folder.
  static TestbedOptions fromEnvironment();
};

struct ApiServerInfo {
  std::string name;  // "source" or "target"
  std::string url;   // "https://127.0.0.1:<port>"
  int port = 0;
  std::string etcdPrefix;  // "/source"
  std::string caFile;      // <cert-dir>/apiserver.crt: the self-signed serving cert and its CA
  std::string kubeconfig;  // admin kubeconfig (token auth)
  std::string logFile;
  // Its kube-controller-manager (empty and 0 without one): log, admin kubeconfig, and the
  // loopback https port of its /healthz (serving certificate
  // <cert-dir>/kube-controller-manager.crt).
  std::string controllerManagerLogFile;
  std::string controllerManagerKubeconfig;
  int controllerManagerPort = 0;
  // Service-account tokens: each server has its own signing key pair and issuer, so a token
  // one server issued (TokenRequest) does not authenticate against the other.
  std::string serviceAccountIssuer;      // "https://<name>.kube-bisync-testbed.invalid"
  std::string serviceAccountKeyFile;     // public key (--service-account-key-file)
  std::string serviceAccountSigningKey;  // private key (--service-account-signing-key-file)
  // Its kube-scheduler (target only, with TestbedOptions::scheduler; else empty and 0): log,
  // kubeconfig (admin token) and the loopback https port of its /healthz.
  std::string schedulerLogFile;
  std::string schedulerKubeconfig;
  int schedulerPort = 0;
};

struct TestbedUsers {
  std::string adminToken;
  std::string adminTokenFile;  // holds adminToken
  std::string viewerToken;
  std::string tokenAuthFile;   // the --token-auth-file CSV
  std::string clientCaFile;    // the --client-ca-file
  std::string clientCertFile;  // user "admin-cert", group system:masters
  std::string clientKeyFile;
};

class Testbed {
 public:
  // Starts etcd and both API servers; throws std::runtime_error (with the failing process's
  // log tail) when they do not get ready within options.startTimeout.
  explicit Testbed(TestbedOptions options = TestbedOptions::fromEnvironment());
  ~Testbed();
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  const std::filesystem::path& dir() const { return dir_.path(); }
  const ApiServerInfo& server(Side side) const;
  const TestbedUsers& users() const { return users_; }
  std::string etcdEndpoint() const;
  const std::string& apiserverBinary() const { return apiserverBinary_; }
  // Empty when options.controllerManager is false.
  const std::string& controllerManagerBinary() const { return controllerManagerBinary_; }
  // Empty when options.scheduler is false.
  const std::string& schedulerBinary() const { return schedulerBinary_; }
  const TestbedOptions& options() const { return options_; }

  // Connection settings for a client of `side`, with the serving CA as trust anchor.
  kube::RestConfig restConfig(Side side, Auth auth = Auth::AdminToken) const;
  // Writes a kubeconfig for `side` and `auth` (files referenced by path) and returns `path`.
  // `serverUrl` replaces the server's URL: a TcpProxy's in front of it (its certificate, which
  // names 127.0.0.1, is still verified).
  std::filesystem::path writeKubeconfig(Side side, Auth auth, const std::filesystem::path& path,
                                        const std::string& serverUrl = "") const;

  // Process control of a server; none of it touches the side's controller manager.
  // Stops the server: SIGTERM, SIGKILL after options.stopGrace. No-op when already stopped.
  void stop(Side side);
  // SIGKILL: a crash, without any graceful shutdown.
  void kill(Side side);
  // Starts the server again on the same port, prefix and certificate (resumes it when it is
  // paused); waits until it is ready.
  void start(Side side);
  void restart(Side side);
  // SIGSTOP/SIGCONT: the server keeps its connections but answers nothing.
  void pause(Side side);
  void resume(Side side);
  bool running(Side side);
  // False also when the testbed runs no controller managers.
  bool controllerManagerRunning(Side side);
  // False also when the testbed runs no kube-scheduler.
  bool schedulerRunning();

  // Waits until `ns` on `side` has the "default" ServiceAccount and its token Secret (what
  // the ServiceAccount admission plugin needs before it admits a Pod; made by the
  // serviceaccount and serviceaccount-token controllers of virtualClusterControllers). Throws
  // std::runtime_error, saying what it saw, after `timeout`.
  void waitForDefaultServiceAccount(Side side, const std::string& ns,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Stops the server, waits `downFor`, starts it again (and waits until it is ready).
  void outage(Side side, std::chrono::milliseconds downFor);
  // The same on a background thread; the future throws what start() threw.
  std::future<void> outageInBackground(Side side, std::chrono::milliseconds downFor);

  void stopEtcd();
  void startEtcd();
  void pauseEtcd();
  void resumeEtcd();

  // etcd's current revision (the newest resourceVersion of either server).
  std::int64_t etcdRevision();
  // Compacts etcd up to its current revision, so that every older resourceVersion is gone:
  // requests served by etcd (watches and Exact lists without the watch cache, continue
  // tokens) answer 410. Returns the revision compacted to.
  std::int64_t compactEtcd();

  // Runs kubectl against `side` as admin (token kubeconfig); args follow "kubectl".
  CommandResult kubectl(Side side, const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  // The last lines of the server's log, for failure messages.
  std::string logTail(Side side, std::size_t lines = 40) const;
  std::string etcdLogTail(std::size_t lines = 40) const;
  std::string controllerManagerLogTail(Side side, std::size_t lines = 40) const;
  std::string schedulerLogTail(std::size_t lines = 40) const;

 private:
  struct Server {
    ApiServerInfo info;
    ChildProcess process;
    ChildProcess controllerManager;
  };

  Server& serverFor(Side side);
  const Server& serverFor(Side side) const;
  void prepareFiles();
  void startEtcdLocked();
  void waitEtcdHealthy();
  ChildProcess spawnApiserver(const ApiServerInfo& info);
  void waitReady(Server& server);
  ChildProcess spawnControllerManager(const ApiServerInfo& info);
  void waitControllerManagerReady(Server& server);
  ChildProcess spawnScheduler(const ApiServerInfo& info);
  void startControllersLocked();
  std::string describeControllers() const;
  // Waits until the process serves /healthz on the loopback `port` with certificate `cert`.
  void waitHealthy(const std::string& name, ChildProcess& process, int port,
                   const std::filesystem::path& cert, const std::string& logFile);
  CommandResult runEtcdctl(const std::vector<std::string>& args);

  TestbedOptions options_;
  std::string apiserverBinary_;
  std::string controllerManagerBinary_;
  std::string schedulerBinary_;
  // Declared before the children: its thread must outlive them (see process.hpp).
  ProcessLauncher launcher_;
  TempDir dir_;
  std::mutex mutex_;  // guards the processes below
  int etcdClientPort_ = 0;
  int etcdPeerPort_ = 0;
  ChildProcess etcd_;
  Server source_;
  Server target_;
  ChildProcess scheduler_;  // the target's, with options_.scheduler
  TestbedUsers users_;
};

// Pauses one server (SIGSTOP) for a test and resumes it when the scope ends, also when the
// test fails while it is paused: the testbed is shared by the binary's tests.
class ScopedPause {
 public:
  ScopedPause(Testbed& testbed, Side side) : testbed_(testbed), side_(side) {
    testbed_.pause(side_);
  }
  ~ScopedPause() { resume(); }
  ScopedPause(const ScopedPause&) = delete;
  ScopedPause& operator=(const ScopedPause&) = delete;
  void resume() {
    if (paused_) testbed_.resume(side_);
    paused_ = false;
  }

 private:
  Testbed& testbed_;
  Side side_;
  bool paused_ = true;
};

// What a shared testbed runs beyond the default (see TestbedOptions).
struct TestbedFeatures {
  bool scheduler = false;
  bool virtualClusterControllers = false;
  auto operator<=>(const TestbedFeatures&) const = default;
};
// Both: what workload tests (Pods synced to the host, run by a NodeSimulator) need.
inline constexpr TestbedFeatures kWorkloadFeatures{.scheduler = true,
                                                   .virtualClusterControllers = true};

// The testbed of this test binary, started on first use and shared by all its tests: the one
// with the default features (setSharedTestbedFeatures). Throws the start-up failure (again,
// without retrying) when it could not start.
Testbed& sharedTestbed();
// The shared testbed with exactly `features`, started on first use (a binary whose tests ask
// for several feature sets runs several testbeds at once).
Testbed& sharedTestbed(TestbedFeatures features);
// The features sharedTestbed() (and so KubeFixture, SyncScene) starts with; default none. A
// binary whose tests all need workloads sets them before the first test, e.g. from a
// namespace-scope initializer: `const bool kUsesWorkloads = (setSharedTestbedFeatures(
// kWorkloadFeatures), true);`.
void setSharedTestbedFeatures(TestbedFeatures features);
// Tears the shared testbeds down (those that were started); integration main() calls it.
void shutdownSharedTestbed();

}  // namespace bisync::testing
