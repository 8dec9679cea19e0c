// Two replicas of the real kube-bisync daemon under leader election, as a Deployment of two
// would run them, each reaching both API servers through a TcpProxy per side (so that the
// checker can cut and delay their connections), and supervised as a kubelet would: a replica
// that ends is started again. An end the checker did not cause (SIGKILL, or the exit 1 of a
// leader that lost its Lease) is a crash, and fails the run.
//
// Used from the checker's main thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::chaos {

class Replicas {
 public:
  static constexpr int kCount = 2;

  // Starts both replicas with `args` (after their kubeconfig flags) and --leader-elect.
  Replicas(testing::Testbed& testbed, const std::string& binary, std::vector<std::string> args);

  testing::TcpProxy& proxy(testing::Side side);
  testing::DaemonProcess& replica(int i) { return *replicas_.at(static_cast<std::size_t>(i)); }
  // The replica that reports kube_bisync_leader 1, if one does.
  std::optional<int> leader();
  // Waits up to `timeout` for a leader (supervising meanwhile).
  std::optional<int> waitForLeader(std::chrono::milliseconds timeout);

  // Starts again every replica that ended; records why it ended.
  void supervise();
  // The next end of replica `i` is the checker's doing (a SIGKILL it sends).
  void expectEnd(int i) { endExpected_.at(static_cast<std::size_t>(i)) = true; }

  // Ends the checker did not cause and that were no step-down: each with the log tail.
  const std::vector<std::string>& crashes() const { return crashes_; }
  std::size_t restarts() const { return restarts_; }
  std::size_t stepDowns() const { return stepDowns_; }

  // The daemon's writes so far (kube_bisync_writes_total, every series, and
  // kube_bisync_namespace_writes_total), summed over both replicas and all their runs, as far as
  // scrapes saw them: a run's writes after its last scrape are not counted.
  double writes();
  // Keys the leading replica is reconciling or holds for a worker (kube_bisync_queue_in_flight
  // plus kube_bisync_queue_depth; keys waiting out a backoff are not counted, nor a follower's);
  // nullopt when a running replica could not be scraped.
  std::optional<double> pendingKeys();
  // Both replicas' state and log tails, for failure reports.
  std::string describe(std::size_t lines);

 private:
  struct RunWrites {
    pid_t pid = -1;
    double current = 0;  // of the run `pid`
    double earlier = 0;  // of the runs before it
  };

  std::unique_ptr<testing::TcpProxy> sourceProxy_;
  std::unique_ptr<testing::TcpProxy> targetProxy_;
  testing::TempDir dir_;
  std::vector<std::unique_ptr<testing::DaemonProcess>> replicas_;
  std::array<bool, kCount> endExpected_{};
  std::array<RunWrites, kCount> writes_{};
  std::vector<std::string> crashes_;
  std::size_t restarts_ = 0;
  std::size_t stepDowns_ = 0;
};

}  // namespace bisync::chaos
