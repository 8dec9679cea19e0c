// kube-bisync-bench: starts the testbed (etcd and two real kube-apiservers), runs every
// benchmark scenario of issue 5 against the kube-bisync daemon (a separate process), then the
// Pod scenario of issue 15 on a workload testbed of its own (pod_bench.hpp), prints
// one table on stdout and writes the figures to a JSON file. docs/benchmarks.md explains each
// figure. Exit status: 0 when every scenario ran (whether or not targets were met), 1 when one
// could not complete, 2 for bad flags.
#include <curl/curl.h>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "tests/bench/bench.hpp"
#include "tests/bench/pod_bench.hpp"
#include "tests/bench/report.hpp"
#include "tests/support/signal_teardown.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace bench = bisync::bench;

struct Flags {
  bench::BenchOptions options;
  std::string output = "bench-results.json";
  bool smoke = false;
  bool podsOnly = false;
  std::size_t pods = 2000;
  std::size_t nodes = 20;
  std::vector<std::string> podDaemonArgs;
  int durationSeconds = 60;
  int idleSeconds = 120;
  int settleSeconds = 5;
  int timeoutSeconds = 900;
  int probeIntervalMs = 100;
};

// --smoke: tiny sizes for CI (about a minute with the testbed's start), unless a flag names
// its own value.
void applySmoke(Flags& flags, const CLI::App& app) {
  auto unset = [&app](const char* name) { return app.count(name) == 0; };
  if (unset("--objects")) flags.options.objects = 200;
  if (unset("--memory-objects")) flags.options.memoryObjects = 400;
  if (unset("--custom-objects")) flags.options.customObjects = 200;
  if (unset("--namespaces")) flags.options.namespaces = 4;
  if (unset("--rate")) flags.options.rate = 20;
  if (unset("--duration")) flags.durationSeconds = 5;
  if (unset("--idle")) flags.idleSeconds = 5;
  if (unset("--settle")) flags.settleSeconds = 1;
  if (unset("--timeout")) flags.timeoutSeconds = 120;
  if (unset("--pods")) flags.pods = 40;
  if (unset("--nodes")) flags.nodes = 4;
}

// Scenario 8 on a testbed of its own: the workload testbed (the host's kube-scheduler, the
// virtual cluster's controllers), started once the other scenarios' testbed is gone.
void runPodScenario(const Flags& flags, bench::Report& report) {
  const bench::BenchOptions& o = flags.options;
  bench::PodBenchOptions options{.daemonBinary = o.daemonBinary,
                                 .pods = flags.pods,
                                 .namespaces = o.namespaces,
                                 .nodes = flags.nodes,
                                 .workers = o.workers,
                                 .qps = o.qps,
                                 .burst = o.burst,
                                 .settle = o.settle,
                                 .timeout = o.timeout,
                                 .cluster = o.cluster,
                                 .extraDaemonArgs = flags.podDaemonArgs};
  std::cerr << "[bench] starting the workload testbed\n";
  bisync::testing::TestbedOptions testbedOptions =
      bisync::testing::TestbedOptions::fromEnvironment();
  testbedOptions.scheduler = true;
  testbedOptions.virtualClusterControllers = true;
  bisync::testing::Testbed testbed(testbedOptions);
  bench::PodBench(testbed, options, report).run();
}

// Scenarios 1 to 7 on the default testbed; 0 when all of them ran.
int runConfigMapScenarios(const bench::BenchOptions& options, bench::Report& report) {
  int status = 1;
  try {
    std::cerr << "[bench] starting the testbed\n";
    bisync::testing::Testbed testbed;
    bench::Bench run(testbed, options);
    try {
      run.run();
      status = 0;
    } catch (const std::exception& e) {
      std::cerr << "kube-bisync-bench: " << e.what() << "\n";
    }
    report = run.report();
  } catch (const std::exception& e) {
    std::cerr << "kube-bisync-bench: " << e.what() << "\n";
  }
  return status;
}

}  // namespace

int main(int argc, char* argv[]) {
  // First, before any thread exists: SIGINT/SIGTERM then tear the testbed down.
  bisync::testing::SignalTeardown signals;

  CLI::App app{
      "kube-bisync-bench: throughput, latency, memory, restart, write amplification "
      "and CPU of the kube-bisync daemon against a real testbed (see docs/benchmarks.md)"};
  Flags flags;
  bench::BenchOptions& o = flags.options;
  o.daemonBinary = BISYNC_DAEMON_BINARY;
  app.add_option("--objects", o.objects, "source ConfigMaps for scenarios 1, 2, 4, 5, 6")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--memory-objects", o.memoryObjects,
                 "source ConfigMaps at the second memory point (0 or <= --objects: skipped)")
      ->capture_default_str();
  app.add_option("--custom-objects", o.customObjects,
                 "scenario 7: source custom objects (Widgets, synced by the generic translator); "
                 "0: skipped")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--namespaces", o.namespaces, "source namespaces the objects are spread over")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--object-bytes", o.objectBytes,
                 "payload bytes of each object (a ConfigMap's data, a custom object's spec)")
      ->check(CLI::Range(1, 900000))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "scenario 2: source updates a second")
      ->check(CLI::Range(0.1, 100000.0))
      ->capture_default_str();
  app.add_option("--duration", flags.durationSeconds, "scenario 2: seconds of updates")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--idle", flags.idleSeconds, "scenario 5: idle seconds counted for writes")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_option("--settle", flags.settleSeconds,
                 "seconds writes are still counted after a phase (late or spurious writes)")
      ->check(CLI::Range(0, 600))
      ->capture_default_str();
  app.add_option("--workers", o.workers, "daemon --workers; the baseline's concurrency")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--qps", o.qps, "daemon --qps; the baseline client's rate limit")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--burst", o.burst, "daemon --burst; the baseline client's burst")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed-concurrency", o.seedConcurrency,
                 "concurrent creates when the driver fills the source")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--probe-interval-ms", flags.probeIntervalMs,
                 "scenario 2: milliseconds between the baseline's target applies")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  app.add_option("--timeout", flags.timeoutSeconds, "seconds any one wait for the daemon may take")
      ->check(CLI::Range(10, 36000))
      ->capture_default_str();
  app.add_option(
         "--pods", flags.pods,
         "scenario 8: Pods of Deployments of 10 scaled up in the virtual cluster; 0: skipped")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--nodes", flags.nodes, "scenario 8: simulated host nodes")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_flag("--pods-only", flags.podsOnly, "run scenario 8 only");
  app.add_option(
         "--pod-daemon-arg", flags.podDaemonArgs,
         "scenario 8: one more flag for the daemon, e.g. --pod-daemon-arg=--sync-events=false "
         "(repeatable)")
      ->allow_extra_args(false);
  app.add_option("--daemon", o.daemonBinary, "the kube-bisync executable")->capture_default_str();
  app.add_option("--output", flags.output, "the JSON file of the figures")->capture_default_str();
  app.add_flag("--smoke", flags.smoke,
               "tiny sizes for CI: 200 objects (400 for memory, 200 custom objects) in 4 "
               "namespaces, 20 updates/s for 5 s, 5 s idle, 40 Pods on 4 nodes; flags given "
               "explicitly still win");
  CLI11_PARSE(app, argc, argv);
  if (flags.smoke) applySmoke(flags, app);
  o.duration = std::chrono::seconds(flags.durationSeconds);
  o.idle = std::chrono::seconds(flags.idleSeconds);
  o.settle = std::chrono::seconds(flags.settleSeconds);
  o.timeout = std::chrono::seconds(flags.timeoutSeconds);
  o.probeInterval = std::chrono::milliseconds(flags.probeIntervalMs);

  // The project's client and informers log at info; the driver's own progress is enough.
  spdlog::set_level(spdlog::level::warn);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int status = 1;
  const auto started = std::chrono::steady_clock::now();
  bench::RunInfo info{.date = bench::utcNow(),
                      .commit = bench::describeCommit(BISYNC_SOURCE_DIR),
                      .machine = bench::describeMachine(),
                      .settings = o.describe()};
  info.settings["pods"] = std::to_string(flags.pods);
  info.settings["nodes"] = std::to_string(flags.nodes);
  info.settings["pods-only"] = flags.podsOnly ? "true" : "false";
  bench::Report report;
  status = flags.podsOnly ? 0 : runConfigMapScenarios(o, report);
  if (status == 0 && flags.pods > 0) {
    try {
      runPodScenario(flags, report);
    } catch (const std::exception& e) {
      std::cerr << "kube-bisync-bench: " << e.what() << "\n";
      status = 1;
    }
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "kube-bisync benchmark, " << info.date << ", " << info.machine << ", commit "
            << info.commit << "\n\n";
  report.printTable(std::cout);
  try {
    report.writeJson(flags.output, info);
    std::cout << "\nfigures written to " << flags.output << " (" << static_cast<int>(info.seconds)
              << " s)\n";
  } catch (const std::exception& e) {
    std::cerr << "kube-bisync-bench: " << e.what() << "\n";
    status = 1;
  }
  curl_global_cleanup();
  return status;
}
