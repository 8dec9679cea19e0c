// ExponentialBackoff: the one backoff of the daemon (client retries, informer reconnects, work
// queue retries, fights, the HTTP endpoint's accept, the start-up wait), like client-go's
// util/flowcontrol. The delay after `failures` earlier failures is base * 2^failures, capped at
// max, then stretched by a random factor (the jitter) and capped at max again, so that many
// keys or clients failing together do not come back together.
//
// Pure: no clock, no I/O. The random source is injectable for tests; by default each backoff
// with jitter owns a generator, so it is not thread-safe: use one per loop or per owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace bisync::kube {

enum class JitterShape {
  Symmetric,  // the delay is stretched by a factor in [1 - jitter, 1 + jitter]
  UpOnly,     // in [1, 1 + jitter], as client-go's wait.Jitter: never earlier than the step
};

struct BackoffOptions {
  std::chrono::nanoseconds base{0};  // the first delay; at least 1 ns
  std::chrono::nanoseconds max{0};   // no delay is longer; at least base
  double jitter = 0;                 // clamped to [0, 0.99]; 0 draws no random number
  JitterShape shape = JitterShape::Symmetric;
  std::uint64_t seed = 0;  // of the default random source; 0 picks a random seed
};

class ExponentialBackoff {
 public:
  // Uniform in [0, 1); only called when jitter > 0.
  using RandomSource = std::function<double()>;

  explicit ExponentialBackoff(BackoffOptions options, RandomSource random = {});

  // The delay after `failures` failures (0 for the first retry); never below 1 ns.
  std::chrono::nanoseconds delay(int failures) const;

  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  RandomSource random_;
};

}  // namespace bisync::kube
