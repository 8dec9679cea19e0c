// The driver's watch of the benchmark's Pods on one side (scenario 8, docs/benchmarks.md):
// when each Pod first appeared and when it was first seen Running with a pod IP, both at the
// moment the driver's informer delivered the event. A Pod is named by its key on the virtual
// side: a host copy of the daemon's by its origin annotations (kube-bisync.io/source-namespace
// and source-name), any other Pod by its own namespace and name, so the two sides' times of one
// Pod can be joined.
//
// Used from the main thread; its informer lives on `loop`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "syncer/kube/client.hpp"
#include "syncer/kube/informer.hpp"
#include "tests/support/loop_thread.hpp"

namespace bisync::bench {

class PodWatch {
 public:
  using Clock = std::chrono::steady_clock;
  struct Times {
    Clock::time_point seen{};
    Clock::time_point running{};  // epoch while not yet seen Running
    bool present = true;          // false once deleted
  };

  // Watches the Pods of all namespaces matching `selector`; returns once the watch has listed
  // (throws std::runtime_error after 60 s).
  PodWatch(testing::LoopThread& loop, kube::Client& client, const std::string& selector);
  ~PodWatch();  // stops the informer and waits until its loop has returned
  PodWatch(const PodWatch&) = delete;
  PodWatch& operator=(const PodWatch&) = delete;

  // Waits until `count` Pods have been seen Running; returns when the last of them was. Throws
  // std::runtime_error (with what was seen) after `timeout`, or when `healthy` says why not.
  Clock::time_point waitForRunning(std::size_t count, std::chrono::seconds timeout,
                                   const std::function<std::string()>& healthy);
  // Waits until exactly `count` watched Pods exist (0: all deleted); returns when the last one
  // appeared. Throws std::runtime_error after `timeout`.
  Clock::time_point waitForPresent(std::size_t count, std::chrono::seconds timeout);

  std::map<std::string, Times> times() const;  // by virtual key ("ns/name")
  std::vector<std::string> presentKeys() const;

 private:
  void changed(const kube::CachedObjectPtr& object);
  void deleted(const kube::CachedObjectPtr& object);

  testing::LoopThread& loop_;
  std::unique_ptr<kube::Informer> informer_;
  std::map<std::string, Times> times_;  // loop-affine, like the informer
  std::size_t running_ = 0;
  std::size_t present_ = 0;
  Clock::time_point lastRunningAt_{};
  Clock::time_point lastSeenAt_{};
};

// Milliseconds from `from` to `to` of each Pod in both maps that has both times (Running
// seen); `from`/`to` pick the time of each side (seen or running).
std::vector<double> latenciesMs(const std::map<std::string, PodWatch::Times>& fromSide,
                                bool fromRunning,
                                const std::map<std::string, PodWatch::Times>& toSide,
                                bool toRunning);

}  // namespace bisync::bench
