#include "tests/chaos/replicas.hpp"

#include <thread>

namespace bisync::chaos {

namespace {

using testing::Side;

constexpr const char* kStepDownLine = "leader election lost";

}  // namespace

Replicas::Replicas(testing::Testbed& testbed, const std::string& binary,
                   std::vector<std::string> args)
    : sourceProxy_(
          std::make_unique<testing::TcpProxy>("127.0.0.1", testbed.server(Side::Source).port)),
      targetProxy_(
          std::make_unique<testing::TcpProxy>("127.0.0.1", testbed.server(Side::Target).port)),
      dir_(testbed.dir(), "chaos-replicas-") {
  const auto source =
      testbed.writeKubeconfig(Side::Source, testing::Auth::AdminToken,
                              dir_.path() / "source.kubeconfig", sourceProxy_->url());
  const auto target =
      testbed.writeKubeconfig(Side::Target, testing::Auth::AdminToken,
                              dir_.path() / "target.kubeconfig", targetProxy_->url());
  std::vector<std::string> flags = {"--source-kubeconfig", source.string(), "--target-kubeconfig",
                                    target.string(), "--leader-elect"};
  flags.insert(flags.end(), args.begin(), args.end());
  for (int i = 0; i < kCount; ++i) {
    replicas_.push_back(std::make_unique<testing::DaemonProcess>(
        testbed,
        testing::DaemonOptions{.binary = binary, .args = flags, .kubeconfigFlags = false}));
  }
}

testing::TcpProxy& Replicas::proxy(Side side) {
  return side == Side::Source ? *sourceProxy_ : *targetProxy_;
}

std::optional<int> Replicas::leader() {
  for (int i = 0; i < kCount; ++i) {
    std::string seen;
    if (replica(i).metric("kube_bisync_leader", seen) == 1.0) return i;
  }
  return std::nullopt;
}

std::optional<int> Replicas::waitForLeader(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    supervise();
    if (const std::optional<int> found = leader()) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return std::nullopt;
}

void Replicas::supervise() {
  for (int i = 0; i < kCount; ++i) {
    testing::DaemonProcess& daemon = replica(i);
    if (daemon.running()) continue;
    const std::string status = daemon.waitExit(std::chrono::milliseconds(0));
    bool& expected = endExpected_.at(static_cast<std::size_t>(i));
    if (expected) {
      expected = false;
    } else if (status == "exited with status 1" && daemon.countLog(kStepDownLine) > 0) {
      ++stepDowns_;  // a leader that lost its Lease stops at once, by design
    } else {
      crashes_.push_back("replica " + std::to_string(i) + " " + status + ":\n" +
                         daemon.logTail(30));
    }
    daemon.start();
    ++restarts_;
  }
}

double Replicas::writes() {
  double total = 0;
  for (int i = 0; i < kCount; ++i) {
    RunWrites& run = writes_.at(static_cast<std::size_t>(i));
    testing::DaemonProcess& daemon = replica(i);
    std::string seen;
    if (daemon.running()) {
      if (const std::optional<std::string> text = daemon.scrapeMetrics(seen)) {
        if (daemon.pid() != run.pid) {
          run.earlier += run.current;
          run = {daemon.pid(), 0, run.earlier};
        }
        run.current = testing::sumOfSamples(*text, "kube_bisync_writes_total") +
                      testing::sumOfSamples(*text, "kube_bisync_namespace_writes_total");
      }
    }
    total += run.earlier + run.current;
  }
  return total;
}

std::optional<double> Replicas::pendingKeys() {
  double total = 0;
  for (int i = 0; i < kCount; ++i) {
    testing::DaemonProcess& daemon = replica(i);
    if (!daemon.running()) continue;
    std::string seen;
    const std::optional<std::string> text = daemon.scrapeMetrics(seen);
    if (!text) return std::nullopt;
    // A follower's keys wait for leadership; they are worked on only after a failover.
    if (testing::sumOfSamples(*text, "kube_bisync_leader") == 0) continue;
    total += testing::sumOfSamples(*text, "kube_bisync_queue_in_flight") +
             testing::sumOfSamples(*text, "kube_bisync_queue_depth");
  }
  return total;
}

std::string Replicas::describe(std::size_t lines) {
  std::string out;
  for (int i = 0; i < kCount; ++i) {
    out += "replica " + std::to_string(i) + ": " + replica(i).describe(lines) + "\n";
  }
  return out;
}

}  // namespace bisync::chaos
