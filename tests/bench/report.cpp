#include "tests/bench/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include <rapidjson/prettywriter.h>
#include "syncer/kube/json.hpp"  // RapidJSON, configured for the project

#include "tests/support/process.hpp"

namespace bisync::bench {
namespace {

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string ratioText(const std::optional<double>& ratio) {
  return ratio ? fixed(*ratio, 2) + " x" : "-";
}

std::string metText(const std::optional<bool>& met) {
  if (!met) return "-";
  return *met ? "yes" : "NO";
}

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void writeNumber(Writer& writer, const std::optional<double>& value) {
  if (value && std::isfinite(*value)) {
    writer.Double(*value);
  } else {
    writer.Null();
  }
}

void writeString(Writer& writer, const std::string& text) {
  writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

std::string Target::describe(int decimals) const {
  const std::string number = onRatio ? fixed(value, 2) + " x" : formatNumber(value, decimals);
  switch (kind) {
    case Kind::None: return "-";
    case Kind::AtLeast: return ">= " + number;
    case Kind::AtMost: return "<= " + number;
    case Kind::Exactly: return "== " + number;
  }
  return "-";
}

std::optional<double> Figure::ratio() const {
  if (!baseline || *baseline == 0) return std::nullopt;
  return value / *baseline;
}

std::optional<bool> Figure::met() const {
  if (target.kind == Target::Kind::None) return std::nullopt;
  const std::optional<double> subject = target.onRatio ? ratio() : std::optional<double>(value);
  if (!subject) return false;
  // Ratios are compared as printed (two decimals), so the table never says 1.00 x missed 1.00.
  const double x = target.onRatio ? std::round(*subject * 100) / 100 : *subject;
  switch (target.kind) {
    case Target::Kind::None: return std::nullopt;
    case Target::Kind::AtLeast: return x >= target.value;
    case Target::Kind::AtMost: return x <= target.value;
    // Exactly: as printed (with the figure's decimals, two when it has none).
    case Target::Kind::Exactly:
      return std::abs(x - target.value) < 0.5 * std::pow(10.0, -(decimals < 0 ? 2 : decimals));
  }
  return std::nullopt;
}

void Report::add(Figure figure) {
  // Grouped by scenario ("1 ...", "2 ..."), in the order added within one.
  const auto after =
      std::upper_bound(figures_.begin(), figures_.end(), figure,
                       [](const Figure& a, const Figure& b) { return a.scenario < b.scenario; });
  figures_.insert(after, std::move(figure));
}

void Report::printTable(std::ostream& out) const {
  const std::vector<std::string> header = {"scenario", "figure", "unit",   "value",
                                           "baseline", "ratio",  "target", "met"};
  std::vector<std::vector<std::string>> rows;
  for (const Figure& f : figures_) {
    rows.push_back({f.scenario, f.name, f.unit, formatNumber(f.value, f.decimals),
                    f.baseline ? formatNumber(*f.baseline, f.decimals) : "-", ratioText(f.ratio()),
                    f.target.describe(f.decimals), metText(f.met())});
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
  }
  auto printRow = [&](const std::vector<std::string>& row) {
    out << "|";
    for (std::size_t c = 0; c < row.size(); ++c) out << " " << pad(row[c], widths[c]) << " |";
    out << "\n";
  };
  printRow(header);
  out << "|";
  for (std::size_t width : widths) out << std::string(width + 2, '-') << "|";
  out << "\n";
  for (const auto& row : rows) printRow(row);
}

void Report::writeJson(const std::filesystem::path& file, const RunInfo& info) const {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("date");
  writeString(writer, info.date);
  writer.Key("commit");
  writeString(writer, info.commit);
  writer.Key("machine");
  writeString(writer, info.machine);
  writer.Key("seconds");
  writer.Double(info.seconds);
  writer.Key("settings");
  writer.StartObject();
  for (const auto& [name, value] : info.settings) {
    writer.Key(name.c_str());
    writeString(writer, value);
  }
  writer.EndObject();
  writer.Key("figures");
  writer.StartArray();
  for (const Figure& f : figures_) {
    writer.StartObject();
    writer.Key("scenario");
    writeString(writer, f.scenario);
    writer.Key("figure");
    writeString(writer, f.name);
    writer.Key("unit");
    writeString(writer, f.unit);
    writer.Key("value");
    writeNumber(writer, f.value);
    writer.Key("baseline");
    writeNumber(writer, f.baseline);
    writer.Key("baselineIs");
    writeString(writer, f.baselineWhat);
    writer.Key("ratio");
    writeNumber(writer, f.ratio());
    writer.Key("target");
    writeString(writer, f.target.describe(f.decimals));
    writer.Key("met");
    if (const auto met = f.met()) {
      writer.Bool(*met);
    } else {
      writer.Null();
    }
    if (!f.note.empty()) {
      writer.Key("note");
      writeString(writer, f.note);
    }
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  std::ofstream out(file);
  out << buffer.GetString() << "\n";
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string formatNumber(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  if (decimals >= 0) return fixed(value, decimals);
  const double magnitude = std::abs(value);
  if (magnitude >= 100) return fixed(value, 0);
  if (magnitude >= 10) return fixed(value, 1);
  if (magnitude >= 1) return fixed(value, 2);
  return fixed(value, 3);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return values[std::min(index, values.size() - 1)];
}

std::string utcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text.data();
}

std::string describeMachine() {
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::ifstream meminfo("/proc/meminfo");
  std::string field;
  std::uint64_t kilobytes = 0;
  while (meminfo >> field) {
    if (field == "MemTotal:") {
      meminfo >> kilobytes;
      break;
    }
  }
  const double gib = static_cast<double>(kilobytes) / (1024.0 * 1024.0);
  return std::to_string(cores) + " cores, " + fixed(gib, 0) + " GiB";
}

std::string describeCommit(const std::filesystem::path& dir) {
  testing::CommandOptions options;
  options.timeout = std::chrono::seconds(10);
  const auto head =
      testing::runCommand({"git", "-C", dir.string(), "rev-parse", "--short", "HEAD"}, options);
  if (!head.ok()) return "unknown";
  std::string commit = head.out.substr(0, head.out.find('\n'));
  const auto status =
      testing::runCommand({"git", "-C", dir.string(), "status", "--porcelain"}, options);
  if (status.ok() && !status.out.empty()) commit += " with uncommitted changes";
  return commit;
}

}  // namespace bisync::bench
