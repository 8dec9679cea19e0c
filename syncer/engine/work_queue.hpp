// WorkQueue: the sync engine's queue of keys to reconcile, like client-go's
// rate-limiting, delaying, deduplicating workqueue.
//
// - Deduplicating: a key added while it waits in the queue is queued once. A key added while
//   a worker processes it is marked dirty and queued once more when that worker is done, so
//   the newest state is always reconciled and never by two workers at once.
// - Delaying: addAfter() queues a key later; of several delayed adds of one key only the
//   earliest is kept.
// - Rate limiting: addRateLimited() delays a key by the later of its per-key exponential
//   backoff (baseDelay * 2^failures, capped at maxDelay, with +-jitter) and a global token
//   bucket (qps/burst), like client-go's DefaultControllerRateLimiter. forget() ends the
//   backoff. As in client-go the bucket throttles retries only: plain add()s (informer
//   events) are not delayed, the Client's own bucket throttles the writes they cause.
// - Workers: run(N, handler) calls handler(key) for queued keys, at most N at a time; a
//   handler returning true forgets the key, false (or throwing) re-adds it rate limited.
// - Shutdown: shutDown() stops handing out keys and ignores new adds; drain() completes once
//   the handlers in flight have returned (SIGTERM: finish in-flight writes, then exit).
//
// Memory: per-key state exists only for keys that are queued, in flight, delayed or have a
// failure count; it is erased when a key is processed successfully (or forgotten) and nothing
// else is pending for it. So memory is O(distinct keys pending), never O(keys ever seen).
// Under run(), a key with a failure count is always delayed, queued or in flight.
//
// Loop-affine: every method must be called on the io_context's thread (or before it runs);
// timers and handlers run there too, so the queue needs no locks. Destroy the WorkQueue
// after drain() has completed and before the io_context.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

namespace bisync::engine {

namespace asio = boost::asio;

struct WorkQueueOptions {
  std::string name = "workqueue";  // for logs
  // Per-key exponential backoff: client-go's ItemExponentialFailureRateLimiter defaults.
  std::chrono::nanoseconds baseDelay = std::chrono::milliseconds(5);
  std::chrono::nanoseconds maxDelay = std::chrono::seconds(1000);
  double jitter = 0.1;  // each backoff is stretched by a random factor in [1-jitter, 1+jitter]
  // Global token bucket for retries: client-go's BucketRateLimiter defaults. qps <= 0
  // disables it.
  double qps = 10;
  int burst = 100;
  std::uint64_t seed = 0;  // for the jitter; 0 picks a random seed
  // Called when a handler's failure re-queues its key: the failure count so far and the delay
  // chosen, for a log line that says when the next attempt comes.
  std::function<void(const std::string& key, int attempt, std::chrono::nanoseconds delay)> onRetry;
};

// count, sum and max of a duration, enough for a mean and a Prometheus summary.
struct DurationStats {
  // Upper bounds of the histogram's buckets (Prometheus' `le`); a last bucket takes the rest.
  static constexpr std::array<std::chrono::microseconds, 12> kBounds{
      std::chrono::microseconds(250),    std::chrono::microseconds(500),
      std::chrono::microseconds(1000),   std::chrono::microseconds(2500),
      std::chrono::microseconds(5000),   std::chrono::microseconds(10000),
      std::chrono::microseconds(25000),  std::chrono::microseconds(50000),
      std::chrono::microseconds(100000), std::chrono::microseconds(250000),
      std::chrono::microseconds(500000), std::chrono::microseconds(1000000)};
  std::uint64_t count = 0;
  std::chrono::nanoseconds sum{0};
  std::chrono::nanoseconds max{0};
  std::array<std::uint64_t, kBounds.size() + 1> buckets{};  // not cumulative
  void record(std::chrono::nanoseconds value);
};

struct WorkQueueStats {
  std::size_t depth = 0;               // queued, waiting for a worker (in-flight keys not counted)
  std::size_t inFlight = 0;            // handlers running
  std::size_t delayed = 0;             // keys waiting for their addAfter() delay
  std::size_t trackedKeys = 0;         // keys with any per-key state: the memory bound
  std::uint64_t adds = 0;              // add() calls, delayed adds when they come due included
  std::uint64_t dedups = 0;            // adds that found the key already queued or dirty
  std::uint64_t retries = 0;           // addRateLimited() calls
  std::uint64_t rateLimitedWaits = 0;  // retries the global bucket delayed
  std::uint64_t succeeded = 0;         // handler returned true
  std::uint64_t failed = 0;            // handler returned false or threw
  std::chrono::nanoseconds lastRetryDelay{0};  // the delay addRateLimited() chose last
  DurationStats retryDelay;                    // delays chosen by addRateLimited()
  DurationStats queueLatency;                  // from a key's first add to its hand-out to a worker
  DurationStats workDuration;                  // from hand-out to the handler's return
};

// Reconciles one key; true when done, false to retry it with backoff.
using WorkHandler = std::function<asio::awaitable<bool>(const std::string& key)>;

class WorkQueue {
 public:
  explicit WorkQueue(asio::io_context& io, WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  // A delay <= 0 is add(). A key already queued is left as it is.
  void addAfter(const std::string& key, std::chrono::nanoseconds delay);
  // Counts a failure of `key` and adds it after the later of its backoff and the bucket's
  // delay; returns that delay.
  std::chrono::nanoseconds addRateLimited(const std::string& key);
  // Ends the key's backoff: its next failure waits baseDelay again.
  void forget(const std::string& key);
  // Failures counted since the last forget().
  int numRequeues(const std::string& key) const;

  // Starts handing queued keys to `handler`, at most `workers` at a time. Call once.
  void run(std::size_t workers, WorkHandler handler);
  // Stops handing out keys, drops delayed adds and ignores new adds. Idempotent.
  void shutDown();
  bool shuttingDown() const;
  // shutDown(), then completes once no handler is in flight.
  asio::awaitable<void> drain();

  std::size_t depth() const;
  std::vector<std::string> queuedKeys() const;  // waiting for a worker, in queue order
  std::size_t inFlight() const;
  std::size_t delayed() const;
  WorkQueueStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bisync::engine
