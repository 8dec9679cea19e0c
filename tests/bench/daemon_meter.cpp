#include "tests/bench/daemon_meter.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

namespace bisync::bench {
namespace {

std::optional<std::string> readWhole(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "VmRSS:\t  123456 kB" -> bytes
std::uint64_t statusKilobytes(const std::string& status, std::string_view field) {
  const std::size_t at = status.find(field);
  if (at == std::string::npos) return 0;
  std::istringstream line(status.substr(at + field.size()));
  std::uint64_t kilobytes = 0;
  line >> kilobytes;
  return kilobytes * 1024;
}

// utime + stime of a /proc/<pid>/stat line, in seconds. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
std::optional<double> statCpuSeconds(const std::string& stat) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::vector<std::string> values;
  for (std::string value; fields >> value;) values.push_back(std::move(value));
  // After ')': field 3 (state) is values[0]; utime is field 14, stime field 15.
  if (values.size() < 13) return std::nullopt;
  const double ticks = std::stod(values[11]) + std::stod(values[12]);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The number right after the last `marker` in `log`, skipping `skipTo` first if given.
std::optional<std::uint64_t> numberAfter(const std::string& log, std::string_view marker,
                                         std::string_view skipTo = {}) {
  std::size_t at = log.rfind(marker);
  if (at == std::string::npos) return std::nullopt;
  at += marker.size();
  if (!skipTo.empty()) {
    at = log.find(skipTo, at);
    if (at == std::string::npos) return std::nullopt;
    at += skipTo.size();
  }
  std::uint64_t number = 0;
  if (std::from_chars(log.data() + at, log.data() + log.size(), number).ec != std::errc{}) {
    return std::nullopt;
  }
  return number;
}

}  // namespace

std::optional<ProcessSample> sampleProcess(pid_t pid) {
  const std::filesystem::path dir = "/proc/" + std::to_string(pid);
  const auto status = readWhole(dir / "status");
  const auto stat = readWhole(dir / "stat");
  if (!status || !stat) return std::nullopt;
  const auto cpu = statCpuSeconds(*stat);
  if (!cpu) return std::nullopt;
  return ProcessSample{.rssBytes = statusKilobytes(*status, "VmRSS:"),
                       .peakRssBytes = statusKilobytes(*status, "VmHWM:"),
                       .cpuSeconds = *cpu};
}

double ownCpuSeconds() {
  const auto stat = readWhole("/proc/self/stat");
  return stat ? statCpuSeconds(*stat).value_or(0) : 0;
}

std::optional<pid_t> findProcess(const std::vector<std::string>& arguments) {
  std::optional<pid_t> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto cmdline = readWhole(entry.path() / "cmdline");
    if (!cmdline) continue;
    std::vector<std::string_view> args;
    for (std::size_t start = 0; start < cmdline->size();) {
      const std::size_t end = std::min(cmdline->find('\0', start), cmdline->size());
      args.push_back(std::string_view(*cmdline).substr(start, end - start));
      start = end + 1;
    }
    const bool all = std::all_of(arguments.begin(), arguments.end(), [&](const std::string& a) {
      return std::find(args.begin(), args.end(), a) != args.end();
    });
    if (!all) continue;
    if (found) return std::nullopt;
    found = static_cast<pid_t>(std::stol(name));
  }
  return found;
}

WriteCounts WriteCounts::operator-(const WriteCounts& earlier) const {
  return {.targetApplies = targetApplies - earlier.targetApplies,
          .targetOther = targetOther - earlier.targetOther,
          .source = source - earlier.source,
          .namespaces = namespaces - earlier.namespaces};
}

bool addSample(const std::string& metrics, const std::string& series, std::uint64_t& into,
               std::string& seen) {
  const std::optional<double> value = testing::metricSample(metrics, series);
  if (!value) {
    seen = series + " is not in the scrape";
    return false;
  }
  into += static_cast<std::uint64_t>(*value);
  return true;
}

std::optional<WriteCounts> scrapeWrites(const testing::DaemonProcess& daemon, std::string& seen) {
  const std::optional<std::string> text = daemon.scrapeMetrics(seen);
  if (!text) return std::nullopt;
  WriteCounts counts;
  const auto add = [&](std::uint64_t& into, const std::string& series) {
    return addSample(*text, series, into, seen);
  };
  const auto writes = [](const char* side, const char* operation) {
    return std::string("kube_bisync_writes_total{side=\"") + side + "\",operation=\"" + operation +
           "\"}";
  };
  bool complete = add(counts.targetApplies, writes("target", "apply"));
  for (const char* operation : {"patch", "create", "delete"}) {
    complete = complete && add(counts.targetOther, writes("target", operation));
  }
  for (const char* operation : {"apply", "patch", "create", "delete"}) {
    complete = complete && add(counts.source, writes("source", operation));
  }
  complete = complete && add(counts.namespaces, "kube_bisync_namespace_writes_total");
  if (!complete) return std::nullopt;
  return counts;
}

std::optional<HistogramSnapshot> scrapeHistogram(const testing::DaemonProcess& daemon,
                                                 const std::string& name, std::string& seen) {
  const std::optional<std::string> text = daemon.scrapeMetrics(seen);
  if (!text) return std::nullopt;
  HistogramSnapshot snapshot;
  const std::string prefix = name + "_bucket{le=\"";
  for (std::size_t at = text->find(prefix); at != std::string::npos;
       at = text->find(prefix, at + 1)) {
    const std::size_t close = text->find('"', at + prefix.size());
    if (close == std::string::npos) break;
    const std::string le = text->substr(at + prefix.size(), close - at - prefix.size());
    snapshot.bounds.push_back(le == "+Inf" ? std::numeric_limits<double>::infinity()
                                           : std::strtod(le.c_str(), nullptr));
    snapshot.cumulative.push_back(std::strtoull(text->c_str() + close + 3, nullptr, 10));
  }
  if (snapshot.bounds.empty()) {
    seen = name + " is not in the scrape";
    return std::nullopt;
  }
  return snapshot;
}

std::optional<double> HistogramSnapshot::quantileMs(double q,
                                                    const HistogramSnapshot& earlier) const {
  if (earlier.cumulative.size() != cumulative.size() || cumulative.empty()) return std::nullopt;
  const std::uint64_t total = cumulative.back() - earlier.cumulative.back();
  if (total == 0) return std::nullopt;
  for (std::size_t i = 0; i < cumulative.size(); ++i) {
    const auto below = static_cast<double>(cumulative[i] - earlier.cumulative[i]);
    if (below >= q * static_cast<double>(total)) return bounds[i] * 1000.0;
  }
  return bounds.back() * 1000.0;
}

std::optional<std::uint64_t> reportedWrites(const std::string& log) {
  return numberAfter(log, "stopped: ");
}

std::optional<StartTimes> reportedStartTimes(const std::string& log) {
  const auto synced = numberAfter(log, "caches synced in ");
  const auto ready = numberAfter(log, "initial sync complete: ", " keys in ");
  if (!synced || !ready) return std::nullopt;
  return StartTimes{.cachesSyncedMs = *synced, .readyMs = *ready};
}

}  // namespace bisync::bench
