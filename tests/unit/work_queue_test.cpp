#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/engine/work_queue.hpp"
#include "tests/support/catch.hpp"

namespace {

namespace asio = boost::asio;
using bisync::engine::WorkQueue;
using bisync::engine::WorkQueueOptions;
using bisync::engine::WorkQueueStats;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string describe(const WorkQueueStats& stats) {
  return "depth=" + std::to_string(stats.depth) + " inFlight=" + std::to_string(stats.inFlight) +
         " delayed=" + std::to_string(stats.delayed) +
         " trackedKeys=" + std::to_string(stats.trackedKeys) +
         " adds=" + std::to_string(stats.adds) + " dedups=" + std::to_string(stats.dedups) +
         " retries=" + std::to_string(stats.retries) +
         " succeeded=" + std::to_string(stats.succeeded) +
         " failed=" + std::to_string(stats.failed);
}

// Runs the loop until `condition` holds or the deadline passes; false on timeout, or at once
// when the loop has nothing left that could make it true.
bool runUntil(asio::io_context& io, const std::function<bool()>& condition,
              milliseconds deadline = milliseconds(10000)) {
  const auto end = Clock::now() + deadline;
  while (!condition()) {
    if (Clock::now() >= end) return false;
    io.run_one_for(milliseconds(10));
    if (io.stopped()) {
      io.restart();
      if (!condition() && io.poll() == 0) return condition();
    }
  }
  return true;
}

// Holds handlers until released.
class Gate {
 public:
  explicit Gate(asio::io_context& io) : timer_(io, Clock::time_point::max()) {}
  asio::awaitable<void> wait() {
    while (!open_) co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void release() {
    open_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool open_ = false;
};

asio::awaitable<void> sleepFor(milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

WorkQueueOptions fastOptions() {
  WorkQueueOptions options;
  options.name = "test";
  options.baseDelay = milliseconds(2);
  options.maxDelay = milliseconds(1000);
  options.jitter = 0.2;
  options.qps = 0;
  options.seed = 42;
  return options;
}

}  // namespace

TEST_CASE("a key added twice before a worker takes it is reconciled once", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  std::map<std::string, int> calls;
  queue.add("configmaps/ns/a");
  queue.add("configmaps/ns/a");
  queue.add("configmaps/ns/b");
  CHECK(queue.depth() == 2);
  queue.run(2, [&](const std::string& key) -> asio::awaitable<bool> {
    ++calls[key];
    co_return true;
  });
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 2; }));
  io.run_for(milliseconds(20));
  INFO(describe(queue.stats()));
  CHECK(calls["configmaps/ns/a"] == 1);
  CHECK(calls["configmaps/ns/b"] == 1);
  CHECK(queue.stats().dedups == 1);
  CHECK(queue.stats().adds == 3);
  CHECK(queue.depth() == 0);
}

TEST_CASE("a key added while in flight is reconciled once more after, never concurrently",
          "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  Gate gate(io);
  int calls = 0;
  int running = 0;
  int maxRunning = 0;
  queue.run(4, [&](const std::string&) -> asio::awaitable<bool> {
    ++calls;
    maxRunning = std::max(maxRunning, ++running);
    if (calls == 1) co_await gate.wait();
    co_await sleepFor(milliseconds(1));
    --running;
    co_return true;
  });
  queue.add("k");
  REQUIRE(runUntil(io, [&] { return calls == 1; }));
  queue.add("k");
  queue.add("k");
  queue.add("k");
  // Dirty, not queued: no second worker may take it while the first runs.
  io.run_for(milliseconds(20));
  CHECK(calls == 1);
  CHECK(queue.depth() == 0);
  CHECK(queue.inFlight() == 1);
  CHECK(queue.stats().dedups == 2);
  gate.release();
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 2; }));
  io.run_for(milliseconds(20));
  INFO(describe(queue.stats()));
  CHECK(calls == 2);
  CHECK(maxRunning == 1);
  CHECK(queue.stats().trackedKeys == 0);
}

TEST_CASE("no more than N handlers run at once", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  int running = 0;
  int maxRunning = 0;
  std::size_t maxInFlight = 0;
  queue.run(3, [&](const std::string&) -> asio::awaitable<bool> {
    maxRunning = std::max(maxRunning, ++running);
    maxInFlight = std::max(maxInFlight, queue.inFlight());
    co_await sleepFor(milliseconds(3));
    --running;
    co_return true;
  });
  for (int i = 0; i < 12; ++i) queue.add("key-" + std::to_string(i));
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 12; }));
  INFO(describe(queue.stats()));
  CHECK(maxRunning == 3);
  CHECK(maxInFlight == 3);
  CHECK(queue.stats().workDuration.count == 12);
  CHECK(queue.stats().workDuration.max >= milliseconds(3));
}

TEST_CASE("a failing key is retried with growing backoff until it succeeds", "[workqueue]") {
  asio::io_context io;
  const WorkQueueOptions options = fastOptions();
  WorkQueue queue(io, options);
  std::vector<int> requeuesSeen;
  std::vector<std::chrono::nanoseconds> retryDelays;
  std::vector<Clock::time_point> callTimes;
  queue.run(1, [&](const std::string& key) -> asio::awaitable<bool> {
    callTimes.push_back(Clock::now());
    requeuesSeen.push_back(queue.numRequeues(key));
    if (callTimes.size() > 1) retryDelays.push_back(queue.stats().lastRetryDelay);
    co_return callTimes.size() > 3;
  });
  queue.add("k");
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 1; }));
  INFO(describe(queue.stats()));
  CHECK(requeuesSeen == std::vector<int>{0, 1, 2, 3});
  REQUIRE(retryDelays.size() == 3);
  // base * 2^n stretched by at most +-20%: each doubling outgrows the jitter.
  CHECK(retryDelays[0] >= milliseconds(2) * 0.8);
  CHECK(retryDelays[0] <= milliseconds(2) * 1.2);
  CHECK(retryDelays[1] > retryDelays[0]);
  CHECK(retryDelays[2] > retryDelays[1]);
  // A timer never fires early: each retry came no sooner than its delay.
  for (std::size_t i = 0; i < retryDelays.size(); ++i) {
    CHECK(callTimes[i + 1] - callTimes[i] >= retryDelays[i]);
  }
  CHECK(queue.stats().failed == 3);
  CHECK(queue.stats().retries == 3);
  CHECK(queue.numRequeues("k") == 0);
  CHECK(queue.stats().trackedKeys == 0);
}

TEST_CASE("onRetry reports each failure's attempt number and the delay chosen", "[workqueue]") {
  asio::io_context io;
  WorkQueueOptions options = fastOptions();
  struct Report {
    std::string key;
    int attempt;
    std::chrono::nanoseconds delay;
  };
  std::vector<Report> reports;
  std::vector<std::chrono::nanoseconds> chosen;
  WorkQueue* queuePointer = nullptr;
  options.onRetry = [&](const std::string& key, int attempt, std::chrono::nanoseconds delay) {
    reports.push_back({key, attempt, delay});
    chosen.push_back(queuePointer->stats().lastRetryDelay);
  };
  WorkQueue queue(io, options);
  queuePointer = &queue;
  int calls = 0;
  queue.run(1, [&](const std::string&) -> asio::awaitable<bool> { co_return ++calls > 2; });
  queue.add("k");
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 1; }));
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].key == "k");
  CHECK(reports[0].attempt == 1);
  CHECK(reports[1].attempt == 2);
  CHECK(reports[0].delay == chosen[0]);
  CHECK(reports[1].delay == chosen[1]);
  CHECK(reports[1].delay > reports[0].delay);
}

TEST_CASE("a handler that throws counts as a failure and is retried", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  int calls = 0;
  queue.run(1, [&](const std::string&) -> asio::awaitable<bool> {
    if (++calls == 1) throw std::runtime_error("bug");
    co_return true;
  });
  queue.add("k");
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 1; }));
  CHECK(calls == 2);
  CHECK(queue.stats().failed == 1);
}

TEST_CASE("forget resets a key's backoff", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  const auto first = queue.addRateLimited("k");
  const auto second = queue.addRateLimited("k");
  const auto third = queue.addRateLimited("k");
  CHECK(second > first);
  CHECK(third > second);
  CHECK(queue.numRequeues("k") == 3);
  // Only the earliest delayed add of a key is kept.
  CHECK(queue.delayed() == 1);
  queue.forget("k");
  CHECK(queue.numRequeues("k") == 0);
  const auto afterForget = queue.addRateLimited("k");
  CHECK(afterForget <= milliseconds(2) * 1.2);
  CHECK(afterForget < third);
  CHECK(queue.numRequeues("k") == 1);
}

TEST_CASE("of several delayed adds of a key the earliest wins", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  int calls = 0;
  queue.run(1, [&](const std::string&) -> asio::awaitable<bool> {
    ++calls;
    co_return true;
  });
  queue.addAfter("late-then-early", std::chrono::hours(1));
  queue.addAfter("late-then-early", milliseconds(5));
  queue.addAfter("early-then-late", milliseconds(5));
  queue.addAfter("early-then-late", std::chrono::hours(1));
  CHECK(queue.delayed() == 2);
  CHECK(queue.depth() == 0);
  REQUIRE(runUntil(io, [&] { return calls == 2; }));
  INFO(describe(queue.stats()));
  CHECK(queue.delayed() == 0);
  CHECK(queue.stats().trackedKeys == 0);
}

TEST_CASE("the global bucket delays retries beyond its burst", "[workqueue]") {
  asio::io_context io;
  WorkQueueOptions options = fastOptions();
  options.baseDelay = milliseconds(1);
  options.qps = 1;
  options.burst = 5;
  WorkQueue queue(io, options);
  std::vector<std::chrono::nanoseconds> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(queue.addRateLimited("key-" + std::to_string(i)));
  INFO(describe(queue.stats()));
  CHECK(queue.stats().retries == 8);
  CHECK(queue.stats().rateLimitedWaits == 3);
  for (int i = 0; i < 5; ++i) CHECK(delays[i] < milliseconds(100));
  // One token a second: the 6th, 7th and 8th wait about 1, 2 and 3 seconds.
  CHECK(delays[5] > milliseconds(500));
  CHECK(delays[6] > delays[5]);
  CHECK(delays[7] > delays[6]);
  CHECK(queue.delayed() == 8);
}

TEST_CASE("drain waits for in-flight handlers and nothing new is handed out", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  Gate gate(io);
  std::vector<std::string> started;
  int finished = 0;
  queue.run(2, [&](const std::string& key) -> asio::awaitable<bool> {
    started.push_back(key);
    co_await gate.wait();
    ++finished;
    co_return true;
  });
  queue.add("a");
  queue.add("b");
  queue.add("c");
  queue.addAfter("d", milliseconds(1));
  REQUIRE(runUntil(io, [&] { return queue.inFlight() == 2; }));
  bool drained = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await queue.drain();
        drained = true;
      },
      asio::detached);
  queue.add("e");
  io.run_for(milliseconds(20));
  CHECK(queue.shuttingDown());
  CHECK_FALSE(drained);
  CHECK(queue.delayed() == 0);
  gate.release();
  REQUIRE(runUntil(io, [&] { return drained; }));
  io.run_for(milliseconds(20));
  INFO(describe(queue.stats()));
  CHECK(finished == 2);
  CHECK(started == std::vector<std::string>{"a", "b"});
  CHECK(queue.inFlight() == 0);
}

TEST_CASE("drain with nothing in flight completes at once", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  bool drained = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await queue.drain();
        drained = true;
      },
      asio::detached);
  CHECK(runUntil(io, [&] { return drained; }));
}

TEST_CASE("per-key state is gone once many distinct keys have succeeded", "[workqueue]") {
  asio::io_context io;
  WorkQueueOptions options = fastOptions();
  options.baseDelay = milliseconds(1);
  WorkQueue queue(io, options);
  std::map<std::string, int> calls;
  queue.run(8, [&](const std::string& key) -> asio::awaitable<bool> {
    const int call = ++calls[key];
    // Every tenth key fails once, so failure counts and delayed adds are exercised too.
    co_return !(call == 1 && key.back() == '0');
  });
  for (int i = 0; i < 1000; ++i) queue.add("configmaps/ns/cm-" + std::to_string(i));
  REQUIRE(runUntil(io, [&] { return queue.stats().succeeded == 1000; }));
  const WorkQueueStats stats = queue.stats();
  INFO(describe(stats));
  CHECK(stats.failed == 100);
  CHECK(stats.trackedKeys == 0);
  CHECK(stats.delayed == 0);
  CHECK(stats.depth == 0);
  CHECK(stats.queueLatency.count == 1100);
}

TEST_CASE("queue latency counts from the first add to the hand-out", "[workqueue]") {
  asio::io_context io;
  WorkQueue queue(io, fastOptions());
  queue.add("k");
  queue.addAfter("other", milliseconds(1));
  // No workers yet: "k" waits for 30 ms, "other" for about 29.
  bool waited = false;
  asio::steady_timer wait(io, milliseconds(30));
  wait.async_wait([&](const boost::system::error_code&) { waited = true; });
  REQUIRE(runUntil(io, [&] { return waited; }));
  CHECK(queue.depth() == 2);
  int calls = 0;
  queue.run(1, [&](const std::string&) -> asio::awaitable<bool> {
    ++calls;
    co_return true;
  });
  REQUIRE(runUntil(io, [&] { return calls == 2; }));
  const WorkQueueStats stats = queue.stats();
  CHECK(stats.queueLatency.count == 2);
  CHECK(stats.queueLatency.max >= milliseconds(30));
  CHECK(stats.queueLatency.sum >= stats.queueLatency.max);
}
