#include "syncer/kube/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

namespace bisync::kube {

namespace {

// Shared by value inside the std::function: copying a backoff copies its generator's state.
ExponentialBackoff::RandomSource defaultRandomSource(std::uint64_t seed) {
  std::mt19937_64 generator(seed != 0 ? seed : std::random_device{}());
  return
      [generator]() mutable { return std::uniform_real_distribution<double>(0.0, 1.0)(generator); };
}

}  // namespace

ExponentialBackoff::ExponentialBackoff(BackoffOptions options, RandomSource random)
    : options_(options), random_(std::move(random)) {
  options_.base = std::max(options_.base, std::chrono::nanoseconds(1));
  options_.max = std::max(options_.max, options_.base);
  options_.jitter = std::clamp(options_.jitter, 0.0, 0.99);
  if (options_.jitter > 0 && !random_) random_ = defaultRandomSource(options_.seed);
}

std::chrono::nanoseconds ExponentialBackoff::delay(int failures) const {
  using Nanos = std::chrono::nanoseconds;
  const double base = static_cast<double>(options_.base.count());
  const double max = static_cast<double>(options_.max.count());
  // exp2 of more than 1000 is infinite in a double; min() turns that into max.
  double delay = std::min(base * std::exp2(std::clamp(failures, 0, 1000)), max);
  if (options_.jitter > 0) {
    const double low = options_.shape == JitterShape::Symmetric ? 1.0 - options_.jitter : 1.0;
    const double high = 1.0 + options_.jitter;
    // The same arithmetic as std::uniform_real_distribution(low, high), so that a seeded
    // backoff draws what the work queue's own generator drew before it used this class.
    const double stretch = (high - low) * random_() + low;
    delay = std::min(delay * stretch, max);
  }
  return Nanos(std::max<Nanos::rep>(1, static_cast<Nanos::rep>(delay)));
}

}  // namespace bisync::kube
