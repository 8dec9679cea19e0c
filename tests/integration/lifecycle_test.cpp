// The production-controller drills of docs/operations.md ("Failure drills"), one test case per
// drill, each named after it, all against the real testbed with the real kube-bisync daemon as a
// child process: leader election and failover, finalizer-guarded deletion, limits, target
// namespace lifecycle, disabling a kind, permission failures, and the least-privilege RBAC of
// examples/deploy. Waits poll with a deadline; what must not happen is checked over a window
// whose name says so.
//
// Each group of drills keeps its helpers in a namespace of its own.
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
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
namespace leader_drills {

namespace kube = bisync::kube;
using bisync::testing::DaemonOptions;
using bisync::testing::DaemonProcess;
using bisync::testing::holdsThroughout;
using bisync::testing::Side;
using bisync::testing::SyncScene;
using bisync::testing::Views;
using bisync::testing::waitLogged;
using Clock = std::chrono::steady_clock;

// Short durations keep the drill short: the others take over 6 s after the last renewal they
// saw, a leader stops writing 4 s after its last successful renewal.
constexpr auto kLeaseDuration = 6s;
constexpr int kObjects = 40;
const std::string kLeaderSeries = "kube_bisync_leader";
const std::string kBecameLeader = "leader election: became leader";
const std::string kFollowing = "not leading: waiting for leadership";

kube::ResourceInfo leases() {
  return {"coordination.k8s.io", "v1", "leases", "Lease", true, false, {}};
}

// Both replicas of one instance; a low --qps makes the sync of kObjects take seconds, so that
// there is a "mid-sync" to kill the leader in.
DaemonOptions replica(const SyncScene& scene) {
  return {BISYNC_DAEMON_BINARY,
          scene.daemonArgs({"--leader-elect", "--leader-elect-lease-duration", "6s",
                            "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period",
                            "1s", "--qps", "10", "--burst", "5"})};
}

std::string leaseName(const SyncScene& scene) { return "kube-bisync-" + scene.cluster(); }

// The identity a replica's current run elects with, from its log ("" until it said so).
std::string identityOf(const DaemonProcess& daemon) {
  const std::string log = daemon.log();
  const std::string marker = " as ";
  const auto line = log.find("leader election: Lease ");
  if (line == std::string::npos) return "";
  const auto start = log.find(marker, line);
  const auto end = log.find(" (", start);
  if (start == std::string::npos || end == std::string::npos) return "";
  return log.substr(start + marker.size(), end - start - marker.size());
}

// The Lease's holderIdentity ("" when it has none; "<unreadable>" when it cannot be read).
std::string leaseHolder(SyncScene& scene, std::string& seen) {
  auto lease = scene.api().run(scene.api()
                                   .client(Side::Target)
                                   .get(leases(), SyncScene::stateNamespace(), leaseName(scene)));
  if (!lease) {
    seen += " Lease: " + lease.error().describe() + ";";
    return "<unreadable>";
  }
  const std::string holder(kube::stringAt(*lease, "/spec/holderIdentity"));
  seen += " Lease held by '" + holder + "';";
  return holder;
}

// Waits until `daemon` leads: its kube_bisync_leader is 1 and the Lease names it.
bisync::testing::WaitOutcome waitForLeader(SyncScene& scene, DaemonProcess& daemon,
                                           std::chrono::milliseconds timeout) {
  const std::string identity = identityOf(daemon);
  return waitLogged(daemon, "the replica " + identity + " leads (metric and Lease)", timeout,
                    [&](std::string& seen) {
                      return daemon.metric(kLeaderSeries, seen) == 1.0 &&
                             leaseHolder(scene, seen) == identity;
                    });
}

// Every write a replica counts in its /metrics, summed; nullopt when the scrape fails.
std::optional<double> writesCounted(const DaemonProcess& daemon, std::string& seen) {
  double sum = 0;
  for (const std::string side : {"target", "source"}) {
    for (const std::string operation : {"apply", "patch", "create", "delete"}) {
      const auto value = daemon.metric(
          "kube_bisync_writes_total{side=\"" + side + "\",operation=\"" + operation + "\"}", seen);
      if (!value) return std::nullopt;
      sum += *value;
    }
  }
  for (const std::string series :
       {"kube_bisync_namespace_writes_total", "kube_bisync_events_total"}) {
    const auto value = daemon.metric(series, seen);
    if (!value) return std::nullopt;
    sum += *value;
  }
  return sum;
}

// The target copies of the scene's namespace that carry our managed-by label, by name.
std::optional<Views> managedCopies(SyncScene& scene, std::string& seen) {
  std::optional<Views> copies =
      scene.list(Side::Target, kube::resources::configMaps(), scene.targetNs(), seen);
  if (!copies) return std::nullopt;
  std::erase_if(*copies, [&](const auto& entry) {
    return bisync::testing::lookup(entry.second.labels, bisync::testing::kManagedBy) == "<absent>";
  });
  return copies;
}

// Every source has exactly one correct copy, and there is no other managed copy.
bisync::testing::WaitOutcome waitConverged(SyncScene& scene, DaemonProcess& leader,
                                           const Views& sources) {
  return waitLogged(
      leader, "each source has exactly one correct copy, and no copy is left over", 40s,
      [&](std::string& seen) {
        const std::optional<Views> copies = managedCopies(scene, seen);
        if (!copies) return false;
        const std::size_t correct =
            bisync::testing::countCorrectCopies(sources, *copies, scene, scene.ns(), seen);
        seen += " " + std::to_string(correct) + " correct of " + std::to_string(sources.size()) +
                ", " + std::to_string(copies->size()) + " managed copies;";
        return correct == sources.size() && copies->size() == sources.size();
      },
      250ms);
}

// The resourceVersion of every managed copy, by name.
std::map<std::string, std::string> copyVersions(SyncScene& scene) {
  std::string seen;
  const std::optional<Views> copies = managedCopies(scene, seen);
  INFO(seen);
  REQUIRE(copies);
  std::map<std::string, std::string> versions;
  for (const auto& [name, copy] : *copies) versions[name] = copy.resourceVersion;
  return versions;
}

// Deletes the drill's Lease at the end (after the replicas, which are declared later, are gone).
struct LeaseCleanup {
  SyncScene& scene;
  ~LeaseCleanup() {
    (void)scene.api().run(scene.api()
                              .client(Side::Target)
                              .remove(leases(), SyncScene::stateNamespace(), leaseName(scene)));
  }
};

// Starts `daemon`'s replica anew and waits until it follows with warm caches.
void startFollower(DaemonProcess& daemon) {
  daemon.start();
  REQUIRE(daemon.waitForLog(kFollowing, 30s));
}

// The first part: the leader is SIGKILLed while it copies; the follower takes over within the
// lease duration plus 5 s and converges. Returns the sources.
Views killLeaderMidSync(SyncScene& scene, DaemonProcess& first, DaemonProcess& second) {
  REQUIRE(waitForLeader(scene, first, 10s));
  REQUIRE(second.waitForLog(kFollowing, 30s));
  std::string seen;
  CHECK(second.metric(kLeaderSeries, seen) == 0.0);
  // A follower with warm caches is ready, and says who leads.
  bisync::testing::ProbeRequest readyz;
  readyz.url = second.opsUrl() + "/readyz";
  const bisync::testing::ProbeResult ready = bisync::testing::httpGet(readyz);
  INFO("/readyz of the follower: " << ready.status << " " << ready.body << ready.error);
  CHECK(ready.status == 200);
  CHECK_THAT(ready.body, Catch::Contains("leader: no (held by " + identityOf(first) + ")"));

  auto created =
      scene.tryCreateAll(kube::resources::configMaps(),
                         bisync::testing::numberedConfigMaps(scene.ns(), kObjects, "v1"));
  INFO((created ? std::string("created") : created.error()));
  REQUIRE(created);
  REQUIRE(waitLogged(
      first, "the leader has made a few copies (it is mid-sync)", 30s,
      [&](std::string& s) {
        const std::optional<Views> copies = managedCopies(scene, s);
        s += " " + std::to_string(copies ? copies->size() : 0) + " copies;";
        return copies && copies->size() >= 3;
      },
      20ms));
  const std::optional<Views> before = managedCopies(scene, seen);
  CHECK(writesCounted(second, seen) == 0.0);  // the follower writes nothing
  REQUIRE(::kill(first.pid(), SIGKILL) == 0);
  const auto killed = Clock::now();
  INFO("copies when the leader was killed: " << (before ? before->size() : 0) << " of "
                                             << kObjects);
  CHECK((before && before->size() < static_cast<std::size_t>(kObjects)));
  (void)first.waitExit(5s);
  const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(kLeaseDuration + 5s -
                                                                           (Clock::now() - killed));
  REQUIRE(waitForLeader(scene, second, bound));
  INFO("taken over "
       << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count()
       << " ms after SIGKILL");
  CHECK(Clock::now() - killed <= kLeaseDuration + 5s);
  REQUIRE(waitConverged(scene, second, *created));
  return *created;
}

// The second part: the leader (`old`) is paused past its Lease, `next` (restarted as a follower)
// takes over and converges with work of its own; the old leader, resumed, writes nothing: it
// exits with status 1 and no copy changes.
void pauseLeaderThenResume(SyncScene& scene, DaemonProcess& old, DaemonProcess& next,
                           Views& sources) {
  startFollower(next);
  REQUIRE(::kill(old.pid(), SIGSTOP) == 0);
  const auto paused = Clock::now();
  REQUIRE(waitForLeader(scene, next, kLeaseDuration + 5s));
  INFO("taken over "
       << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - paused).count()
       << " ms after the pause");
  // Work for the new leader while the old one is paused: five sources change.
  for (int i = 0; i < 5; ++i) {
    const std::string name = "cm-00" + std::to_string(i);
    auto patched = scene.tryPatchData(kube::resources::configMaps(), scene.ns(), name,
                                      {{"k", "while-paused"}});
    REQUIRE(patched);
    sources[name] = bisync::testing::viewOf(*patched);
  }
  REQUIRE(waitConverged(scene, next, sources));
  const std::map<std::string, std::string> versions = copyVersions(scene);
  std::string seen;
  const std::optional<double> leaderWrites = writesCounted(next, seen);
  INFO(seen);
  REQUIRE(leaderWrites);

  REQUIRE(::kill(old.pid(), SIGCONT) == 0);
  CHECK(old.waitExit(15s) == "exited with status 1");
  CHECK(old.countLog("leader election lost") >= 1);
  CHECK(holdsThroughout("the quiet 5 s after the resumed old leader exited: no copy changes", 5s,
                        [&](std::string& s) {
                          const auto now = copyVersions(scene);
                          s = std::to_string(now.size()) + " copies";
                          return now == versions;
                        }));
  CHECK(writesCounted(next, seen) == leaderWrites);
  CHECK(next.metric(kLeaderSeries, seen) == 1.0);
}

// The third part: the leader's SIGTERM releases the Lease, so the follower takes over well
// before the lease duration.
void terminateLeader(SyncScene& scene, DaemonProcess& leader, DaemonProcess& follower,
                     const Views& sources) {
  startFollower(follower);
  REQUIRE(::kill(leader.pid(), SIGTERM) == 0);
  const auto terminated = Clock::now();
  CHECK(leader.waitExit(30s) == "exited with status 0");
  CHECK(leader.countLog("leader election: released Lease") == 1);
  REQUIRE(waitForLeader(scene, follower, 4s));
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - terminated);
  INFO("taken over " << took.count() << " ms after SIGTERM");
  CHECK(took < kLeaseDuration);
  REQUIRE(waitConverged(scene, follower, sources));
}

TEST_CASE(
    "killing the leader with SIGKILL mid-sync hands over to the other replica, which converges "
    "with no lost and no duplicate copies",
    "[leader][lifecycle]") {
  SyncScene scene("leader");
  LeaseCleanup cleanup{scene};
  DaemonProcess first(scene.testbed(), replica(scene));
  // The second replica starts once the first leads, so that the roles are known.
  REQUIRE(first.waitForLog(kBecameLeader, 30s));
  DaemonProcess second(scene.testbed(), replica(scene));
  Views sources = killLeaderMidSync(scene, first, second);
  pauseLeaderThenResume(scene, second, first, sources);
  terminateLeader(scene, first, second, sources);
}

TEST_CASE("leader election durations that leave a leader no time to stop are refused with exit 2",
          "[leader]") {
  SyncScene scene("leaderflags");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "6s"},
       "the renew deadline must be shorter than the lease duration"},
      {{"--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "4s"},
       "the retry period must be shorter than the renew deadline"},
      {{"--leader-elect-retry-period", "soon"}, "is not a duration"},
  };
  for (const auto& [flags, reason] : refused) {
    std::vector<std::string> args = {"--leader-elect"};
    args.insert(args.end(), flags.begin(), flags.end());
    DaemonProcess daemon(scene.testbed(), {BISYNC_DAEMON_BINARY, scene.daemonArgs(args)});
    CHECK(daemon.waitExit(30s) == "exited with status 2");
    INFO(daemon.logTail());
    CHECK(daemon.countLog(reason) == 1);
    CHECK(daemon.countLog("leader election: Lease") == 0);  // refused before it connected
  }
}

}  // namespace leader_drills

// ---------------------------------------------------------------------------------------------
// Least-privilege RBAC of examples/deploy, permission failures.
namespace rbac_drills {}  // namespace rbac_drills

// ---------------------------------------------------------------------------------------------
// Forbidden answers on either side: reported, degraded, resumed.
namespace forbidden_drills {}  // namespace forbidden_drills
