#include "syncer/ops/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace bisync::ops {

namespace {

// Label values escape backslash, double quote and newline; help text backslash and newline.
std::string escaped(const std::string& text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  // Counters are integers; %.17g would print them exactly too, but as 1e+06 past a million.
  if (std::fabs(value) < 9.007199254740992e15 && value == std::floor(value)) {
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
  }
  return buffer;
}

const char* typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

MetricFamily histogram(std::string name, std::string help, const std::vector<double>& bounds,
                       const std::vector<std::uint64_t>& counts, double sum) {
  MetricFamily family{std::move(name), std::move(help), MetricType::Histogram, {}};
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds.size() ? formatValue(bounds[i]) : "+Inf";
    family.samples.push_back({{{"le", le}}, static_cast<double>(cumulative), "_bucket"});
  }
  family.samples.push_back({{}, sum, "_sum"});
  family.samples.push_back({{}, static_cast<double>(cumulative), "_count"});
  return family;
}

std::string renderPrometheus(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& family : families) {
    out += "# HELP " + family.name + " " + escaped(family.help, false) + "\n";
    out += "# TYPE " + family.name + " " + typeName(family.type) + "\n";
    for (const MetricSample& sample : family.samples) {
      out += family.name + sample.suffix;
      if (!sample.labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < sample.labels.size(); ++i) {
          if (i > 0) out += ',';
          out += sample.labels[i].first + "=\"" + escaped(sample.labels[i].second, true) + '"';
        }
        out += '}';
      }
      out += ' ' + formatValue(sample.value) + '\n';
    }
  }
  return out;
}

}  // namespace bisync::ops
