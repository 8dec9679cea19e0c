#include "tests/support/daemon_process.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/http_probe.hpp"

namespace bisync::testing {

DaemonOptions daemonThrough(const Testbed& testbed, Side side, const std::string& proxyUrl,
                            const std::filesystem::path& dir, DaemonOptions options) {
  auto kubeconfig = [&](Side of, const char* file) {
    return testbed.writeKubeconfig(of, Auth::AdminToken, dir / file, of == side ? proxyUrl : "")
        .string();
  };
  options.kubeconfigFlags = false;
  options.args.insert(options.args.begin(),
                      {"--source-kubeconfig", kubeconfig(Side::Source, "source.kubeconfig"),
                       "--target-kubeconfig", kubeconfig(Side::Target, "target.kubeconfig")});
  return options;
}
namespace {

using Clock = std::chrono::steady_clock;

std::string readLog(const std::filesystem::path& file) {
  std::error_code ignored;
  if (!std::filesystem::exists(file, ignored)) {
    return {};
  }
  return readFile(file);
}

}  // namespace

std::optional<double> metricSample(std::string_view text, std::string_view series) {
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    }
  }
  return std::nullopt;
}

double sumOfSamples(std::string_view text, std::string_view name) {
  double sum = 0;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line.size() <= name.size() || !line.starts_with(name)) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    const std::size_t value = line.rfind(' ');
    sum += std::strtod(std::string(line.substr(value + 1)).c_str(), nullptr);
  }
  return sum;
}

DaemonProcess::DaemonProcess(const Testbed& testbed, DaemonOptions options)
    : dir_(testbed.dir(), "daemon-") {
  if (options.binary.empty()) {
    throw std::invalid_argument("DaemonOptions::binary is empty");
  }
  if (const char* keep = std::getenv("KUBE_BISYNC_TESTBED_KEEP");
      keep != nullptr && std::string_view(keep) != "0") {
    dir_.keep();
  }
  sourceKubeconfig_ =
      testbed.writeKubeconfig(Side::Source, Auth::AdminToken, dir_.path() / "source.kubeconfig");
  targetKubeconfig_ =
      testbed.writeKubeconfig(Side::Target, Auth::AdminToken, dir_.path() / "target.kubeconfig");
  argv_ = {std::move(options.binary)};
  if (options.kubeconfigFlags) {
    argv_.insert(argv_.end(), {"--source-kubeconfig", sourceKubeconfig_.string(),
                               "--target-kubeconfig", targetKubeconfig_.string()});
  }
  // Unless a test chooses them, the HTTP endpoints go to a free loopback port of each run, so
  // daemons never compete for :8080 (opsUrl() reads the port from the log).
  for (const char* flag : {"--metrics-bind-address", "--health-probe-bind-address"}) {
    if (std::find(options.args.begin(), options.args.end(), flag) == options.args.end()) {
      argv_.insert(argv_.end(), {flag, "127.0.0.1:0"});
    }
  }
  argv_.insert(argv_.end(), std::make_move_iterator(options.args.begin()),
               std::make_move_iterator(options.args.end()));
  start();
}

DaemonProcess::~DaemonProcess() = default;  // child_ goes first: SIGKILL and reap

void DaemonProcess::start() {
  if (child_.running()) {
    throw std::logic_error("DaemonProcess::start: the daemon is still running");
  }
  ++runs_;
  logFile_ = dir_.path() / ("daemon-" + std::to_string(runs_) + ".log");
  child_ = launcher_.spawn({.argv = argv_, .env = {}, .logFile = logFile_.string()});
}

bool DaemonProcess::running() { return child_.running(); }

void DaemonProcess::kill() { child_.kill(); }

void DaemonProcess::signal(int sig) { child_.signal(sig); }

std::optional<std::string> DaemonProcess::scrapeMetrics(std::string& seen) const {
  ProbeRequest request;
  request.url = opsUrl() + "/metrics";
  ProbeResult scraped = httpGet(request);
  if (scraped.status != 200) {
    seen = "GET " + request.url + ": " + std::to_string(scraped.status) + " " + scraped.error;
    return std::nullopt;
  }
  return std::move(scraped.body);
}

std::optional<double> DaemonProcess::metric(const std::string& series, std::string& seen) const {
  const std::optional<std::string> text = scrapeMetrics(seen);
  if (!text) return std::nullopt;
  const std::optional<double> value = metricSample(*text, series);
  seen = series + (value ? " = " + std::to_string(*value) : " is not in the scrape");
  return value;
}

std::string DaemonProcess::opsUrl() const {
  // "serving /metrics, /healthz, /readyz on http://127.0.0.1:41234"
  const std::string text = log();
  constexpr std::string_view kMarker = " on http://";
  const auto serving = text.find("serving /metrics");
  if (serving == std::string::npos) return "";
  const auto at = text.find(kMarker, serving);
  const auto end = text.find_first_of("\r\n", at);
  if (at == std::string::npos || end == std::string::npos) return "";
  return text.substr(at + 4, end - at - 4);
}

std::string DaemonProcess::waitExit(std::chrono::milliseconds timeout) {
  child_.waitExit(timeout);
  return child_.describeStatus();
}

std::string DaemonProcess::terminate(std::chrono::milliseconds timeout) {
  child_.signal(SIGTERM);
  if (!child_.waitExit(timeout)) {
    child_.kill();
    return "did not exit within " + std::to_string(timeout.count()) + " ms of SIGTERM (killed)";
  }
  return child_.describeStatus();
}

WaitOutcome DaemonProcess::waitForLog(std::string_view text, std::chrono::milliseconds timeout) {
  const auto started = Clock::now();
  WaitOutcome outcome;
  outcome.what = "the daemon logs \"" + std::string(text) + "\"";
  while (true) {
    // Whether it still runs is asked first: a line logged just before the exit is then read.
    const bool alive = child_.running();
    ++outcome.checks;
    outcome.met = log().find(text) != std::string::npos;
    if (outcome.met || !alive || Clock::now() - started >= timeout) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  outcome.waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  if (!outcome.met) {
    outcome.lastSeen = describe();
  }
  return outcome;
}

std::size_t DaemonProcess::countLog(std::string_view text) const {
  std::istringstream lines(log());
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(text) != std::string::npos) {
      ++count;
    }
  }
  return count;
}

std::string DaemonProcess::log() const { return readLog(logFile_); }

std::string DaemonProcess::logTail(std::size_t lines) const { return fileTail(logFile_, lines); }

std::string DaemonProcess::describe(std::size_t lines) {
  std::ostringstream out;
  out << "daemon run " << runs_ << " (pid " << child_.pid() << ", " << child_.describeStatus()
      << "), log " << logFile_.string() << "; last " << lines << " lines:\n"
      << logTail(lines);
  return out.str();
}

}  // namespace bisync::testing
