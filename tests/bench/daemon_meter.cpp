#include "tests/bench/daemon_meter.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
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

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
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

std::string_view logMessage(std::string_view line) {
  while (startsWith(line, "[")) {
    const std::size_t close = line.find("] ");
    if (close == std::string_view::npos) break;
    line.remove_prefix(close + 2);
  }
  return line;
}

WriteCounts WriteCounts::operator-(const WriteCounts& earlier) const {
  return {.applies = applies - earlier.applies,
          .deletes = deletes - earlier.deletes,
          .creates = creates - earlier.creates,
          .foreignKeys = foreignKeys - earlier.foreignKeys};
}

WriteLog::WriteLog(std::filesystem::path file, std::string marker)
    : file_(std::move(file)), marker_(std::move(marker)) {}

void WriteLog::poll() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;  // not created yet
  in.seekg(static_cast<std::streamoff>(offset_));
  std::array<char, 65536> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    const auto got = static_cast<std::size_t>(in.gcount());
    offset_ += got;
    partial_.append(buffer.data(), got);
    std::size_t start = 0;
    for (std::size_t end; (end = partial_.find('\n', start)) != std::string::npos;
         start = end + 1) {
      consume(std::string_view(partial_).substr(start, end - start));
    }
    partial_.erase(0, start);
  }
}

void WriteLog::consume(std::string_view line) {
  if (!marker_.empty() && !markerSeen_ && line.find(marker_) != std::string_view::npos) {
    markerSeen_ = true;
  }
  const std::string_view message = logMessage(line);
  if (startsWith(message, "applied ")) {
    ++counts_.applies;
  } else if (startsWith(message, "deleted ")) {
    ++counts_.deletes;
  } else if (startsWith(message, "created ")) {
    ++counts_.creates;
  } else if (startsWith(message, "removed foreign keys from ")) {
    ++counts_.foreignKeys;
  } else if (startsWith(message, "stopped: ")) {
    std::uint64_t writes = 0;
    const std::string_view number = message.substr(9);
    if (std::from_chars(number.data(), number.data() + number.size(), writes).ec == std::errc{}) {
      reportedWrites_ = writes;
    }
  }
}

}  // namespace bisync::bench
