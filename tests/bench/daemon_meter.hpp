// What the benchmark reads from the daemon from outside, without any of its internals: memory
// and CPU from /proc/<pid>, and its writes from its log. At `-v 2` the daemon logs one line per
// write it makes ("applied ...", "deleted ...", "created ..." (namespaces, objects made on the
// source), "removed foreign keys from ..."); WriteLog follows one run's log file and counts them.
//
// Used from the driver's main thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bisync::bench {

struct ProcessSample {
  std::uint64_t rssBytes = 0;      // VmRSS
  std::uint64_t peakRssBytes = 0;  // VmHWM
  double cpuSeconds = 0;           // utime + stime
};

// Reads /proc/<pid>/status and /proc/<pid>/stat; nullopt once the process is gone.
std::optional<ProcessSample> sampleProcess(pid_t pid);
// The driver's own CPU seconds (user + system, all threads).
double ownCpuSeconds();
// The process whose command line holds every one of `arguments` (the testbed's servers, which
// it does not name by pid); nullopt when none or several do.
std::optional<pid_t> findProcess(const std::vector<std::string>& arguments);

// The message of a spdlog line: the text after its leading "[...]" groups (time, level).
std::string_view logMessage(std::string_view line);

struct WriteCounts {
  std::uint64_t applies = 0;      // "applied ..." (to either side)
  std::uint64_t deletes = 0;      // "deleted ..." (objects and namespaces)
  std::uint64_t creates = 0;      // "created ..." (namespaces, objects made on the source)
  std::uint64_t foreignKeys = 0;  // "removed foreign keys from ..."
  std::uint64_t total() const { return applies + deletes + creates + foreignKeys; }
  WriteCounts operator-(const WriteCounts& earlier) const;
};

// Follows a growing log file: poll() reads what was appended since the last call (a partial
// last line waits for its end) and updates the counts. It also notes the first line that
// contains `marker` (the daemon's ready line) and the write total of the daemon's own
// "stopped: <n> writes" line, a cross-check of the counted lines.
class WriteLog {
 public:
  WriteLog(std::filesystem::path file, std::string marker);

  void poll();
  const WriteCounts& counts() const { return counts_; }
  bool markerSeen() const { return markerSeen_; }
  std::optional<std::uint64_t> reportedWrites() const { return reportedWrites_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  void consume(std::string_view line);

  std::filesystem::path file_;
  std::string marker_;
  std::uint64_t offset_ = 0;
  std::string partial_;
  WriteCounts counts_;
  bool markerSeen_ = false;
  std::optional<std::uint64_t> reportedWrites_;
};

}  // namespace bisync::bench
