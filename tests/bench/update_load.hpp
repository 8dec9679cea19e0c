// Scenario 2's two workloads.
//
// UpdateLoad: updates source objects at a fixed rate, open loop (a slow answer never delays
// the next update), each a merge patch that sets data.seq to a number no other update uses.
// It records when each update was answered, and (fed by SyncTracker's hooks) when the source's
// and the target's watch showed it. An update whose object the target shows with a later
// sequence number first counts as arrived then (the daemon may fold two changes into one).
//
// ApplyProbe: server-side applies of a scratch object on the target at a fixed interval, for
// the baseline's "one server-side apply on the target", measured under the same load.
//
// Both are loop-affine: run(), the hooks and the readers run on the LoopThread's io_context.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "tests/bench/sync_tracker.hpp"

namespace bisync::bench {

namespace asio = boost::asio;

class UpdateLoad {
 public:
  // Updates keys[0], keys[1], ... (cycling), `rate` a second for `duration`; sequence numbers
  // start at firstSeq.
  UpdateLoad(kube::Client& source, std::vector<std::string> keys, double rate,
             std::chrono::milliseconds duration, std::uint64_t firstSeq);

  // Sends every update; returns once all are answered.
  asio::awaitable<void> run();

  // SyncTracker hooks.
  void sourceSeen(const std::string& key, std::uint64_t seq, Clock::time_point at);
  void targetSeen(const std::string& key, std::uint64_t seq, Clock::time_point at);

  std::size_t total() const { return records_.size(); }
  std::size_t succeeded() const;
  std::size_t failed() const;
  const std::string& firstError() const { return firstError_; }
  // Succeeded updates the target never showed by their own number, only by a later one of the
  // same object: the daemon folded them into a later write.
  std::size_t folded() const;
  // Succeeded updates not yet seen in the target (or the source).
  std::size_t targetPending() const;
  std::size_t sourcePending() const;
  // Milliseconds from each update's answer to its watch event, for the updates seen.
  std::vector<double> targetLatenciesMs() const;
  std::vector<double> sourceLatenciesMs() const;
  // Achieved send rate (updates per second over the sending window).
  double achievedRate() const;
  // The rate the target kept up with: updates seen there per second, from the first update
  // sent to the last one seen. Below achievedRate(), a backlog grew.
  double arrivalRate() const;

 private:
  struct Record {
    std::string key;
    std::uint64_t seq = 0;
    bool answered = false;
    bool ok = false;
    bool folded = false;
    Clock::time_point answeredAt{};
    Clock::time_point sourceSeenAt{};
    Clock::time_point targetSeenAt{};
  };

  asio::awaitable<void> updateOne(std::size_t index);
  Record* recordFor(const std::string& key, std::uint64_t seq);

  kube::Client& source_;
  double rate_;
  std::uint64_t firstSeq_;
  std::vector<Record> records_;
  std::unordered_map<std::string, std::vector<std::size_t>> unseenByKey_;  // target side
  std::size_t inFlight_ = 0;
  std::string firstError_;
  Clock::time_point sendStart_{};
  Clock::time_point sendEnd_{};
};

class ApplyProbe {
 public:
  ApplyProbe(kube::Client& target, std::string ns, std::chrono::milliseconds interval,
             std::size_t payloadBytes);

  // Applies until stop(); then returns.
  asio::awaitable<void> run();
  void stop() { stopped_ = true; }

  const std::vector<double>& latenciesMs() const { return latenciesMs_; }
  std::size_t failures() const { return failures_; }
  const std::string& firstError() const { return firstError_; }

 private:
  kube::Client& target_;
  std::string ns_;
  std::chrono::milliseconds interval_;
  std::size_t payloadBytes_;
  bool stopped_ = false;
  std::vector<double> latenciesMs_;
  std::size_t failures_ = 0;
  std::string firstError_;
};

}  // namespace bisync::bench
