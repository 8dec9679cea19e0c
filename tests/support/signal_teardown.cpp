#include "tests/support/signal_teardown.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

namespace bisync::testing {
namespace {

struct Registry {
  std::mutex mutex;
  std::set<pid_t> groups;
  std::set<std::string> folders;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

void registerChildGroup(pid_t group) {
  std::lock_guard lock(registry().mutex);
  registry().groups.insert(group);
}

void unregisterChildGroup(pid_t group) {
  std::lock_guard lock(registry().mutex);
  registry().groups.erase(group);
}

void registerTempFolder(const std::string& path) {
  std::lock_guard lock(registry().mutex);
  registry().folders.insert(path);
}

void unregisterTempFolder(const std::string& path) {
  std::lock_guard lock(registry().mutex);
  registry().folders.erase(path);
}

void emergencyCleanup() noexcept {
  auto& r = registry();
  // try_lock: a thread that died holding the lock must not hang the exit.
  std::unique_lock lock(r.mutex, std::try_to_lock);
  for (pid_t group : r.groups) {
    ::kill(-group, SIGKILL);
  }
  for (pid_t group : r.groups) {
    ::waitpid(group, nullptr, 0);  // etcd must be gone before its folder is
  }
  for (const auto& folder : r.folders) {
    std::error_code ignored;
    std::filesystem::remove_all(folder, ignored);
  }
}

SignalTeardown::SignalTeardown() {
  sigemptyset(&signals_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    sigaddset(&signals_, sig);
  }
  ::pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  thread_ = std::thread([this] { loop(); });
}

SignalTeardown::~SignalTeardown() {
  {
    std::lock_guard lock(mutex_);
    signal_ = -1;  // tells the thread to leave
  }
  ::pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
}

void SignalTeardown::loop() {
  while (true) {
    int sig = 0;
    if (::sigwait(&signals_, &sig) != 0) {
      continue;
    }
    std::unique_lock lock(mutex_);
    if (signal_ < 0) {
      return;
    }
    if (waiting_) {
      signal_ = sig;
      waiting_ = false;
      received_.notify_all();
      continue;
    }
    lock.unlock();
    std::cerr << "\nkube-bisync testbed: " << ::strsignal(sig)
              << ": killing test servers and removing their folders\n";
    emergencyCleanup();
    ::_exit(128 + sig);
  }
}

int SignalTeardown::waitForSignal() {
  std::unique_lock lock(mutex_);
  waiting_ = true;
  received_.wait(lock, [this] { return !waiting_; });
  return signal_;
}

}  // namespace bisync::testing
