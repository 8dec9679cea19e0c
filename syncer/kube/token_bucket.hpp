// TokenBucket: the one client-side rate limit of the daemon (the Client's --qps/--burst and the
// work queue's retry bucket), a token bucket with reservations like golang.org/x/time/rate and
// client-go's flowcontrol: it starts full (burst tokens), refills at qps tokens a second up to
// burst, and reserve() always takes a token, returning how long the caller must wait until the
// bucket would have held it. Tokens go negative, so later callers wait longer: the rate holds
// however many callers queue up.
//
// Pure: the time comes in as an argument (steady_clock::now() unless a test passes its own).
// Not thread-safe: one owner (one loop) per bucket.
#pragma once

#include <chrono>

namespace bisync::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // qps <= 0 disables the bucket: reserve() always answers 0. burst is at least 1 (a bucket
  // must hold the token it hands out).
  TokenBucket(double qps, int burst, Clock::time_point now = Clock::now());

  // Takes one token; the wait until it is there (0 when the bucket held one).
  std::chrono::nanoseconds reserve(Clock::time_point now = Clock::now());

  bool enabled() const { return qps_ > 0; }
  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  double qps_;
  int burst_;
  double tokens_;
  Clock::time_point updated_;
};

}  // namespace bisync::kube
