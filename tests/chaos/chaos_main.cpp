// kube-bisync-chaos: the convergence checker of issue 16 (docs/reliability.md, "Chaos"). Starts
// a testbed of its own, runs two replicas of the daemon under leader election, a seeded random
// workload and every fault kind, and checks that both clusters end where the policies say.
// Exit status: 0 when every round converged with nothing lost, orphaned, duplicated or
// rewritten; 1 otherwise; 2 for bad flags.
#include <curl/curl.h>

#include <exception>
#include <iostream>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "tests/chaos/chaos_run.hpp"
#include "tests/support/signal_teardown.hpp"

namespace {

namespace chaos = bisync::chaos;

struct Flags {
  chaos::ChaosOptions options;
  bool smoke = false;
  int roundSeconds = 170;
  int quietSeconds = 30;
  int convergeSeconds = 180;
};

// --smoke: about two minutes for CI (one round, every fault kind once), unless a flag names its
// own value.
void applySmoke(Flags& flags, const CLI::App& app) {
  auto unset = [&app](const char* name) { return app.count(name) == 0; };
  if (unset("--rounds")) flags.options.rounds = 1;
  if (unset("--round-seconds")) flags.roundSeconds = 60;
  if (unset("--namespaces")) flags.options.namespaces = 2;
  if (unset("--names")) flags.options.workload.namesPerKind = 5;
  if (unset("--ops-per-second")) flags.options.workload.opsPerSecond = 6;
  if (unset("--deployments")) flags.options.pods.deploymentsPerNamespace = 1;
  if (unset("--converge-seconds")) flags.convergeSeconds = 120;
}

std::string replayCommand(const Flags& flags, const CLI::App& app) {
  std::string command = "bash tests/chaos/run.sh --seed " + std::to_string(flags.options.seed);
  if (flags.smoke) command += " --smoke";
  for (const char* name : {"--rounds", "--round-seconds", "--namespaces", "--names",
                           "--ops-per-second", "--deployments", "--quiet-seconds"}) {
    if (app.count(name) > 0)
      command += std::string(" ") + name + " " + app[name]->as<std::string>();
  }
  return command;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists: Ctrl-C or a CI timeout then stops the testbed and the
  // daemons and removes their folders.
  bisync::testing::SignalTeardown signals;
  Flags flags;
  flags.options.seed = std::random_device{}();
  flags.options.daemonBinary = BISYNC_DAEMON_BINARY;
  CLI::App app{"kube-bisync-chaos: faults, a random workload, and a check that nothing is lost"};
  app.add_option("--seed", flags.options.seed, "seed of the workload and the fault order")
      ->capture_default_str();
  app.add_flag("--smoke", flags.smoke, "CI size: one round of 60 s, about two minutes in all");
  app.add_option("--rounds", flags.options.rounds, "rounds of workload, faults and checks")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--round-seconds", flags.roundSeconds, "workload and faults per round")
      ->check(CLI::Range(20, 3600))
      ->capture_default_str();
  app.add_option("--namespaces", flags.options.namespaces, "source namespaces")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  app.add_option("--names", flags.options.workload.namesPerKind,
                 "object names per kind and namespace")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--ops-per-second", flags.options.workload.opsPerSecond, "workload rate")
      ->check(CLI::Range(0.1, 1000.0))
      ->capture_default_str();
  app.add_option("--deployments", flags.options.pods.deploymentsPerNamespace,
                 "Deployments per namespace (each scaled between 0 and 3 replicas)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  app.add_option("--quiet-seconds", flags.quietSeconds, "quiet window after convergence")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  app.add_option("--converge-seconds", flags.convergeSeconds, "longest wait for convergence")
      ->check(CLI::Range(10, 3600))
      ->capture_default_str();
  app.add_option("--daemon", flags.options.daemonBinary, "the kube-bisync executable")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (flags.smoke) applySmoke(flags, app);
  flags.options.workload.seed = flags.options.seed;
  flags.options.pods.seed = flags.options.seed;
  flags.options.roundLength = std::chrono::seconds(flags.roundSeconds);
  flags.options.quietWindow = std::chrono::seconds(flags.quietSeconds);
  flags.options.convergeTimeout = std::chrono::seconds(flags.convergeSeconds);
  flags.options.replay = replayCommand(flags, app);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::cout << "chaos: seed " << flags.options.seed << " (replay: " << flags.options.replay << ")"
            << std::endl;
  try {
    const chaos::Report report = chaos::runChaos(flags.options);
    chaos::print(std::cout, report);
    curl_global_cleanup();
    return report.passed() ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << "chaos: " << error.what() << "\n";
    return 1;
  }
}
