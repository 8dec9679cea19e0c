// What the benchmark reads from the daemon from outside, without any of its internals: memory
// and CPU from /proc/<pid>, its writes from its /metrics endpoint.
//
// Used from the driver's main thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/daemon_process.hpp"

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

// The daemon's writes since it started, from its /metrics (kube_bisync_writes_total by side
// and operation, kube_bisync_namespace_writes_total).
struct WriteCounts {
  std::uint64_t targetApplies = 0;
  std::uint64_t targetOther = 0;  // patches, creates and deletes of target objects
  std::uint64_t source = 0;       // every write to a source object (sync-status, fields up)
  std::uint64_t namespaces = 0;   // target namespaces created or deleted
  std::uint64_t total() const { return targetApplies + targetOther + source + namespaces; }
  WriteCounts operator-(const WriteCounts& earlier) const;
};

// Adds the value of `series` (name and labels, as the exposition writes them) in the /metrics
// text `metrics` to `into`; false, with which series is missing in `seen`, when it is not there.
bool addSample(const std::string& metrics, const std::string& series, std::uint64_t& into,
               std::string& seen);

// One scrape of the daemon's /metrics; nullopt (the reason in `seen`) when it cannot be read.
std::optional<WriteCounts> scrapeWrites(const testing::DaemonProcess& daemon, std::string& seen);

// The cumulative bucket counts of one of the daemon's histograms (`name`_bucket, by `le`).
struct HistogramSnapshot {
  std::vector<double> bounds;             // upper bounds in seconds; +Inf last
  std::vector<std::uint64_t> cumulative;  // count at or below each bound
  // The bound at or below which fraction `q` of the observations since `earlier` fall, in ms
  // (a bucket's upper bound, so an upper estimate); nullopt without observations.
  std::optional<double> quantileMs(double q, const HistogramSnapshot& earlier) const;
};
std::optional<HistogramSnapshot> scrapeHistogram(const testing::DaemonProcess& daemon,
                                                 const std::string& name, std::string& seen);

// The write total of the daemon's own "stopped: <n> writes" log line, if it logged one.
std::optional<std::uint64_t> reportedWrites(const std::string& log);

// The daemon's own account of its start: milliseconds from starting its informers until the
// caches synced, and until the initial sync was complete (its "caches synced in <n> ms" and
// "initial sync complete: <k> keys in <n> ms" log lines).
struct StartTimes {
  std::uint64_t cachesSyncedMs = 0;
  std::uint64_t readyMs = 0;
};
std::optional<StartTimes> reportedStartTimes(const std::string& log);

}  // namespace bisync::bench
