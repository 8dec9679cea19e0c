// The faults the chaos checker injects, each on the real processes: an API server stopped and
// started again, or paused (SIGSTOP) for longer than the daemon's request timeout, on either
// side; every connection of the daemon cut, or delayed, at its TcpProxy; etcd compacted while
// the daemon's source watches are behind (they must see 410 Gone and relist); a replica
// SIGKILLed and started again; the leader paused until the other replica takes over.
//
// Used from the checker's main thread, while the workload runs on its loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string_view>
#include <vector>

#include "tests/chaos/replicas.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::chaos {

enum class Fault {
  RestartSource,
  RestartTarget,
  PauseSource,
  PauseTarget,
  CutConnections,
  DelayConnections,
  Compaction,
  DaemonKill,
  LeaderFailover,
};
inline constexpr Fault kFaults[] = {
    Fault::RestartSource, Fault::RestartTarget,  Fault::PauseSource,
    Fault::PauseTarget,   Fault::CutConnections, Fault::DelayConnections,
    Fault::Compaction,    Fault::DaemonKill,     Fault::LeaderFailover,
};
std::string_view toString(Fault fault);

struct FaultTimings {
  // Longer than the daemon's --request-timeout, so that its requests time out.
  std::chrono::milliseconds pause{5000};
  std::chrono::milliseconds delay{1500};  // added to every chunk either way
  std::chrono::milliseconds delayFor{5000};
  // How long the daemon's source connections are refused before the compaction: the workload
  // writes on meanwhile, so the daemon's watches are behind the compacted revision.
  std::chrono::milliseconds behindFor{2000};
  // How long the new leader may take after the old one is paused (the lease duration and then
  // some).
  std::chrono::milliseconds failoverTimeout{30000};
};

class FaultInjector {
 public:
  FaultInjector(testing::Testbed& testbed, Replicas& replicas, std::uint64_t seed,
                FaultTimings timings);

  // Injects `fault` and returns when it is over (servers ready again, replicas started again).
  // Throws std::runtime_error when it cannot be done (no leader to fail over, a server that
  // does not come back).
  void inject(Fault fault);
  const std::map<Fault, int>& counts() const { return counts_; }
  // Every fault kind once, in an order the seed picks.
  std::vector<Fault> shuffledRound();

 private:
  void restart(testing::Side side);
  void pause(testing::Side side);
  void delay();
  void compaction();
  void killReplica();
  void failover();

  testing::Testbed& testbed_;
  Replicas& replicas_;
  std::mt19937_64 random_;
  FaultTimings timings_;
  std::map<Fault, int> counts_;
};

}  // namespace bisync::chaos
