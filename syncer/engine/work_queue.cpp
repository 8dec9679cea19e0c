#include "syncer/engine/work_queue.hpp"

#include <algorithm>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/kube/backoff.hpp"
#include "syncer/kube/token_bucket.hpp"

namespace bisync::engine {

namespace {

using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;

double millis(Nanos value) { return static_cast<double>(value.count()) / 1e6; }

}  // namespace

void DurationStats::record(Nanos value) {
  ++count;
  sum += value;
  max = std::max(max, value);
  const auto bound = std::lower_bound(kBounds.begin(), kBounds.end(), value);
  ++buckets[static_cast<std::size_t>(bound - kBounds.begin())];
}

struct WorkQueue::Impl : std::enable_shared_from_this<Impl> {
  // Delayed adds, earliest first; each key has at most one entry.
  using DelayMap = std::multimap<Clock::time_point, std::string>;

  struct KeyState {
    bool queued = false;      // in the FIFO, not yet handed out
    bool processing = false;  // a handler runs for it
    bool dirty = false;       // added while processing: queue again when done
    int failures = 0;
    std::optional<Clock::time_point> addedAt;  // first add not yet handed out
    std::optional<DelayMap::iterator> delayedAt;
  };

  Impl(asio::io_context& context, WorkQueueOptions queueOptions)
      : io(context),
        options(std::move(queueOptions)),
        delayTimer(context),
        drainSignal(context, Clock::time_point::max()),
        backoff(backoffOptions(options)),
        bucket(options.qps, options.burst) {}

  static kube::BackoffOptions backoffOptions(const WorkQueueOptions& options) {
    return {.base = options.baseDelay,
            .max = options.maxDelay,
            .jitter = std::clamp(options.jitter, 0.0, 0.9),
            .shape = kube::JitterShape::Symmetric,
            .seed = options.seed};
  }

  asio::io_context& io;
  WorkQueueOptions options;
  std::unordered_map<std::string, KeyState> keys;
  std::deque<std::string> fifo;
  DelayMap delayedKeys;
  asio::steady_timer delayTimer;
  std::optional<Clock::time_point> armedFor;
  // Never expires: drain() waiters wait on it and cancel() wakes them all.
  asio::steady_timer drainSignal;
  WorkHandler handler;
  std::size_t workers = 0;
  std::size_t inFlight = 0;
  bool shutdown = false;
  kube::ExponentialBackoff backoff;  // per key: delay(failures)
  kube::TokenBucket bucket;          // one for all keys' retries
  WorkQueueStats stats;

  void add(const std::string& key) {
    if (shutdown) return;
    ++stats.adds;
    KeyState& state = keys[key];
    if (state.queued || state.dirty) {
      ++stats.dedups;
      return;
    }
    if (!state.addedAt) state.addedAt = Clock::now();
    if (state.processing) {
      state.dirty = true;
      return;
    }
    state.queued = true;
    fifo.push_back(key);
    pump();
  }

  void addAfter(const std::string& key, Nanos delay) {
    if (shutdown) return;
    if (delay <= Nanos(0)) {
      add(key);
      return;
    }
    KeyState& state = keys[key];
    if (state.queued || state.dirty) {
      ++stats.dedups;
      return;
    }
    const auto due = Clock::now() + delay;
    if (state.delayedAt) {
      if ((*state.delayedAt)->first <= due) return;
      delayedKeys.erase(*state.delayedAt);
    }
    state.delayedAt = delayedKeys.emplace(due, key);
    armTimer();
  }

  Nanos addRateLimited(const std::string& key) {
    if (shutdown) return Nanos(0);
    ++stats.retries;
    KeyState& state = keys[key];
    const Nanos backoffDelay = backoff.delay(state.failures);
    ++state.failures;
    const Nanos throttle = bucket.reserve();
    if (throttle > Nanos(0)) ++stats.rateLimitedWaits;
    const Nanos delay = std::max(backoffDelay, throttle);
    stats.lastRetryDelay = delay;
    stats.retryDelay.record(delay);
    addAfter(key, delay);
    return delay;
  }

  void forget(const std::string& key) {
    auto it = keys.find(key);
    if (it == keys.end()) return;
    it->second.failures = 0;
    eraseIfIdle(it);
  }

  void eraseIfIdle(std::unordered_map<std::string, KeyState>::iterator it) {
    const KeyState& state = it->second;
    if (state.queued || state.processing || state.dirty || state.failures > 0 || state.delayedAt) {
      return;
    }
    keys.erase(it);
  }

  void armTimer() {
    if (delayedKeys.empty()) {
      if (armedFor) delayTimer.cancel();
      armedFor.reset();
      return;
    }
    const auto due = delayedKeys.begin()->first;
    if (armedFor && *armedFor == due) return;
    armedFor = due;
    // Re-arming cancels the earlier wait, whose handler then sees operation_aborted.
    delayTimer.expires_at(due);
    delayTimer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
      if (error) return;
      if (auto self = weak.lock()) self->onDelayTimer();
    });
  }

  void onDelayTimer() {
    armedFor.reset();
    const auto now = Clock::now();
    while (!delayedKeys.empty() && delayedKeys.begin()->first <= now) {
      std::string key = std::move(delayedKeys.extract(delayedKeys.begin()).mapped());
      auto it = keys.find(key);
      it->second.delayedAt.reset();
      add(key);
      it = keys.find(key);
      if (it != keys.end()) eraseIfIdle(it);
    }
    armTimer();
  }

  // Hands queued keys to free workers. Each handler starts from a post, never inline, so a
  // handler that completes at once cannot recurse back in here.
  void pump() {
    while (!shutdown && handler && inFlight < workers && !fifo.empty()) {
      std::string key = std::move(fifo.front());
      fifo.pop_front();
      KeyState& state = keys.at(key);
      state.queued = false;
      state.processing = true;
      if (state.addedAt) {
        stats.queueLatency.record(Clock::now() - *state.addedAt);
        state.addedAt.reset();
      }
      ++inFlight;
      asio::post(io, [self = shared_from_this(), key = std::move(key)]() mutable {
        asio::co_spawn(self->io, work(self, std::move(key)), [](const std::exception_ptr& error) {
          if (error) std::rethrow_exception(error);
        });
      });
    }
  }

  static asio::awaitable<void> work(std::shared_ptr<Impl> self, std::string key) {
    const auto started = Clock::now();
    bool succeeded = false;
    // A throwing handler is a bug, but one bad object must not stop the whole engine: it is
    // logged and retried like a failure.
    try {
      succeeded = co_await self->handler(key);
    } catch (const std::exception& error) {
      spdlog::error("{}: handler threw for {}: {}", self->options.name, key, error.what());
    } catch (...) {
      spdlog::error("{}: handler threw for {}", self->options.name, key);
    }
    self->done(key, succeeded, Clock::now() - started);
  }

  void done(const std::string& key, bool succeeded, Nanos duration) {
    --inFlight;
    stats.workDuration.record(duration);
    auto it = keys.find(key);
    it->second.processing = false;
    if (succeeded) {
      ++stats.succeeded;
      it->second.failures = 0;
    } else {
      ++stats.failed;
      const Nanos delay = addRateLimited(key);
      spdlog::debug("{}: {} failed, retry in {:.1f} ms", options.name, key, millis(delay));
      if (options.onRetry && !shutdown)
        options.onRetry(key, keys.find(key)->second.failures, delay);
    }
    it = keys.find(key);  // addRateLimited may have touched the map
    KeyState& state = it->second;
    if (state.dirty) {
      state.dirty = false;
      if (!shutdown) {
        state.queued = true;
        fifo.push_back(key);
      }
    }
    eraseIfIdle(it);
    if (inFlight == 0 && shutdown) drainSignal.cancel();
    pump();
  }

  void shutDown() {
    if (shutdown) return;
    shutdown = true;
    for (auto& [due, key] : delayedKeys) {
      auto it = keys.find(key);
      it->second.delayedAt.reset();
      eraseIfIdle(it);
    }
    delayedKeys.clear();
    armedFor.reset();
    delayTimer.cancel();
    if (inFlight == 0) drainSignal.cancel();
  }
};

WorkQueue::WorkQueue(asio::io_context& io, WorkQueueOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

WorkQueue::~WorkQueue() { impl_->shutDown(); }

void WorkQueue::add(const std::string& key) { impl_->add(key); }

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay) {
  impl_->addAfter(key, delay);
}

std::chrono::nanoseconds WorkQueue::addRateLimited(const std::string& key) {
  return impl_->addRateLimited(key);
}

void WorkQueue::forget(const std::string& key) { impl_->forget(key); }

int WorkQueue::numRequeues(const std::string& key) const {
  auto it = impl_->keys.find(key);
  return it == impl_->keys.end() ? 0 : it->second.failures;
}

void WorkQueue::run(std::size_t workers, WorkHandler handler) {
  if (impl_->handler) throw std::logic_error("WorkQueue::run called twice");
  if (!handler) throw std::invalid_argument("WorkQueue::run needs a handler");
  impl_->handler = std::move(handler);
  impl_->workers = std::max<std::size_t>(workers, 1);
  impl_->pump();
}

void WorkQueue::shutDown() { impl_->shutDown(); }
bool WorkQueue::shuttingDown() const { return impl_->shutdown; }

asio::awaitable<void> WorkQueue::drain() {
  std::shared_ptr<Impl> impl = impl_;
  impl->shutDown();
  while (impl->inFlight > 0) {
    co_await impl->drainSignal.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::size_t WorkQueue::depth() const { return impl_->fifo.size(); }
std::vector<std::string> WorkQueue::queuedKeys() const {
  return std::vector<std::string>(impl_->fifo.begin(), impl_->fifo.end());
}
std::size_t WorkQueue::inFlight() const { return impl_->inFlight; }
std::size_t WorkQueue::delayed() const { return impl_->delayedKeys.size(); }

WorkQueueStats WorkQueue::stats() const {
  WorkQueueStats snapshot = impl_->stats;
  snapshot.depth = impl_->fifo.size();
  snapshot.inFlight = impl_->inFlight;
  snapshot.delayed = impl_->delayedKeys.size();
  snapshot.trackedKeys = impl_->keys.size();
  return snapshot;
}

}  // namespace bisync::engine
