// Waiting in tests: poll a condition until a deadline, and say what was seen when it is not
// met. Use as REQUIRE(waitFor(...)): Catch prints the outcome (condition, time, last seen).
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>

namespace bisync::testing {

struct WaitOutcome {
  bool met = false;
  std::string what;      // the condition, as the test named it
  std::string lastSeen;  // what the last check reported
  std::chrono::milliseconds waited{0};
  int checks = 0;
  explicit operator bool() const { return met; }
};
std::ostream& operator<<(std::ostream& out, const WaitOutcome& outcome);

// Calls `check` every `interval` until it returns true or `timeout` passes. `check` describes
// what it saw in its argument (kept for the failure message).
WaitOutcome waitFor(std::string what, std::chrono::milliseconds timeout,
                    const std::function<bool(std::string& seen)>& check,
                    std::chrono::milliseconds interval = std::chrono::milliseconds(100));

// A "nothing happens" window: calls `check` every `interval` for the whole `window` and fails
// at the first check that returns false. For what must NOT happen (an object deleted, a copy
// appearing); name the window after what it waits out.
WaitOutcome holdsThroughout(std::string what, std::chrono::milliseconds window,
                            const std::function<bool(std::string& seen)>& check,
                            std::chrono::milliseconds interval = std::chrono::milliseconds(250));

}  // namespace bisync::testing
