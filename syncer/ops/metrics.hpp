// Metrics in the Prometheus text exposition format (version 0.0.4), the format every scraper
// and `curl` reads. The daemon builds its families from its counters at scrape time; this only
// renders them. Pure, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bisync::ops {

enum class MetricType { Counter, Gauge, Histogram };

struct MetricSample {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value
  double value = 0;
  std::string suffix;  // of a histogram's series: "_bucket", "_sum", "_count"
};

struct MetricFamily {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total
  std::string help;
  MetricType type = MetricType::Gauge;
  std::vector<MetricSample> samples;
};

// `# HELP` and `# TYPE` lines, then one line per sample, label values and help escaped as the
// format requires; integral values print without a decimal point.
std::string renderPrometheus(const std::vector<MetricFamily>& families);

// A histogram family from per-bucket counts (not cumulative; the last one above every bound),
// upper bounds in seconds, and the sum of the observations in seconds.
MetricFamily histogram(std::string name, std::string help, const std::vector<double>& bounds,
                       const std::vector<std::uint64_t>& counts, double sum);

// The Content-Type of renderPrometheus' output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace bisync::ops
