// Child processes, temporary folders and loopback ports for tests, all RAII.
//
// Every child runs in its own process group with PR_SET_PDEATHSIG=SIGKILL, so it dies with
// the test process even when that is killed outright. The kernel sends that signal when the
// *thread* that forked the child exits, so long-lived children (servers) are forked by a
// ProcessLauncher, whose thread lives as long as the children it starts; short commands
// (runCommand) finish before their caller returns and fork on the calling thread.
//
// Live children and temporary folders are also registered with signal_teardown.hpp, whose
// signal thread kills them and removes the folders before the process exits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bisync::testing {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] without a '/' is looked up in PATH
  std::vector<std::string> env;   // "NAME=value" entries added to (or replacing) ours
  std::string logFile;            // stdout and stderr are appended here; empty: /dev/null
};

// One child process group. Not copyable; the destructor kills (SIGKILL) and reaps it.
// Methods may be called from any thread, but one object must not be used concurrently.
struct CommandResult;
struct CommandOptions;

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Forks and execs on the calling thread (see ProcessLauncher for long-lived children).
  // Throws std::system_error when the program cannot be started.
  static ChildProcess spawn(const ProcessSpec& spec);

  pid_t pid() const { return pid_; }
  // True while the child has not exited; reaps it when it has.
  bool running();
  // "running", "exited with status 1", "killed by signal 9".
  std::string describeStatus();
  // Sends `sig` to the child's process group (no-op once it has exited).
  void signal(int sig);
  // Waits until the child exits; false when `timeout` passed first.
  bool waitExit(std::chrono::milliseconds timeout);
  // SIGTERM (and SIGCONT, in case it is paused), then SIGKILL after `grace`; reaps it.
  void stop(std::chrono::milliseconds grace);
  // SIGKILL and reap.
  void kill();

 private:
  friend CommandResult runCommand(const std::vector<std::string>&, const CommandOptions&);
  void reap(int options);
  pid_t pid_ = -1;
  std::optional<int> waitStatus_;
};

// Forks children from one thread that outlives them (see the top of this file).
class ProcessLauncher {
 public:
  ProcessLauncher();
  ~ProcessLauncher();
  ProcessLauncher(const ProcessLauncher&) = delete;
  ProcessLauncher& operator=(const ProcessLauncher&) = delete;

  ChildProcess spawn(const ProcessSpec& spec);

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

struct CommandResult {
  int exitCode = -1;  // -1 when killed by a signal or timed out
  bool timedOut = false;
  std::string out;
  std::string err;  // empty when stderr was passed through
  bool ok() const { return exitCode == 0; }
  // "exit 1: <stderr, trimmed>" for messages
  std::string summary() const;
};

struct CommandOptions {
  std::chrono::milliseconds timeout{60000};
  bool captureStderr = true;  // false: the child writes to our stderr
  std::vector<std::string> env;
};

// Runs a program to completion and collects its output; kills it after the timeout.
CommandResult runCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});

// A folder made with mkdtemp and removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir() = default;
  // Creates <parent>/<prefix>XXXXXX.
  TempDir(const std::filesystem::path& parent, const std::string& prefix);
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Keeps the folder on disk after destruction (for post-mortem debugging).
  void keep() { keep_ = true; }

 private:
  void remove() noexcept;
  std::filesystem::path path_;
  bool keep_ = false;
};

// A loopback TCP port that was free when asked, outside the kernel's ephemeral range (so that
// outgoing connections cannot take it while a server restarts), never handed out twice by
// this process.
int pickFreePort();

// Random lowercase hex, from std::random_device.
std::string randomHex(std::size_t bytes);

// Reads a whole file; throws std::runtime_error naming the file when it cannot.
std::string readFile(const std::filesystem::path& path);
// Writes a file atomically enough for tests (truncate + write); throws on failure.
void writeFile(const std::filesystem::path& path, const std::string& content);
// The last `lines` lines of a file ("" when unreadable).
std::string fileTail(const std::filesystem::path& path, std::size_t lines);

}  // namespace bisync::testing
