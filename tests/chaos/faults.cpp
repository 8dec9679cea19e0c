#include "tests/chaos/faults.hpp"

#include <signal.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

namespace bisync::chaos {

namespace {

using testing::Side;

// A fault that lasts a while on purpose (a pause, a delay): the replicas are supervised
// meanwhile, so one that ends is started again as a kubelet would.
void holdFor(Replicas& replicas, std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
    replicas.supervise();
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(200), std::chrono::duration_cast<std::chrono::milliseconds>(
                                            end - std::chrono::steady_clock::now())));
  }
}

}  // namespace

std::string_view toString(Fault fault) {
  switch (fault) {
    case Fault::RestartSource: return "restart-source";
    case Fault::RestartTarget: return "restart-target";
    case Fault::PauseSource: return "pause-source";
    case Fault::PauseTarget: return "pause-target";
    case Fault::CutConnections: return "cut-connections";
    case Fault::DelayConnections: return "delay-connections";
    case Fault::Compaction: return "compaction-410";
    case Fault::DaemonKill: return "daemon-kill";
    case Fault::LeaderFailover: return "leader-failover";
  }
  return "?";
}

FaultInjector::FaultInjector(testing::Testbed& testbed, Replicas& replicas, std::uint64_t seed,
                             FaultTimings timings)
    : testbed_(testbed), replicas_(replicas), random_(seed), timings_(timings) {}

std::vector<Fault> FaultInjector::shuffledRound() {
  std::vector<Fault> round(std::begin(kFaults), std::end(kFaults));
  std::shuffle(round.begin(), round.end(), random_);
  return round;
}

void FaultInjector::inject(Fault fault) {
  switch (fault) {
    case Fault::RestartSource: restart(Side::Source); break;
    case Fault::RestartTarget: restart(Side::Target); break;
    case Fault::PauseSource: pause(Side::Source); break;
    case Fault::PauseTarget: pause(Side::Target); break;
    case Fault::CutConnections:
      replicas_.proxy(Side::Source).cutConnections();
      replicas_.proxy(Side::Target).cutConnections();
      break;
    case Fault::DelayConnections: delay(); break;
    case Fault::Compaction: compaction(); break;
    case Fault::DaemonKill: killReplica(); break;
    case Fault::LeaderFailover: failover(); break;
  }
  replicas_.supervise();
  ++counts_[fault];
}

void FaultInjector::restart(Side side) { testbed_.restart(side); }

void FaultInjector::pause(Side side) {
  testing::ScopedPause paused(testbed_, side);
  holdFor(replicas_, timings_.pause);
}

void FaultInjector::delay() {
  testing::TcpProxy& proxy = replicas_.proxy(random_() % 2 == 0 ? Side::Source : Side::Target);
  proxy.setDelay(timings_.delay);
  holdFor(replicas_, timings_.delayFor);
  proxy.setDelay(std::chrono::milliseconds(0));
}

// The daemon loses its source connections and cannot make new ones while the workload writes
// on; etcd is then compacted past everything the daemon's watches have seen, so that their
// resumption is answered 410 Gone (the checker's testbed serves watches from etcd) and the
// daemon must relist.
void FaultInjector::compaction() {
  testing::TcpProxy& proxy = replicas_.proxy(Side::Source);
  proxy.setRefusing(true);
  proxy.cutConnections();
  holdFor(replicas_, timings_.behindFor);
  testbed_.compactEtcd();
  proxy.setRefusing(false);
}

void FaultInjector::killReplica() {
  const int victim = static_cast<int>(random_() % Replicas::kCount);
  replicas_.expectEnd(victim);
  replicas_.replica(victim).kill();
}

// The leader stops (SIGSTOP) without a word, as a node that hangs; once the other replica has
// taken the Lease over, the old leader resumes and must notice at once that it is too late.
void FaultInjector::failover() {
  const std::optional<int> leader = replicas_.waitForLeader(timings_.failoverTimeout);
  if (!leader) throw std::runtime_error("leader-failover: no replica leads");
  testing::DaemonProcess& stopped = replicas_.replica(*leader);
  stopped.signal(SIGSTOP);
  // Only the other one is asked: a stopped process answers no scrape.
  const int other = 1 - *leader;
  const auto deadline = std::chrono::steady_clock::now() + timings_.failoverTimeout;
  bool tookOver = false;
  while (!tookOver && std::chrono::steady_clock::now() < deadline) {
    std::string seen;
    tookOver = replicas_.replica(other).metric("kube_bisync_leader", seen) == 1.0;
    if (!tookOver) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  stopped.signal(SIGCONT);
  if (!tookOver) {
    throw std::runtime_error("leader-failover: replica " + std::to_string(other) +
                             " did not take over within the timeout; " + replicas_.describe(20));
  }
}

}  // namespace bisync::chaos
