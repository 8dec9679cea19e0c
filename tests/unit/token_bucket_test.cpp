#include "syncer/kube/token_bucket.hpp"

#include <chrono>

#include "tests/support/catch.hpp"

namespace {

using bisync::kube::TokenBucket;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using Clock = TokenBucket::Clock;

}  // namespace

TEST_CASE("a full bucket lets burst requests through at once, then spaces them 1/qps apart",
          "[ratelimit]") {
  const Clock::time_point start{};
  TokenBucket bucket(10, 3, start);
  CHECK(bucket.reserve(start) == nanoseconds(0));
  CHECK(bucket.reserve(start) == nanoseconds(0));
  CHECK(bucket.reserve(start) == nanoseconds(0));
  // Reservations: each caller waits for its own token, after the ones before it.
  CHECK(bucket.reserve(start) == milliseconds(100));
  CHECK(bucket.reserve(start) == milliseconds(200));
  CHECK(bucket.reserve(start + milliseconds(200)) == milliseconds(100));
}

TEST_CASE("an idle bucket refills at qps but never holds more than burst", "[ratelimit]") {
  const Clock::time_point start{};
  TokenBucket bucket(10, 3, start);
  for (int i = 0; i < 3; ++i) bucket.reserve(start);
  const Clock::time_point later = start + std::chrono::seconds(60);
  for (int i = 0; i < 3; ++i) CHECK(bucket.reserve(later) == nanoseconds(0));
  CHECK(bucket.reserve(later) == milliseconds(100));
}

TEST_CASE("callers that wait out each answer get qps requests a second", "[ratelimit]") {
  Clock::time_point now{};
  TokenBucket bucket(50, 10, now);
  for (int i = 0; i < 110; ++i) now += bucket.reserve(now);
  // The first 10 are the burst; the other 100 come 20 ms apart.
  CHECK(now - Clock::time_point{} >= milliseconds(2000) - nanoseconds(100));
  CHECK(now - Clock::time_point{} <= milliseconds(2000) + nanoseconds(100));
}

TEST_CASE("qps 0 or below disables the bucket", "[ratelimit]") {
  const Clock::time_point start{};
  TokenBucket bucket(0, 1, start);
  CHECK_FALSE(bucket.enabled());
  for (int i = 0; i < 1000; ++i) REQUIRE(bucket.reserve(start) == nanoseconds(0));
  TokenBucket negative(-5, 1, start);
  CHECK(negative.reserve(start) == nanoseconds(0));
}

TEST_CASE("a burst below 1 holds one token", "[ratelimit]") {
  const Clock::time_point start{};
  TokenBucket bucket(4, 0, start);
  CHECK(bucket.burst() == 1);
  CHECK(bucket.reserve(start) == nanoseconds(0));
  CHECK(bucket.reserve(start) == milliseconds(250));
}

TEST_CASE("a clock that steps back refills nothing", "[ratelimit]") {
  const Clock::time_point start = Clock::time_point{} + std::chrono::seconds(10);
  TokenBucket bucket(1, 1, start);
  CHECK(bucket.reserve(start) == nanoseconds(0));
  CHECK(bucket.reserve(start - std::chrono::seconds(5)) == std::chrono::seconds(1));
}
