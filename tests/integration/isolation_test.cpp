// Isolation between instances on one host: what one tenant does on the host must not cost
// another tenant's instance memory or API traffic. Slow (a quarter of a GiB of objects goes
// through both API servers), so CTest labels it `slow` and the sanitizer pass leaves it out.
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/sync_scene.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::configMap;
using bisync::testing::DaemonProcess;
using bisync::testing::kReadyLine;
using bisync::testing::numberedConfigMaps;
using bisync::testing::SyncScene;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

constexpr int kBusyObjects = 500;
constexpr std::size_t kBusyObjectBytes = 500 * 1024;
constexpr int kBatch = 25;  // objects created at once: the test process holds only a batch
// How much the quiet instance's resident memory may move while the other tenant works: the
// allocator's own noise, far below the 250 MB that crossing its caches would take.
constexpr long kRssSlackKiB = 8 * 1024;

// VmRSS of process `pid` in KiB; nullopt when /proc does not say.
std::optional<long> residentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return std::nullopt;
}

// The daemon's cache metrics (every kube_bisync_cache_* series), as text to compare.
std::string cacheSeries(const DaemonProcess& daemon, std::string& seen) {
  const std::optional<std::string> text = daemon.scrapeMetrics(seen);
  if (!text) return "";
  std::istringstream lines(*text);
  std::string series;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("kube_bisync_cache_", 0) == 0) series += line + "\n";
  }
  return series;
}

}  // namespace

TEST_CASE("an instance's memory does not grow with another tenant's objects", "[isolation]") {
  SyncScene calm("calm");
  SyncScene busy("busy");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const auto calmObjects = calm.tryCreateAll(cms, numberedConfigMaps(calm.ns(), 20, "calm"));
  REQUIRE(calmObjects);
  REQUIRE(busy.tryCreateAll(cms, numberedConfigMaps(busy.ns(), 1, "busy")));
  DaemonProcess quiet(calm.testbed(), {BISYNC_DAEMON_BINARY, calm.daemonArgs()});
  DaemonProcess other(busy.testbed(), {BISYNC_DAEMON_BINARY, busy.daemonArgs()});
  REQUIRE(quiet.waitForLog(kReadyLine, 60s));
  REQUIRE(other.waitForLog(kReadyLine, 60s));
  REQUIRE(waitForCopies(quiet, calm, cms, *calmObjects, 30s));

  std::string seen;
  const std::string cachesBefore = cacheSeries(quiet, seen);
  INFO("scrape: " << seen);
  REQUIRE_FALSE(cachesBefore.empty());
  const std::optional<long> rssBefore = residentKiB(quiet.pid());
  REQUIRE(rssBefore);

  // The other tenant fills its namespace, and its instance copies all of it to the host.
  const std::string big(kBusyObjectBytes, 'x');
  for (int first = 0; first < kBusyObjects; first += kBatch) {
    std::vector<kube::Json> batch;
    for (int i = first; i < first + kBatch; ++i) {
      batch.push_back(configMap(busy.ns(), "big-" + std::to_string(i), {{"blob", big}}));
    }
    const auto created = busy.tryCreateAll(cms, batch);
    INFO((created ? std::string("created") : created.error()));
    REQUIRE(created);
  }
  REQUIRE(waitLogged(other, "the other instance holds all its copies", 300s, [&](std::string& s) {
    const auto copies =
        other.metric(R"(kube_bisync_cache_objects{side="target",resource="configmaps"})", s);
    s += " copies: " + std::to_string(copies.value_or(-1));
    return copies && *copies >= kBusyObjects + 1;
  }));

  const std::string cachesAfter = cacheSeries(quiet, seen);
  const std::optional<long> rssAfter = residentKiB(quiet.pid());
  REQUIRE(rssAfter);
  INFO("quiet instance RSS " << *rssBefore << " KiB -> " << *rssAfter << " KiB");
  CHECK(cachesAfter == cachesBefore);
  CHECK(*rssAfter - *rssBefore <= kRssSlackKiB);
  CHECK(quiet.countLog(busy.ns()) == 0);  // it never even heard of the other's objects
}
