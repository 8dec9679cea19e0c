// The benchmark run of issue 5: every scenario against one testbed, with the kube-bisync
// daemon as a separate process (tests/support/daemon_process.hpp) and the driver's own work
// done with the project's client. What it measures and how: docs/benchmarks.md.
//
// Used from the main thread; the clients and informers live on a LoopThread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/bench_kind.hpp"
#include "tests/bench/daemon_meter.hpp"
#include "tests/bench/report.hpp"
#include "tests/bench/sync_tracker.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/process.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::bench {

struct BenchOptions {
  std::string daemonBinary;
  std::size_t objects = 10000;        // scenarios 1, 2, 4, 5, 6 and the first memory point
  std::size_t memoryObjects = 50000;  // the second memory point (skipped when <= objects)
  std::size_t customObjects = 5000;   // scenario 7's custom objects (0: skipped)
  std::size_t namespaces = 20;
  std::size_t objectBytes = 1024;  // the payload in each object's content
  double rate = 200;               // scenario 2 updates a second
  std::chrono::seconds duration{60};
  std::chrono::seconds idle{120};
  // After a phase, how long to keep counting writes (late or spurious ones).
  std::chrono::seconds settle{5};
  // Daemon flags, and the limits of the baseline's client.
  std::size_t workers = 16;
  double qps = 1000;
  int burst = 2000;
  std::size_t seedConcurrency = 32;
  std::chrono::milliseconds probeInterval{100};
  std::chrono::seconds timeout{900};  // of each wait for the daemon
  std::string cluster = "bench";

  std::map<std::string, std::string> describe() const;
};

class Bench {
 public:
  Bench(testing::Testbed& testbed, BenchOptions options);
  ~Bench();
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // Runs every scenario; throws std::runtime_error when one cannot complete (the figures
  // measured until then stay in report()).
  void run();
  const Report& report() const { return report_; }

 private:
  // One kind of benchmark object as the scenarios measure it.
  struct Workload {
    BenchKind kind;
    // The daemon's flags beyond the usual ones (--policies for a custom kind).
    std::vector<std::string> daemonArgs;
    std::unique_ptr<SyncTracker> tracker;  // the driver's view of its copies; lives on loop_
    // A daemon started with daemonArgs, once ready, before any object of the kind exists.
    std::uint64_t idleRssBytes = 0;
  };
  // The report's scenario for each group of a kind's initial-sync figures.
  struct Placement {
    std::string initial;  // throughput
    std::string memory;
    std::string writes;
    std::string cpu;
    bool withTargets = true;  // issue 5's targets (set for ConfigMaps only)
  };

  // Set-up and helpers (bench.cpp).
  void startTracker(Workload& workload);
  void stopTracker(Workload& workload);
  void createSourceNamespaces();
  // Installs the custom kind's CRD on both servers (waiting until established) and writes the
  // policy file the daemon is then started with.
  void installCustomKind();
  // Deletes the target objects `keys` ("ns/name") of `resource` and checks that none labelled
  // `selector` is left. Their namespaces stay: deleting a namespace takes at least 5 s (the
  // namespace controller's grace period).
  void removeTargetObjects(const kube::ResourceInfo& resource, const std::vector<std::string>& keys,
                           const std::string& selector);
  void seed(Workload& workload, std::size_t from, std::size_t to);
  void waitForSourceCount(Workload& workload, std::size_t count);
  // Starts the daemon with the usual flags and the workload's own.
  void startDaemon(const Workload& workload);
  void stopDaemon();
  double waitForReady();  // seconds from startDaemon() to /readyz answering 200
  // Throws unless the running daemon says both servers serve the workload's kind.
  void requireServed(const Workload& workload);
  Clock::time_point waitForCopies(Workload& workload, std::size_t count);
  ProcessSample sampleDaemon();
  // CPU seconds of the target kube-apiserver so far; 0 when it was not found.
  double targetServerCpu() const;
  // The daemon's write counters now (from /metrics); while it is stopped, as it last said.
  WriteCounts pollWrites();
  std::uint64_t targetEvents();
  double meanObjectJsonBytes(Workload& workload);
  void settle();
  void progress(const std::string& message) const;

  // What one baseline copy of the source to target namespaces of its own measured.
  struct BaselineCopy {
    double rate = 0;                  // objects a second, list included
    double driverCpuPerThousand = 0;  // seconds
    double serverCpuPerThousand = 0;  // the target kube-apiserver's seconds
  };
  // Lists the workload's source objects and writes a copy of each into `prefix`<ns> (by create,
  // or by server-side apply as field manager `owner`), the copies labelled managed-by `owner`;
  // deletes them again before it returns (the namespaces stay; a later baseline with the same
  // prefix writes into them again). `scenario` names it in progress messages.
  BaselineCopy copyAsBaseline(const Workload& workload, const std::string& scenario,
                              const std::string& prefix, const std::string& owner, bool apply);

  // Scenarios (scenarios.cpp), in the order run() calls them.
  void measureIdleDaemon(Workload& workload);
  void scenarioCustomObjects();
  void scenarioInitialSync();
  void scenarioLatency();
  void scenarioIdleWrites();
  void scenarioRestart();
  void scenarioMemoryAtScale();
  // The initial sync of the workload's `n` source objects against its two baselines, its
  // CPU, writes and memory; what scenarios 1 and 7 share.
  void measureInitialSync(Workload& workload, std::size_t n, const Placement& at);
  void addMemoryFigure(Workload& workload, const std::string& scenario, std::size_t objects,
                       const ProcessSample& sample, bool withTarget);

  testing::Testbed& testbed_;
  BenchOptions options_;
  Report report_;
  Clock::time_point started_;
  // Declared before the clients: they are destroyed (on it) first.
  testing::LoopThread loop_;
  // The driver's own clients: unthrottled for set-up, load and watching; and with the daemon's
  // limits for the baselines.
  std::unique_ptr<testing::LoopClient> source_;
  std::unique_ptr<testing::LoopClient> target_;
  std::unique_ptr<testing::LoopClient> baselineSource_;
  std::unique_ptr<testing::LoopClient> baselineTarget_;
  Workload configMaps_;         // scenarios 1 to 6
  Workload custom_;             // scenario 7
  testing::TempDir customDir_;  // the custom kind's CRD and policy files
  std::unique_ptr<testing::DaemonProcess> daemon_;
  std::vector<std::string> daemonArgs_;  // the flags daemon_ runs with beyond the usual ones
  WriteCounts lastWrites_;               // the running daemon's counters at the last pollWrites()
  Clock::time_point daemonStarted_{};
  std::optional<pid_t> targetServer_;  // the target kube-apiserver
};

}  // namespace bisync::bench
