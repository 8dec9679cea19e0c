// Scenario 8 of the benchmark (issue 15, docs/benchmarks.md): Pods of Deployments scaled up in
// the virtual cluster (the source) and run on the host (the target) through the daemon, against
// the same Pods created directly on the host. Both are scheduled by the host's real
// kube-scheduler and "run" by the same NodeSimulator; it needs the workload testbed
// (TestbedOptions::scheduler and virtualClusterControllers).
//
// Used from the main thread; the clients and watches live on a LoopThread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/daemon_meter.hpp"
#include "tests/bench/report.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::bench {

struct PodBenchOptions {
  std::string daemonBinary;
  std::size_t pods = 2000;
  std::size_t namespaces = 20;
  std::size_t replicas = 10;  // of each Deployment: pods / replicas Deployments
  std::size_t nodes = 20;     // simulated host nodes
  // Daemon flags, and the limits and concurrency of the baseline's client.
  std::size_t workers = 16;
  double qps = 1000;
  int burst = 2000;
  std::chrono::seconds settle{5};
  std::chrono::seconds timeout{900};
  std::string cluster = "bench";
  // Added to the daemon's flags (--pod-daemon-arg): to measure without a feature, or to debug.
  std::vector<std::string> extraDaemonArgs{};
};

class PodBench {
 public:
  // `testbed` must be a workload testbed; the figures are added to `report`.
  PodBench(testing::Testbed& testbed, PodBenchOptions options, Report& report);
  ~PodBench();
  PodBench(const PodBench&) = delete;
  PodBench& operator=(const PodBench&) = delete;

  // Throws std::runtime_error when the scenario cannot complete (the figures measured until
  // then stay in the report).
  void run();

 private:
  struct Run {                        // one way of getting the Pods Running, as measured
    double seconds = 0;               // from the first request to the last Pod seen Running
    std::vector<double> latenciesMs;  // per Pod: first seen to seen Running, on its side
    std::string note;
  };

  void createNamespaces();
  void createDeployments();
  Run runDirectly();  // the baseline: the Pods created on the host by the driver
  // Seconds from kubectl scale to the last virtual Pod made, with no daemon running; then
  // scaled back to 0.
  double runControllersAlone();
  void scaleDeployments(std::size_t replicas);  // every Deployment
  Run runThroughDaemon();                       // kubectl scale in the virtual cluster
  double meanPodJsonBytes(const std::vector<std::string>& keys);
  // The daemon's counters that a run's figures and notes are differences of.
  struct DaemonCounters {
    WriteCounts writes;
    std::uint64_t hostViewWrites = 0;  // Event copies, virtual Nodes, its own Events
    std::optional<HistogramSnapshot> queueWaits;
    std::optional<HistogramSnapshot> reconciles;
    double cpuSeconds = 0;
  };
  DaemonCounters readCounters();
  static std::string describeCounters(const DaemonCounters& before, const DaemonCounters& after);
  void startDaemon();
  void stopDaemon();
  std::uint64_t rssBytes();
  std::string memoryBreakdown();
  void addFigures(const Run& direct, const Run& synced);
  void progress(const std::string& message) const;

  testing::Testbed& testbed_;
  PodBenchOptions options_;
  Report& report_;
  std::chrono::steady_clock::time_point started_;
  testing::LoopThread loop_;  // declared before the clients: they are destroyed on it first
  std::unique_ptr<testing::LoopClient> source_;
  std::unique_ptr<testing::LoopClient> target_;
  std::unique_ptr<testing::LoopClient> baselineTarget_;  // the daemon's client limits
  std::unique_ptr<testing::DaemonProcess> daemon_;
  std::uint64_t idleRssBytes_ = 0;
  std::uint64_t rssBytes_ = 0;  // once every Pod ran and writes settled
  double meanPodJson_ = 0;
  double controllersAloneSeconds_ = 0;
  // Where the daemon's memory goes, from its metrics: idle, and with every Pod running.
  std::string idleMemoryNote_;
  std::string memoryNote_;
  // The daemon's, from kubectl scale until the Pods ran and settled.
  WriteCounts writes_;
  std::uint64_t hostViewWrites_ = 0;  // Event copies, virtual Nodes, its own Events
};

}  // namespace bisync::bench
