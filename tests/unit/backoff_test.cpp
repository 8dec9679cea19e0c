#include "syncer/kube/backoff.hpp"

#include <chrono>
#include <vector>

#include "tests/support/catch.hpp"

namespace {

using bisync::kube::BackoffOptions;
using bisync::kube::ExponentialBackoff;
using bisync::kube::JitterShape;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A random source that answers `value` every time and counts its calls.
struct FixedRandom {
  double value;
  int* calls;
  double operator()() const {
    ++*calls;
    return value;
  }
};

// Jittered delays are computed in doubles: equal to the microsecond is equal.
bool near(nanoseconds delay, nanoseconds expected) {
  const auto difference = delay > expected ? delay - expected : expected - delay;
  return difference < std::chrono::microseconds(1);
}

}  // namespace

TEST_CASE("without jitter the delay doubles from base with each failure and stops at max",
          "[ratelimit]") {
  const ExponentialBackoff backoff({.base = milliseconds(100), .max = milliseconds(1000)});
  CHECK(backoff.delay(0) == milliseconds(100));
  CHECK(backoff.delay(1) == milliseconds(200));
  CHECK(backoff.delay(2) == milliseconds(400));
  CHECK(backoff.delay(3) == milliseconds(800));
  CHECK(backoff.delay(4) == milliseconds(1000));
  CHECK(backoff.delay(60) == milliseconds(1000));
  CHECK(backoff.delay(1'000'000) == milliseconds(1000));
}

TEST_CASE("a negative failure count waits the first delay", "[ratelimit]") {
  const ExponentialBackoff backoff({.base = milliseconds(5), .max = milliseconds(50)});
  CHECK(backoff.delay(-3) == milliseconds(5));
}

TEST_CASE("a base of 0 waits 1 ns and a max below base is raised to base", "[ratelimit]") {
  const ExponentialBackoff zero({.base = nanoseconds(0), .max = nanoseconds(0)});
  CHECK(zero.delay(0) == nanoseconds(1));
  CHECK(zero.delay(10) == nanoseconds(1));
  const ExponentialBackoff inverted({.base = milliseconds(300), .max = milliseconds(100)});
  CHECK(inverted.delay(0) == milliseconds(300));
  CHECK(inverted.delay(5) == milliseconds(300));
}

TEST_CASE("a symmetric jitter stretches a delay within [1 - jitter, 1 + jitter] and never past max",
          "[ratelimit]") {
  int calls = 0;
  const BackoffOptions options{.base = milliseconds(100), .max = milliseconds(1000), .jitter = 0.2};
  const ExponentialBackoff lowest(options, FixedRandom{0.0, &calls});
  CHECK(near(lowest.delay(0), milliseconds(80)));
  CHECK(near(lowest.delay(1), milliseconds(160)));
  CHECK(near(lowest.delay(4), milliseconds(800)));  // the capped step, stretched down
  const ExponentialBackoff middle(options, FixedRandom{0.5, &calls});
  CHECK(near(middle.delay(2), milliseconds(400)));
  const ExponentialBackoff highest(options, FixedRandom{0.75, &calls});
  CHECK(near(highest.delay(0), milliseconds(110)));
  CHECK(near(highest.delay(4), milliseconds(1000)));  // 1100 ms stretched, capped at max
  CHECK(calls == 6);
}

TEST_CASE("an up-only jitter never makes a delay shorter than its step", "[ratelimit]") {
  int calls = 0;
  const BackoffOptions options{.base = milliseconds(800),
                               .max = milliseconds(30000),
                               .jitter = 0.5,
                               .shape = JitterShape::UpOnly};
  const ExponentialBackoff lowest(options, FixedRandom{0.0, &calls});
  CHECK(lowest.delay(0) == milliseconds(800));
  CHECK(lowest.delay(1) == milliseconds(1600));
  const ExponentialBackoff middle(options, FixedRandom{0.5, &calls});
  CHECK(near(middle.delay(0), milliseconds(1000)));
  CHECK(near(middle.delay(10), milliseconds(30000)));  // the capped step is not stretched past max
}

TEST_CASE("a backoff without jitter never asks its random source", "[ratelimit]") {
  int calls = 0;
  const ExponentialBackoff backoff({.base = milliseconds(5), .max = milliseconds(50)},
                                   FixedRandom{0.5, &calls});
  for (int failures = 0; failures < 10; ++failures) backoff.delay(failures);
  CHECK(calls == 0);
}

TEST_CASE("two backoffs with the same seed draw the same delays, and stay inside the jitter",
          "[ratelimit]") {
  const BackoffOptions options{
      .base = milliseconds(2), .max = milliseconds(1000), .jitter = 0.2, .seed = 42};
  const ExponentialBackoff first(options);
  const ExponentialBackoff second(options);
  std::vector<nanoseconds> firstDelays;
  std::vector<nanoseconds> secondDelays;
  for (int failures = 0; failures < 12; ++failures) {
    firstDelays.push_back(first.delay(failures));
    secondDelays.push_back(second.delay(failures));
    const double step = 2e6 * static_cast<double>(1 << failures);
    INFO("failures=" << failures << " delay=" << firstDelays.back().count() << " ns");
    CHECK(static_cast<double>(firstDelays.back().count()) >= std::min(step, 1e9) * 0.8 - 1);
    CHECK(firstDelays.back() <= milliseconds(1000));
  }
  CHECK(firstDelays == secondDelays);
}
