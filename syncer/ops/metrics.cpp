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

}  // namespace

std::string renderPrometheus(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& family : families) {
    out += "# HELP " + family.name + " " + escaped(family.help, false) + "\n";
    out +=
        "# TYPE " + family.name + (family.type == MetricType::Counter ? " counter\n" : " gauge\n");
    for (const MetricSample& sample : family.samples) {
      out += family.name;
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
