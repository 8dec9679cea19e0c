// The real kube-bisync executable as a child process of a test, pointed at the testbed.
//
// The constructor writes an admin kubeconfig per side (token auth) and starts the daemon with
// `--source-kubeconfig S --target-kubeconfig T <options.args...>` (without the two kubeconfig
// flags when options.kubeconfigFlags is false). Each run (the first, and
// every start() after terminate()) logs stdout and stderr to a file of its own, so that log
// checks only ever see the current run. The destructor kills the daemon (SIGKILL).
//
// Not thread-safe: one test thread drives it.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/testbed.hpp"
#include "tests/support/wait.hpp"

namespace bisync::testing {

struct DaemonOptions {
  // The kube-bisync executable. Tests pass BISYNC_DAEMON_BINARY (defined for their targets
  // only, not for this library).
  std::string binary;
  // Flags after the two kubeconfig flags: --cluster-name, --namespaces, -v, ...
  std::vector<std::string> args;
  // false: the test chooses each side's connection flags itself, in `args`.
  bool kubeconfigFlags = true;
};

// `options` with kubeconfig flags of its own (admin token, written into `dir`) that reach `side`
// through `proxyUrl` (a TcpProxy's, so that a test can delay or cut that side) and the other
// side directly.
DaemonOptions daemonThrough(const Testbed& testbed, Side side, const std::string& proxyUrl,
                            const std::filesystem::path& dir, DaemonOptions options);

// The value of `series` ("name" or "name{labels}") in Prometheus text; nullopt when absent.
std::optional<double> metricSample(std::string_view text, std::string_view series);
// The sum of every sample of metric `name`, whatever its labels ("name" and "name{...}").
double sumOfSamples(std::string_view text, std::string_view name);

class DaemonProcess {
 public:
  // Writes the kubeconfigs and starts the first run; throws std::system_error when the
  // executable cannot be started.
  DaemonProcess(const Testbed& testbed, DaemonOptions options);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts a new run with the same arguments; the daemon must not be running.
  void start();
  bool running();
  // Waits up to `timeout` for the daemon to exit by itself; returns its status ("exited with
  // status 2"), or "running" when it did not exit.
  std::string waitExit(std::chrono::milliseconds timeout);
  // SIGTERM, then waits up to `timeout` for the exit. Returns how it ended: "exited with
  // status 0" after a clean shutdown; "did not exit within N ms of SIGTERM (killed)" when it
  // hung (it is then killed).
  std::string terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGKILL, a crash without any shutdown; reaps it. start() may follow.
  void kill();
  // Sends `sig` (SIGSTOP, SIGCONT, ...) to the current run; no-op once it has exited.
  void signal(int sig);

  // Polls the current run's log until it contains `text`. Not met when the timeout passes or
  // the daemon exits without having logged it; the outcome then shows the log's tail.
  WaitOutcome waitForLog(std::string_view text, std::chrono::milliseconds timeout);
  // How many lines of the current run's log contain `text`.
  std::size_t countLog(std::string_view text) const;
  std::string log() const;
  std::string logTail(std::size_t lines = 40) const;
  // "run 2 (pid 1234, running), log <file>", then the log's tail: for failure messages.
  std::string describe(std::size_t lines = 40);

  // "http://127.0.0.1:<port>": where the current run serves /metrics, /healthz and /readyz,
  // from its log; "" until it has said so.
  std::string opsUrl() const;
  // A fresh scrape of /metrics; nullopt (with the reason in `seen`) when it fails.
  std::optional<std::string> scrapeMetrics(std::string& seen) const;
  // The value of one series ("name" or "name{labels}", exactly as the daemon prints it) in a
  // fresh scrape; nullopt when the scrape fails or lacks it (`seen` says which).
  std::optional<double> metric(const std::string& series, std::string& seen) const;
  // The current run's process id (for /proc readings); it stays valid until the next start().
  pid_t pid() const { return child_.pid(); }
  const std::filesystem::path& logFile() const { return logFile_; }
  const std::filesystem::path& sourceKubeconfig() const { return sourceKubeconfig_; }
  const std::filesystem::path& targetKubeconfig() const { return targetKubeconfig_; }
  const std::vector<std::string>& argv() const { return argv_; }

 private:
  // Declared before the child: its forking thread must outlive it (see process.hpp).
  ProcessLauncher launcher_;
  TempDir dir_;
  std::filesystem::path sourceKubeconfig_;
  std::filesystem::path targetKubeconfig_;
  std::vector<std::string> argv_;
  int runs_ = 0;
  std::filesystem::path logFile_;
  ChildProcess child_;
};

}  // namespace bisync::testing
