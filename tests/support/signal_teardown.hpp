// Cleaning up after the tests when the process is told to stop: a registry of the live child
// process groups and temporary folders (process.hpp fills it), and SignalTeardown, which
// takes SIGINT/SIGTERM/SIGHUP on a thread of its own and kills and removes what is
// registered before the process exits. (A SIGKILL cannot be caught: then the children die
// through PR_SET_PDEATHSIG and the next testbed removes the folder.)
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>
#include <thread>

namespace bisync::testing {

void registerChildGroup(pid_t group);
void unregisterChildGroup(pid_t group);
void registerTempFolder(const std::string& path);
void unregisterTempFolder(const std::string& path);

// Kills every live child (SIGKILL to its group) and removes every temporary folder made by
// this process. For a signal-handling thread that is about to _exit.
void emergencyCleanup() noexcept;

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and thus in every thread it
// creates afterwards: construct it first thing in main) and waits for them on a thread of
// its own. A signal that arrives while nobody is in waitForSignal() runs emergencyCleanup()
// and ends the process with status 128+signal; waitForSignal() instead hands the signal to
// its caller, for an orderly teardown.
class SignalTeardown {
 public:
  SignalTeardown();
  ~SignalTeardown();
  SignalTeardown(const SignalTeardown&) = delete;
  SignalTeardown& operator=(const SignalTeardown&) = delete;

  int waitForSignal();

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable received_;
  bool waiting_ = false;
  int signal_ = 0;
  sigset_t signals_{};
  std::thread thread_;
};

}  // namespace bisync::testing
