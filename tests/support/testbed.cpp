#include "tests/support/testbed.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "syncer/kube/json.hpp"
#include "tests/support/http_probe.hpp"

namespace bisync::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kDirPrefix = "kube-bisync-testbed-";

std::string envOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::string findApiserver(const TestbedOptions& options) {
  if (!options.apiserverBinary.empty()) {
    return options.apiserverBinary;
  }
  if (std::string fromEnv = envOr("KUBE_BISYNC_APISERVER", ""); !fromEnv.empty()) {
    return fromEnv;
  }
  // Fast when the binary is cached; a first run builds it (minutes), showing its progress.
  const std::string script = std::string(BISYNC_TESTBED_DIR) + "/install.sh";
  CommandOptions commandOptions;
  commandOptions.timeout = std::chrono::minutes(40);
  commandOptions.captureStderr = false;
  const CommandResult result = runCommand({"bash", script}, commandOptions);
  std::string last;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) {
      last = line;
    }
  }
  if (!result.ok() || last.empty() || ::access(last.c_str(), X_OK) != 0) {
    throw std::runtime_error(script + " did not give a kube-apiserver binary (" + result.summary() +
                             "); set KUBE_BISYNC_APISERVER to use another");
  }
  return last;
}

// The controllers the controller managers run: namespace deletes a deleted namespace's
// contents and then removes its finalizer; garbagecollector removes dependents (and clears the
// foregroundDeletion finalizer) of objects deleted with propagation.
constexpr std::string_view kControllers = "namespace,garbagecollector";
// The controllers a virtual cluster runs for workloads (TestbedOptions::
// virtualClusterControllers): Deployments make ReplicaSets make Pods, Services get Endpoints,
// every namespace gets the "default" ServiceAccount and its token Secret.
constexpr std::string_view kVirtualClusterControllers =
    "deployment,replicaset,endpoint,serviceaccount,serviceaccount-token";
// The host side with a scheduler (TestbedOptions::scheduler) also runs the pod garbage
// collector: it force-deletes Pods bound to Nodes that no longer exist (a NodeSimulator that
// stopped), which no kubelet would ever finish deleting otherwise.
constexpr std::string_view kHostControllers = "podgc";

// A sibling binary of kube-apiserver (where install.sh puts them), unless set or in $env.
std::string findSibling(std::string binary, const char* env, const std::string& apiserverBinary,
                        const std::string& name) {
  if (binary.empty()) {
    binary = envOr(env, "");
  }
  if (binary.empty()) {
    binary = (fs::path(apiserverBinary).parent_path() / name).string();
  }
  if (::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("testbed: no " + name + " binary at " + binary +
                             " (tests/testbed/install.sh builds it next to kube-apiserver); set " +
                             env + " or turn the option off");
  }
  return binary;
}

std::string findScheduler(const TestbedOptions& options, const std::string& apiserverBinary) {
  if (!options.scheduler) {
    return {};
  }
  return findSibling(options.schedulerBinary, "KUBE_BISYNC_SCHEDULER", apiserverBinary,
                     "kube-scheduler");
}

std::string findControllerManager(const TestbedOptions& options,
                                  const std::string& apiserverBinary) {
  if (!options.controllerManager) {
    if (options.virtualClusterControllers) {
      throw std::runtime_error("testbed: virtualClusterControllers needs controllerManager");
    }
    return {};
  }
  return findSibling(options.controllerManagerBinary, "KUBE_BISYNC_CONTROLLER_MANAGER",
                     apiserverBinary, "kube-controller-manager");
}

fs::path baseDirFor(const TestbedOptions& options) {
  if (!options.baseDir.empty()) {
    return options.baseDir;
  }
  if (::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return envOr("TMPDIR", "/tmp");
}

constexpr std::string_view kKeptMarker = "KEPT";

// Folders of testbeds whose process died without cleaning up (SIGKILL, abort).
void removeStaleDirs(const fs::path& base) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(base, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kDirPrefix)) {
      continue;
    }
    // A folder kept on purpose (KUBE_BISYNC_TESTBED_KEEP) is for a post-mortem, not stale.
    if (fs::exists(entry.path() / kKeptMarker, error)) continue;
    const pid_t owner = std::atoi(name.c_str() + kDirPrefix.size());
    if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) {
      fs::remove_all(entry.path(), error);
    }
  }
}

TempDir makeDir(const TestbedOptions& options) {
  const fs::path base = baseDirFor(options);
  removeStaleDirs(base);
  TempDir dir(base, std::string(kDirPrefix) + std::to_string(::getpid()) + "-");
  if (options.keepDir) {
    dir.keep();
    std::ofstream(dir.path() / kKeptMarker) << "kept for a post-mortem; remove by hand\n";
  }
  return dir;
}

std::string ms(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + " ms";
}

}  // namespace

std::string_view toString(Side side) { return side == Side::Source ? "source" : "target"; }

TestbedOptions TestbedOptions::fromEnvironment() {
  TestbedOptions options;
  options.keepDir = envOr("KUBE_BISYNC_TESTBED_KEEP", "0") != "0";
  options.baseDir = envOr("KUBE_BISYNC_TESTBED_DIR", "");
  return options;
}

Testbed::Testbed(TestbedOptions options)
    : options_(std::move(options)),
      apiserverBinary_(findApiserver(options_)),
      controllerManagerBinary_(findControllerManager(options_, apiserverBinary_)),
      schedulerBinary_(findScheduler(options_, apiserverBinary_)),
      dir_(makeDir(options_)) {
  const auto started = Clock::now();
  etcdClientPort_ = pickFreePort();
  etcdPeerPort_ = pickFreePort();
  for (Side side : {Side::Source, Side::Target}) {
    ApiServerInfo& info = serverFor(side).info;
    info.name = std::string(toString(side));
    info.port = pickFreePort();
    info.url = "https://127.0.0.1:" + std::to_string(info.port);
    info.etcdPrefix = "/" + info.name;
    fs::create_directories(dir() / info.name / "certs");
    info.caFile = (dir() / info.name / "certs" / "apiserver.crt").string();
    info.logFile = (dir() / info.name / "apiserver.log").string();
    info.kubeconfig = (dir() / info.name / "admin.kubeconfig").string();
    info.serviceAccountIssuer = "https://" + info.name + ".kube-bisync-testbed.invalid";
    info.serviceAccountKeyFile = (dir() / "pki" / (info.name + "-sa.pub")).string();
    info.serviceAccountSigningKey = (dir() / "pki" / (info.name + "-sa.key")).string();
    if (options_.controllerManager) {
      info.controllerManagerPort = pickFreePort();
      info.controllerManagerLogFile = (dir() / info.name / "controller-manager.log").string();
      info.controllerManagerKubeconfig =
          (dir() / info.name / "controller-manager.kubeconfig").string();
    }
  }
  if (options_.scheduler) {
    target_.info.schedulerPort = pickFreePort();
    target_.info.schedulerLogFile = (dir() / "target" / "scheduler.log").string();
    target_.info.schedulerKubeconfig = (dir() / "target" / "scheduler.kubeconfig").string();
  }
  prepareFiles();
  for (Side side : {Side::Source, Side::Target}) {
    writeKubeconfig(side, Auth::AdminToken, server(side).kubeconfig);
    if (options_.controllerManager) {
      writeKubeconfig(side, Auth::AdminToken, server(side).controllerManagerKubeconfig);
    }
  }
  if (options_.scheduler) {
    writeKubeconfig(Side::Target, Auth::AdminToken, target_.info.schedulerKubeconfig);
  }
  std::lock_guard lock(mutex_);
  startEtcdLocked();
  source_.process = spawnApiserver(source_.info);
  target_.process = spawnApiserver(target_.info);
  waitReady(source_);
  waitReady(target_);
  startControllersLocked();
  std::cerr << "testbed: ready in " << ms(Clock::now() - started) << ": source " << source_.info.url
            << ", target " << target_.info.url << ", etcd " << etcdEndpoint() << ", "
            << describeControllers() << ", folder " << dir().string() << "\n";
}

// After the servers are ready: a controller manager (or scheduler) gives up when its server
// does not answer within 10 s of its start. All start at once and are waited for together.
void Testbed::startControllersLocked() {
  if (options_.controllerManager) {
    source_.controllerManager = spawnControllerManager(source_.info);
    target_.controllerManager = spawnControllerManager(target_.info);
  }
  if (options_.scheduler) {
    scheduler_ = spawnScheduler(target_.info);
  }
  if (options_.controllerManager) {
    waitControllerManagerReady(source_);
    waitControllerManagerReady(target_);
  }
  if (options_.scheduler) {
    waitHealthy("target kube-scheduler", scheduler_, target_.info.schedulerPort,
                dir() / "target" / "scheduler-certs" / "kube-scheduler.crt",
                target_.info.schedulerLogFile);
  }
}

std::string Testbed::describeControllers() const {
  std::string text = options_.controllerManager
                         ? "kube-controller-manager per side (" + std::string(kControllers) + ")"
                         : std::string("no kube-controller-manager");
  if (options_.controllerManager && options_.virtualClusterControllers) {
    text += ", source also " + std::string(kVirtualClusterControllers);
  }
  if (options_.scheduler) {
    text += ", kube-scheduler on the target" +
            (options_.controllerManager ? " (and " + std::string(kHostControllers) + ")" : "");
  }
  return text;
}

Testbed::~Testbed() {
  std::lock_guard lock(mutex_);
  // Controller managers first (a 1.20 one dies at once on SIGTERM: it installs no handler),
  // so that they do not spend the teardown retrying vanished servers. Servers next, so that
  // they do not spend their shutdown retrying a vanished etcd.
  scheduler_.stop(options_.stopGrace);
  source_.controllerManager.stop(options_.stopGrace);
  target_.controllerManager.stop(options_.stopGrace);
  std::thread sourceStop([this] { source_.process.stop(options_.stopGrace); });
  target_.process.stop(options_.stopGrace);
  sourceStop.join();
  etcd_.stop(options_.stopGrace);
}

Testbed::Server& Testbed::serverFor(Side side) { return side == Side::Source ? source_ : target_; }
const Testbed::Server& Testbed::serverFor(Side side) const {
  return side == Side::Source ? source_ : target_;
}
const ApiServerInfo& Testbed::server(Side side) const { return serverFor(side).info; }

std::string Testbed::etcdEndpoint() const {
  return "http://127.0.0.1:" + std::to_string(etcdClientPort_);
}

void Testbed::startEtcdLocked() {
  if (etcd_.running()) {
    return;
  }
  const std::string client = etcdEndpoint();
  const std::string peer = "http://127.0.0.1:" + std::to_string(etcdPeerPort_);
  // With an existing data folder (a restart), etcd ignores the --initial-* flags.
  etcd_ = launcher_.spawn(ProcessSpec{
      .argv = {options_.etcdBinary, "--name=testbed", "--data-dir=" + (dir() / "etcd").string(),
               "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
               "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
               "--initial-cluster=testbed=" + peer, "--initial-cluster-state=new", "--logger=zap",
               "--log-outputs=stderr", "--log-level=warn"},
      .env = {},
      .logFile = (dir() / "etcd.log").string()});
  waitEtcdHealthy();
}

void Testbed::waitEtcdHealthy() {
  const auto deadline = Clock::now() + options_.startTimeout;
  ProbeResult last;
  while (Clock::now() < deadline && etcd_.running()) {
    last = httpGet({.url = etcdEndpoint() + "/health", .caFile = {}, .bearerToken = {}});
    if (last.status == 200) {
      return;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  throw std::runtime_error("testbed: etcd did not get healthy (" + etcd_.describeStatus() +
                           ", last answer " + std::to_string(last.status) + " " + last.error +
                           last.body + "); etcd.log:\n" + etcdLogTail());
}

ChildProcess Testbed::spawnApiserver(const ApiServerInfo& info) {
  const fs::path pki = dir() / "pki";
  std::vector<std::string> argv = {
      apiserverBinary_,
      "--etcd-servers=" + etcdEndpoint(),
      "--etcd-prefix=" + info.etcdPrefix,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      "--secure-port=" + std::to_string(info.port),
      "--insecure-port=0",
      "--cert-dir=" + fs::path(info.caFile).parent_path().string(),
      "--token-auth-file=" + users_.tokenAuthFile,
      "--client-ca-file=" + users_.clientCaFile,
      "--authorization-mode=RBAC",
      // Privileged containers are admitted, so that a host feature the syncer refuses is the
      // syncer's refusal (the Pod policy), not the API server's.
      "--allow-privileged=true",
      // Keys and issuer of its own (TokenRequest needs all three in 1.20); the API audience
      // defaults to the issuer.
      "--service-account-key-file=" + info.serviceAccountKeyFile,
      "--service-account-signing-key-file=" + info.serviceAccountSigningKey,
      "--service-account-issuer=" + info.serviceAccountIssuer,
      "--service-cluster-ip-range=10.96.0.0/16",
      "--enable-priority-and-fairness=false",
      // The lease reconciler would write (and fail: a loopback address is not a valid
      // endpoint) every 10 s; without it etcd changes only when tests write.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
      std::string("--watch-cache=") + (options_.watchCache ? "true" : "false"),
  };
  // Without the service-account controllers no "default" ServiceAccount exists, and the
  // ServiceAccount admission plugin would reject every Pod. A virtual cluster's source has them.
  if (!(info.name == "source" && options_.virtualClusterControllers)) {
    argv.push_back("--disable-admission-plugins=ServiceAccount");
  }
  argv.insert(argv.end(), options_.extraApiserverFlags.begin(), options_.extraApiserverFlags.end());
  return launcher_.spawn(ProcessSpec{.argv = argv, .env = {}, .logFile = info.logFile});
}

// Ready means: /readyz says so (all post-start hooks, RBAC bootstrap included), and the
// bootstrap controller has made the "default" namespace.
void Testbed::waitReady(Server& server) {
  const auto started = Clock::now();
  const auto deadline = started + options_.startTimeout;
  std::string seen = "no answer yet";
  while (Clock::now() < deadline) {
    if (!server.process.running()) {
      seen = "the process " + server.process.describeStatus();
      break;
    }
    if (!fs::exists(server.info.caFile)) {
      seen = "no serving certificate yet";
    } else {
      ProbeRequest request{.url = server.info.url + "/readyz",
                           .caFile = server.info.caFile,
                           .bearerToken = users_.adminToken};
      ProbeResult ready = httpGet(request);
      seen = ready.status == 0 ? ready.error
                               : "/readyz " + std::to_string(ready.status) + ": " + ready.body;
      if (ready.status == 200) {
        request.url = server.info.url + "/api/v1/namespaces/default";
        ProbeResult ns = httpGet(request);
        if (ns.status == 200) {
          return;
        }
        seen = "namespace default: " + std::to_string(ns.status) + " " + ns.error;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  throw std::runtime_error("testbed: the " + server.info.name + " API server (" + server.info.url +
                           ") is not ready after " + ms(Clock::now() - started) +
                           "; last seen: " + seen + "\n--- " + server.info.logFile +
                           " (tail) ---\n" + fileTail(server.info.logFile, 40));
}

ChildProcess Testbed::spawnControllerManager(const ApiServerInfo& info) {
  const fs::path certDir = dir() / info.name / "controller-manager-certs";
  const bool virtualCluster = info.name == "source" && options_.virtualClusterControllers;
  std::string controllers(kControllers);
  if (virtualCluster) {
    controllers += "," + std::string(kVirtualClusterControllers);
  }
  if (info.name == "target" && options_.scheduler) {
    controllers += "," + std::string(kHostControllers);
  }
  std::vector<std::string> argv = {
      controllerManagerBinary_,
      "--kubeconfig=" + info.controllerManagerKubeconfig,
      "--controllers=" + controllers,
      "--leader-elect=false",
      // Every controller uses the admin kubeconfig (no service-account tokens are issued).
      "--use-service-account-credentials=false",
      // /healthz on a free loopback port (self-signed certificate written to --cert-dir)...
      "--bind-address=127.0.0.1",
      "--secure-port=" + std::to_string(info.controllerManagerPort),
      "--cert-dir=" + certDir.string(),
      // ...and no insecure port: 1.20 would serve one on 0.0.0.0:10252, both sides the same.
      "--port=0",
      "--profiling=false",
  };
  if (virtualCluster) {
    // The token controller signs the token Secrets with the server's key and puts its CA in
    // them (ca.crt), as a cluster's own controller manager does.
    argv.push_back("--service-account-private-key-file=" + info.serviceAccountSigningKey);
    argv.push_back("--root-ca-file=" + info.caFile);
    // 1.20's client limit (20/s, burst 30) would make the ReplicaSet controller, not the
    // syncer, the bottleneck of the 2,000-Pod benchmark; the testbed's server is not shared.
    argv.push_back("--kube-api-qps=500");
    argv.push_back("--kube-api-burst=1000");
  }
  return launcher_.spawn(
      ProcessSpec{.argv = argv, .env = {}, .logFile = info.controllerManagerLogFile});
}

void Testbed::waitControllerManagerReady(Server& server) {
  waitHealthy(server.info.name + " kube-controller-manager", server.controllerManager,
              server.info.controllerManagerPort,
              dir() / server.info.name / "controller-manager-certs" / "kube-controller-manager.crt",
              server.info.controllerManagerLogFile);
}

// Ready means: it serves /healthz, so its flags were accepted and it runs; a controller
// manager or scheduler starts its loops right after (they then need a few seconds for
// discovery and informers).
void Testbed::waitHealthy(const std::string& name, ChildProcess& process, int port,
                          const fs::path& cert, const std::string& logFile) {
  const auto started = Clock::now();
  const auto deadline = started + options_.startTimeout;
  std::string seen = "no answer yet";
  while (Clock::now() < deadline) {
    if (!process.running()) {
      seen = "the process " + process.describeStatus();
      break;
    }
    if (!fs::exists(cert)) {
      seen = "no serving certificate yet";
    } else {
      const ProbeResult health =
          httpGet({.url = "https://127.0.0.1:" + std::to_string(port) + "/healthz",
                   .caFile = cert.string(),
                   .bearerToken = {}});
      if (health.status == 200) {
        return;
      }
      seen = health.status == 0 ? health.error
                                : "/healthz " + std::to_string(health.status) + ": " + health.body;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  throw std::runtime_error("testbed: the " + name + " is not ready after " +
                           ms(Clock::now() - started) + "; last seen: " + seen + "\n--- " +
                           logFile + " (tail) ---\n" + fileTail(logFile, 40));
}

void Testbed::stop(Side side) {
  std::lock_guard lock(mutex_);
  serverFor(side).process.stop(options_.stopGrace);
}

void Testbed::kill(Side side) {
  std::lock_guard lock(mutex_);
  serverFor(side).process.kill();
}

void Testbed::start(Side side) {
  std::lock_guard lock(mutex_);
  Server& server = serverFor(side);
  if (server.process.running()) {
    server.process.signal(SIGCONT);
  } else {
    server.process = spawnApiserver(server.info);
  }
  waitReady(server);
}

void Testbed::restart(Side side) {
  stop(side);
  start(side);
}

void Testbed::pause(Side side) {
  std::lock_guard lock(mutex_);
  serverFor(side).process.signal(SIGSTOP);
}

void Testbed::resume(Side side) {
  std::lock_guard lock(mutex_);
  serverFor(side).process.signal(SIGCONT);
}

bool Testbed::running(Side side) {
  std::lock_guard lock(mutex_);
  return serverFor(side).process.running();
}

bool Testbed::controllerManagerRunning(Side side) {
  std::lock_guard lock(mutex_);
  return serverFor(side).controllerManager.running();
}

bool Testbed::schedulerRunning() {
  std::lock_guard lock(mutex_);
  return scheduler_.running();
}

void Testbed::outage(Side side, milliseconds downFor) {
  stop(side);
  std::this_thread::sleep_for(downFor);
  start(side);
}

std::future<void> Testbed::outageInBackground(Side side, milliseconds downFor) {
  return std::async(std::launch::async, [this, side, downFor] { outage(side, downFor); });
}

void Testbed::stopEtcd() {
  std::lock_guard lock(mutex_);
  etcd_.stop(options_.stopGrace);
}

void Testbed::startEtcd() {
  std::lock_guard lock(mutex_);
  startEtcdLocked();
}

void Testbed::pauseEtcd() {
  std::lock_guard lock(mutex_);
  etcd_.signal(SIGSTOP);
}

void Testbed::resumeEtcd() {
  std::lock_guard lock(mutex_);
  etcd_.signal(SIGCONT);
}

CommandResult Testbed::runEtcdctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {options_.etcdctlBinary, "--endpoints=" + etcdEndpoint(),
                                   "--command-timeout=20s"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions commandOptions;
  commandOptions.env = {"ETCDCTL_API=3"};
  return runCommand(argv, commandOptions);
}

std::int64_t Testbed::etcdRevision() {
  const CommandResult status = runEtcdctl({"endpoint", "status", "--write-out=json"});
  if (!status.ok()) {
    throw std::runtime_error("testbed: etcdctl endpoint status: " + status.summary());
  }
  const std::string& out = status.out;
  auto parsed = kube::parseJson(out, "etcdctl endpoint status");
  if (!parsed || !parsed->IsArray() || parsed->Empty()) {
    throw std::runtime_error("testbed: unexpected etcdctl endpoint status output: " + out);
  }
  const kube::JsonValue* header = kube::at((*parsed)[0], "/Status/header");
  const auto revision = header != nullptr ? kube::intMember(*header, "revision") : std::nullopt;
  if (!revision) {
    throw std::runtime_error("testbed: no revision in etcdctl endpoint status output: " + out);
  }
  return *revision;
}

std::int64_t Testbed::compactEtcd() {
  const std::int64_t revision = etcdRevision();
  const CommandResult compacted = runEtcdctl({"compaction", std::to_string(revision)});
  // Compacted already (no write since the last call, or the API server's own compaction).
  if (!compacted.ok() &&
      compacted.err.find("required revision has been compacted") == std::string::npos) {
    throw std::runtime_error("testbed: etcdctl compaction: " + compacted.summary());
  }
  return revision;
}

CommandResult Testbed::kubectl(Side side, const std::vector<std::string>& args,
                               milliseconds timeout) const {
  std::vector<std::string> argv = {options_.kubectlBinary,
                                   "--kubeconfig=" + server(side).kubeconfig,
                                   "--cache-dir=" + (dir() / "kubectl-cache").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions commandOptions;
  commandOptions.timeout = timeout;
  return runCommand(argv, commandOptions);
}

std::string Testbed::logTail(Side side, std::size_t lines) const {
  return fileTail(server(side).logFile, lines);
}

std::string Testbed::etcdLogTail(std::size_t lines) const {
  return fileTail(dir() / "etcd.log", lines);
}

std::string Testbed::schedulerLogTail(std::size_t lines) const {
  const std::string& log = target_.info.schedulerLogFile;
  return log.empty() ? std::string("(no kube-scheduler)") : fileTail(log, lines);
}

std::string Testbed::controllerManagerLogTail(Side side, std::size_t lines) const {
  const std::string& log = server(side).controllerManagerLogFile;
  return log.empty() ? std::string("(no kube-controller-manager)") : fileTail(log, lines);
}

}  // namespace bisync::testing
