// The daemon's HTTP endpoints, as a real process against the testbed: /healthz and /readyz as
// the kubelet would probe them, /metrics as Prometheus would scrape it (its counters checked
// against what happened on the servers), and bind addresses that cannot be used.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::DaemonProcess;
using bisync::testing::kReadyLine;
using bisync::testing::numberedConfigMaps;
using bisync::testing::ProbeResult;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

ProbeResult get(const DaemonProcess& daemon, const std::string& path) {
  bisync::testing::ProbeRequest request;
  request.url = daemon.opsUrl() + path;
  return bisync::testing::httpGet(request);
}

// The sample's value in a fresh scrape; -1 when the scrape failed or lacks the series (`seen`
// says which).
double scraped(const DaemonProcess& daemon, const std::string& series, std::string& seen) {
  return daemon.metric(series, seen).value_or(-1);
}

const std::string kTargetApplies = R"(kube_bisync_writes_total{side="target",operation="apply"})";
const std::string kTargetDeletes = R"(kube_bisync_writes_total{side="target",operation="delete"})";

// A listening TCP socket on a free loopback port, for as long as it lives.
class TakenPort {
 public:
  TakenPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(fd_ >= 0);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(listen(fd_, 1) == 0);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { close(fd_); }
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace

TEST_CASE(
    "/healthz answers while the daemon waits for its API servers, /readyz only once its initial "
    "sync is done",
    "[ops]") {
  SyncScene scene("probes");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  REQUIRE(scene.tryCreateAll(cms, numberedConfigMaps(scene.ns(), 3, "v")));
  bisync::testing::ScopedPause outage(scene.testbed(), Side::Target);
  DaemonProcess daemon(scene.testbed(),
                       {BISYNC_DAEMON_BINARY, scene.daemonArgs({"--request-timeout", "2"})});
  REQUIRE(waitLogged(daemon, "the endpoints' address in the log", 30s,
                     [&](std::string& seen) { return !(seen = daemon.opsUrl()).empty(); }));

  const ProbeResult health = get(daemon, "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");
  const ProbeResult waiting = get(daemon, "/readyz");
  INFO("readyz: " << waiting.status << " " << waiting.body << waiting.error);
  CHECK(waiting.status == 503);
  CHECK(waiting.body.find("waiting for the API servers") != std::string::npos);
  CHECK(get(daemon, "/nothing-here").status == 404);

  outage.resume();
  REQUIRE(waitLogged(daemon, "/readyz answers 200", 60s, [&](std::string& seen) {
    const ProbeResult ready = get(daemon, "/readyz");
    seen = std::to_string(ready.status) + " " + ready.body + ready.error;
    return ready.status == 200 && ready.body == "ok\n";
  }));
  CHECK(daemon.countLog(kReadyLine) == 1);
  std::string seen;
  CHECK(scraped(daemon, "kube_bisync_ready", seen) == 1);
}

TEST_CASE("/metrics counts each write the daemon makes, and the objects in its caches", "[ops]") {
  SyncScene scene("metrics");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const auto created = scene.tryCreateAll(cms, numberedConfigMaps(scene.ns(), 5, "v1"));
  REQUIRE(created);
  DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 60s));
  REQUIRE(bisync::testing::waitForCopies(daemon, scene, cms, *created, 30s));

  std::string seen;
  // One apply per object, one namespace: nothing written twice. (The counter follows the
  // apply's answer, which may come after the copy's watch event.)
  CHECK(waitLogged(daemon, "5 target applies counted", 10s,
                   [&](std::string& s) { return scraped(daemon, kTargetApplies, s) >= 5; }));
  CHECK(scraped(daemon, kTargetApplies, seen) == 5);
  CHECK(scraped(daemon, "kube_bisync_namespace_writes_total", seen) == 1);
  CHECK(scraped(daemon, R"(kube_bisync_cache_objects{side="source",resource="configmaps"})",
                seen) >= 5);
  CHECK(scraped(daemon, R"(kube_bisync_cache_objects{side="target",resource="configmaps"})",
                seen) >= 5);
  CHECK(scraped(daemon, "kube_bisync_ready", seen) == 1);
  CHECK(scraped(daemon, "process_resident_memory_bytes", seen) > 0);
  CHECK(scraped(daemon, R"(kube_bisync_api_requests_total{side="target"})", seen) > 0);

  // A change of one source object: one more apply, and one new version of its copy.
  std::string listed;
  const auto before = scene.list(Side::Target, cms, scene.targetNs(), listed);
  REQUIRE(before);
  const std::string name = created->begin()->first;
  REQUIRE(scene.tryPatchData(cms, scene.ns(), name, {{"k", "v2"}}));
  REQUIRE(waitLogged(daemon, "the change counted", 30s,
                     [&](std::string& s) { return scraped(daemon, kTargetApplies, s) == 6; }));
  const auto after = scene.list(Side::Target, cms, scene.targetNs(), listed);
  REQUIRE(after);
  CHECK(after->at(name).data.at("k") == "v2");
  CHECK(after->at(name).resourceVersion != before->at(name).resourceVersion);

  REQUIRE(scene.tryRemove(cms, scene.ns(), name));
  REQUIRE(waitLogged(daemon, "the deletion counted", 30s,
                     [&](std::string& s) { return scraped(daemon, kTargetDeletes, s) == 1; }));
  CHECK(scraped(daemon, kTargetApplies, seen) == 6);
}

TEST_CASE("a bind address that is taken or malformed stops start-up with exit 2, naming it",
          "[ops]") {
  SyncScene scene("bind");
  const TakenPort taken;
  const std::string address = "127.0.0.1:" + std::to_string(taken.port());
  struct Case {
    std::vector<std::string> flags;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {{"--metrics-bind-address", address}, address + ": cannot listen"},
           {{"--health-probe-bind-address", address}, address + ": cannot listen"},
           {{"--metrics-bind-address", "nonsense"}, "--metrics-bind-address"},
           {{"--health-probe-bind-address", "127.0.0.1:99999"}, "--health-probe-bind-address"},
       }) {
    INFO(c.flags[0] << " " << c.flags[1]);
    DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs(c.flags)});
    CHECK(daemon.waitExit(30s) == "exited with status 2");
    INFO(daemon.log());
    CHECK(daemon.countLog(c.reason) == 1);
    CHECK(daemon.countLog(kReadyLine) == 0);
  }
}
