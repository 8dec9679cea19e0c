// One run of the chaos checker (docs/reliability.md, "Chaos"): a testbed of its own (a virtual
// cluster's controllers on the source, a scheduler and simulated nodes on the target), two
// daemon replicas under leader election behind TCP proxies, and rounds of workload with every
// fault kind injected once per round in a seeded order; after each round the checker waits
// until both sides match the model, then watches a quiet window in which the daemon must write
// nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tests/chaos/pods.hpp"
#include "tests/chaos/report.hpp"
#include "tests/chaos/workload.hpp"

namespace bisync::chaos {

struct ChaosOptions {
  std::uint64_t seed = 1;
  std::string daemonBinary;
  std::string replay;  // the command line that runs this seed again, for the report
  int namespaces = 4;
  int rounds = 10;
  std::chrono::seconds roundLength{170};  // workload and faults
  std::chrono::seconds quietWindow{30};
  std::chrono::seconds convergeTimeout{180};
  WorkloadOptions workload;
  PodWorkloadOptions pods;
};

// Runs it and reports; progress lines go to stdout as it goes. Throws only when the testbed
// cannot start; everything that goes wrong later is in the report.
Report runChaos(const ChaosOptions& options);

}  // namespace bisync::chaos
