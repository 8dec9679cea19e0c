#include "syncer/kube/token_bucket.hpp"

#include <algorithm>

namespace bisync::kube {

TokenBucket::TokenBucket(double qps, int burst, Clock::time_point now)
    : qps_(qps), burst_(std::max(burst, 1)), tokens_(burst_), updated_(now) {}

std::chrono::nanoseconds TokenBucket::reserve(Clock::time_point now) {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  // A clock that went back (a test's, never steady_clock) refills nothing.
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - updated_).count());
  updated_ = std::max(updated_, now);
  tokens_ = std::min(static_cast<double>(burst_), tokens_ + elapsed * qps_);
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  // Rounded up: a caller that waits the answer finds its token there.
  return std::chrono::ceil<std::chrono::nanoseconds>(
      std::chrono::duration<double>(-tokens_ / qps_));
}

}  // namespace bisync::kube
