#include "tests/support/wait.hpp"

#include <thread>

namespace bisync::testing {

std::ostream& operator<<(std::ostream& out, const WaitOutcome& outcome) {
  out << (outcome.met ? "met: " : "NOT met: ") << outcome.what << " (after "
      << outcome.waited.count() << " ms, " << outcome.checks << " checks)";
  if (!outcome.lastSeen.empty()) {
    out << "; last seen: " << outcome.lastSeen;
  }
  return out;
}

WaitOutcome waitFor(std::string what, std::chrono::milliseconds timeout,
                    const std::function<bool(std::string& seen)>& check,
                    std::chrono::milliseconds interval) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  WaitOutcome outcome;
  outcome.what = std::move(what);
  while (true) {
    std::string seen;
    outcome.met = check(seen);
    ++outcome.checks;
    outcome.lastSeen = std::move(seen);
    if (outcome.met || Clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(interval);
  }
  outcome.waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return outcome;
}

WaitOutcome holdsThroughout(std::string what, std::chrono::milliseconds window,
                            const std::function<bool(std::string& seen)>& check,
                            std::chrono::milliseconds interval) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  WaitOutcome outcome;
  outcome.what = "throughout " + std::to_string(window.count()) + " ms: " + std::move(what);
  outcome.met = true;
  for (;;) {
    std::string seen;
    const bool holds = check(seen);
    ++outcome.checks;
    outcome.lastSeen = std::move(seen);
    if (!holds) {
      outcome.met = false;
      break;
    }
    if (Clock::now() - started >= window) break;
    std::this_thread::sleep_for(interval);
  }
  outcome.waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return outcome;
}

}  // namespace bisync::testing
