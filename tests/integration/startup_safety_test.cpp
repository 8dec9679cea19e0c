// Start-up safety of kube-bisync, run as a real process against the testbed: each side's
// connection settings must be chosen explicitly, one cluster on both sides is refused (by URL
// before connecting, by the kube-system namespace's uid after), plain HTTP needs
// --allow-insecure-http, insecure-skip-tls-verify is warned about, and the probe endpoint closes
// connections beyond its limit.
//
// Kubeconfigs here are the testbed's admin kubeconfigs with one field changed. The testbed's
// serving certificates are kube-apiserver's self-signed ones and name 127.0.0.1 but not
// localhost, and the daemon cannot verify against another name (tls-server-name is not
// supported, docs/operations.md): a kubeconfig that reaches a server through `localhost` must
// skip verification, which is also what makes the daemon warn about it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace fs = std::filesystem;
using bisync::testing::CommandOptions;
using bisync::testing::CommandResult;
using bisync::testing::DaemonProcess;
using bisync::testing::kReadyLine;
using bisync::testing::runCommand;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::TempDir;
using bisync::testing::Testbed;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

const std::string kSameCluster = "source and target are the same cluster: ";

// The testbed's admin kubeconfig of `side`, written to `file` after `edit` changed its cluster
// entry (server, certificate-authority, ...) and its context.
using KubeconfigEdit = std::function<void(YAML::Node& cluster, YAML::Node& context)>;
fs::path editedKubeconfig(const Testbed& testbed, Side side, const fs::path& file,
                          const KubeconfigEdit& edit) {
  testbed.writeKubeconfig(side, bisync::testing::Auth::AdminToken, file);
  YAML::Node config = YAML::LoadFile(file.string());
  YAML::Node cluster = config["clusters"][0]["cluster"];
  YAML::Node context = config["contexts"][0]["context"];
  edit(cluster, context);
  YAML::Emitter out;
  out << config;
  bisync::testing::writeFile(file, std::string(out.c_str()) + "\n");
  return file;
}

// `side`'s server through another URL: `url` instead of https://127.0.0.1:<port>.
KubeconfigEdit serverUrl(std::string url) {
  return [url = std::move(url)](YAML::Node& cluster, YAML::Node&) { cluster["server"] = url; };
}

// `side`'s server through https://localhost:<port>, its certificate not verified.
KubeconfigEdit viaLocalhostUnverified(const Testbed& testbed, Side side) {
  const std::string url = "https://localhost:" + std::to_string(testbed.server(side).port);
  return [url](YAML::Node& cluster, YAML::Node&) {
    cluster["server"] = url;
    cluster.remove("certificate-authority");
    cluster["insecure-skip-tls-verify"] = true;
  };
}

const KubeconfigEdit kUnchanged = [](YAML::Node&, YAML::Node&) {};

// The shared testbed, a folder of the test's own, and both sides' admin kubeconfigs in it.
struct Kubeconfigs {
  Kubeconfigs()
      : testbed(bisync::testing::sharedTestbed()),
        dir(testbed.dir(), "startup-safety-"),
        source(edited(Side::Source, "source.kubeconfig", kUnchanged)),
        target(edited(Side::Target, "target.kubeconfig", kUnchanged)) {}

  // Another kubeconfig of `side`, named `name`, changed by `edit`.
  fs::path edited(Side side, const std::string& name, const KubeconfigEdit& edit) const {
    return editedKubeconfig(testbed, side, dir.path() / name, edit);
  }

  Testbed& testbed;
  TempDir dir;
  fs::path source;
  fs::path target;
};

// The daemon run to its end; its endpoints are off, so that nothing competes for a port.
CommandResult runDaemon(const std::vector<std::string>& flags,
                        const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {BISYNC_DAEMON_BINARY,
                                   "--cluster-name",
                                   "startup-safety",
                                   "--metrics-bind-address",
                                   "0",
                                   "--health-probe-bind-address",
                                   "0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  CommandOptions options;
  options.timeout = 60s;
  options.env = env;
  return runCommand(argv, options);
}

// stderr is exactly `line` and a line break.
void checkOnlyLine(const CommandResult& result, const std::string& line) {
  INFO(result.summary() << "\nstdout: " << result.out);
  REQUIRE_FALSE(result.timedOut);
  CHECK(result.exitCode == 2);
  CHECK(result.err == "kube-bisync: " + line + "\n");
}

// A plain TCP client of 127.0.0.1:port; reads give up after 3 s.
class TcpClient {
 public:
  explicit TcpClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    const timeval timeout{3, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~TcpClient() { close(fd_); }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // "closed" when the server closed the connection without sending anything, "timeout" when it
  // neither sent nor closed, else what it sent.
  std::string firstRead() const {
    char buffer[256];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) return "closed";
    if (n < 0) return "timeout";
    return {buffer, static_cast<std::size_t>(n)};
  }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("source and target that are the same cluster are refused at start-up", "[startup]") {
  const Kubeconfigs kubeconfigs;
  Testbed& testbed = kubeconfigs.testbed;
  const fs::path& target = kubeconfigs.target;
  const std::string targetUrl = testbed.server(Side::Target).url;  // https://127.0.0.1:<port>
  const std::string port = std::to_string(testbed.server(Side::Target).port);

  // Before connecting: the same file twice, and the same server spelt differently.
  const fs::path spelt = kubeconfigs.edited(Side::Target, "spelt.kubeconfig",
                                            serverUrl("HTTPS://127.0.0.1:" + port + "/"));
  for (const fs::path& source : {target, spelt}) {
    const std::string sourceUrl = source == target ? targetUrl : "HTTPS://127.0.0.1:" + port;
    const CommandResult refused =
        runDaemon({"--source-kubeconfig", source.string(), "--target-kubeconfig", target.string()});
    checkOnlyLine(refused, kSameCluster + "source (" + sourceUrl + ") and target (" + targetUrl +
                               ") both name the API server " + targetUrl +
                               "; kube-bisync would sync the cluster into itself");
    CHECK(refused.out.empty());  // it stopped before logging anything, let alone connecting
  }

  // After connecting: a URL the first check cannot relate to 127.0.0.1 (the kube-system uid
  // catches it). The server is paused first: the daemon waits for it as for any server that
  // is not reachable yet, and checks once it answers.
  const fs::path localhost = kubeconfigs.edited(Side::Target, "localhost.kubeconfig",
                                                viaLocalhostUnverified(testbed, Side::Target));
  bisync::testing::ScopedPause paused(testbed, Side::Target);
  DaemonProcess daemon(
      testbed, {BISYNC_DAEMON_BINARY,
                {"--source-kubeconfig", localhost.string(), "--target-kubeconfig", target.string(),
                 "--cluster-name", "startup-safety", "--request-timeout", "2"},
                false});
  REQUIRE(daemon.waitForLog("source API server is not reachable yet", 30s));
  paused.resume();
  CHECK(daemon.waitExit(60s) == "exited with status 2");
  INFO(daemon.describe());
  CHECK(daemon.countLog("kube-bisync: " + kSameCluster +
                        "the API servers https://localhost:" + port + " (source) and " + targetUrl +
                        " (target) report the same kube-system namespace (uid ") == 1);
  CHECK(daemon.countLog("caches synced") == 0);

  // The same with the certificate verified: curl reads 127.1 as 127.0.0.1.
  const fs::path shorthand =
      kubeconfigs.edited(Side::Target, "shorthand.kubeconfig", serverUrl("https://127.1:" + port));
  const CommandResult refused = runDaemon(
      {"--source-kubeconfig", shorthand.string(), "--target-kubeconfig", target.string()});
  INFO(refused.summary() << "\nstdout: " << refused.out);
  CHECK(refused.exitCode == 2);
  CHECK_THAT(refused.err, Catch::StartsWith("kube-bisync: " + kSameCluster +
                                            "the API servers https://127.1:" + port +
                                            " (source) and " + targetUrl + " (target) report"));
}

TEST_CASE(
    "without an explicit kubeconfig or in-cluster flag for a side the daemon exits 2 before "
    "connecting, naming the flags, and reads neither KUBECONFIG nor ~/.kube/config",
    "[startup]") {
  const Kubeconfigs kubeconfigs;
  const std::string source = kubeconfigs.source;
  const std::string target = kubeconfigs.target;
  const fs::path& home = kubeconfigs.dir.path();
  fs::create_directories(home / ".kube");
  fs::copy_file(source, home / ".kube" / "config");
  const std::vector<std::string> usableEnvironment = {"KUBECONFIG=" + source,
                                                      "HOME=" + home.string()};

  checkOnlyLine(runDaemon({"--target-kubeconfig", target}, usableEnvironment),
                "source: --source-kubeconfig FILE or --source-in-cluster is required (KUBECONFIG "
                "and ~/.kube/config are not read)");
  checkOnlyLine(runDaemon({"--source-kubeconfig", source}, usableEnvironment),
                "target: --target-kubeconfig FILE or --target-in-cluster is required (KUBECONFIG "
                "and ~/.kube/config are not read)");
  checkOnlyLine(runDaemon({"--source-kubeconfig", source, "--source-in-cluster",
                           "--target-kubeconfig", target}),
                "source: --source-kubeconfig and --source-in-cluster exclude each other");
  checkOnlyLine(runDaemon({"--source-kubeconfig", source, "--target-in-cluster", "--target-context",
                           "admin"}),
                "target: --target-context needs --target-kubeconfig (an in-cluster config has no "
                "contexts)");
  checkOnlyLine(runDaemon({"--source-kubeconfig", source, "--target-kubeconfig", target,
                           "--state-namespace", "Not_A_Namespace"}),
                "--state-namespace: \"Not_A_Namespace\" is not a namespace name (a DNS label: at "
                "most 63 characters of a-z, 0-9 and '-', starting and ending with a letter or "
                "digit)");
}

TEST_CASE(
    "an http:// API server is refused unless --allow-insecure-http is given, naming the side and "
    "the URL",
    "[startup]") {
  const Kubeconfigs kubeconfigs;
  const std::string url =
      "http://127.0.0.1:" + std::to_string(kubeconfigs.testbed.server(Side::Target).port);
  const fs::path target = kubeconfigs.edited(Side::Target, "http.kubeconfig", serverUrl(url));
  const std::vector<std::string> flags = {"--source-kubeconfig", kubeconfigs.source.string(),
                                          "--target-kubeconfig", target.string()};
  const CommandResult refused = runDaemon(flags);
  checkOnlyLine(refused, "target: server " + url +
                             " is plain HTTP: credentials and objects would cross the network "
                             "unencrypted; use https, or pass --allow-insecure-http (for local "
                             "tests)");
  CHECK(refused.out.empty());

  // Allowed, it is warned about and used; this server speaks only TLS, so the daemon waits.
  std::vector<std::string> allowed = flags;
  allowed.insert(allowed.end(), {"--allow-insecure-http", "--cluster-name", "startup-safety-http"});
  DaemonProcess daemon(kubeconfigs.testbed, {BISYNC_DAEMON_BINARY, allowed, false});
  REQUIRE(daemon.waitForLog("target API server is not reachable yet", 30s));
  CHECK(daemon.countLog("[warning] target: plain HTTP to " + url +
                        " (--allow-insecure-http): credentials and objects cross the network "
                        "unencrypted") == 1);
  CHECK(daemon.terminate() == "exited with status 0");
}

TEST_CASE(
    "insecure-skip-tls-verify in a kubeconfig the daemon uses logs a warning naming the side, "
    "and the daemon still gets ready",
    "[startup]") {
  SyncScene scene("insecure");
  const Kubeconfigs kubeconfigs;
  const fs::path source = kubeconfigs.edited(Side::Source, "localhost.kubeconfig",
                                             viaLocalhostUnverified(scene.testbed(), Side::Source));
  // The target's context names a namespace: it becomes the state namespace.
  const fs::path target = kubeconfigs.edited(
      Side::Target, "namespaced.kubeconfig",
      [](YAML::Node&, YAML::Node& context) { context["namespace"] = "default"; });
  std::vector<std::string> flags = {"--source-kubeconfig", source.string(), "--target-kubeconfig",
                                    target.string()};
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs(flags), false});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  INFO(daemon.describe());
  CHECK(daemon.countLog(
            "[warning] source: insecure-skip-tls-verify is set (kubeconfig " + source.string() +
            ", context source-admin): the API server's certificate is not checked") == 1);
  CHECK(daemon.countLog("[warning] target: insecure-skip-tls-verify") == 0);
  CHECK(daemon.countLog("state namespace: default (the namespace of the target's context)") == 1);
  CHECK(daemon.terminate() == "exited with status 0");
}

TEST_CASE(
    "the probe endpoint closes connections beyond its limit of 64 at once and counts them, while "
    "/metrics on its own port answers",
    "[startup][ops]") {
  SyncScene scene("connection-cap");
  const int probePort = bisync::testing::pickFreePort();
  const std::string probeAddress = "127.0.0.1:" + std::to_string(probePort);
  DaemonProcess daemon(
      scene.testbed(),
      {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--health-probe-bind-address", probeAddress})});
  REQUIRE(daemon.waitForLog("serving /healthz, /readyz on http://" + probeAddress, 30s));
  REQUIRE(daemon.waitForLog("serving /metrics on http://127.0.0.1:", 30s));
  const std::string open = "kube_bisync_http_open_connections{address=\"" + probeAddress + "\"}";
  const std::string rejected =
      "kube_bisync_http_rejected_connections_total{address=\"" + probeAddress + "\"}";

  // Idle connections hold their slots until the 5 s request deadline; the checks below fit
  // well inside it.
  std::vector<std::unique_ptr<TcpClient>> idle;
  for (int i = 0; i < 64; ++i) idle.push_back(std::make_unique<TcpClient>(probePort));
  REQUIRE(waitLogged(daemon, "64 open probe connections", 3s, [&](std::string& seen) {
    return daemon.metric(open, seen).value_or(-1) == 64;
  }));
  const TcpClient oneTooMany(probePort);
  CHECK(oneTooMany.firstRead() == "closed");
  std::string seen;
  CHECK(daemon.metric(rejected, seen).value_or(-1) == 1);
  CHECK(daemon.countLog("64 connections are open, its limit: closing new ones at once") == 1);

  idle.clear();
  bisync::testing::ProbeRequest request;
  request.url = "http://" + probeAddress + "/healthz";
  CHECK(waitLogged(daemon, "/healthz answers again", 10s, [&](std::string& s) {
    const bisync::testing::ProbeResult health = bisync::testing::httpGet(request);
    s = std::to_string(health.status) + " " + health.body + health.error;
    return health.status == 200;
  }));
  CHECK(daemon.metric(rejected, seen).value_or(-1) == 1);
  CHECK(daemon.terminate() == "exited with status 0");
}
