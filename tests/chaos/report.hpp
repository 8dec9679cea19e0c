// The chaos checker's report: operations by kind, faults by kind, time to converge after each
// round's last fault, writes per effective change, the verdict, and for a failure what diverged
// (expected against actual), the seed and the daemon's log tails. Printing only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "tests/chaos/model.hpp"
#include "tests/chaos/workload.hpp"

namespace bisync::chaos {

struct RoundResult {
  bool converged = false;
  std::chrono::milliseconds convergeTime{0};  // from the end of the round's last fault
  double quietWrites = 0;                     // daemon writes (metrics) in the quiet window
  std::size_t quietChanges = 0;               // objects changed on the servers meanwhile
  Verdict verdict;                            // of the last check (the failing one, if any)
};

struct Report {
  std::uint64_t seed = 0;
  std::string replay;  // the command that runs this seed again
  OpCounts operations;
  std::size_t effectiveChanges = 0;
  std::map<std::string, int> faults;  // by fault name
  std::size_t daemonRestarts = 0;
  std::size_t stepDowns = 0;
  std::vector<std::string> crashes;
  double daemonWrites = 0;
  std::vector<RoundResult> rounds;
  std::string failure;   // why the run stopped early, if it did
  std::string logTails;  // the replicas', for a failure

  std::size_t quiescentWrites() const;
  bool passed() const;
};

void print(std::ostream& out, const Report& report);

}  // namespace bisync::chaos
