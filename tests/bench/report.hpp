// The figures of one benchmark run, each with its baseline (measured in the same run on the
// same servers), the ratio of the two and the target of issue 5, printed as one table and
// written as JSON (bench-results.json). A missed target is reported, never an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace bisync::bench {

struct Target {
  enum class Kind { None, AtLeast, AtMost, Exactly };
  Kind kind = Kind::None;
  double value = 0;
  bool onRatio = true;  // the target bounds the ratio, else the figure itself

  static Target none() { return {}; }
  static Target ratioAtLeast(double v) { return {Kind::AtLeast, v, true}; }
  static Target ratioAtMost(double v) { return {Kind::AtMost, v, true}; }
  static Target valueExactly(double v) { return {Kind::Exactly, v, false}; }
  // ">= 0.90 x", "== 0", "-"; a bound on the figure itself with `decimals` (see formatNumber).
  std::string describe(int decimals = -1) const;
};

struct Figure {
  Figure(std::string scenarioName, std::string figureName, std::string figureUnit, double v)
      : scenario(std::move(scenarioName)),
        name(std::move(figureName)),
        unit(std::move(figureUnit)),
        value(v) {}
  Figure&& withBaseline(double v, std::string what) && {
    baseline = v;
    baselineWhat = std::move(what);
    return std::move(*this);
  }
  Figure&& withTarget(Target t) && {
    target = t;
    return std::move(*this);
  }
  Figure&& withNote(std::string text) && {
    note = std::move(text);
    return std::move(*this);
  }
  Figure&& withDecimals(int d) && {
    decimals = d;
    return std::move(*this);
  }

  std::string scenario;  // "1 initial sync"
  std::string name;      // "throughput"
  std::string unit;      // "objects/s"
  double value = 0;
  std::optional<double> baseline;
  std::string baselineWhat;  // what the baseline is, for the JSON and the docs
  Target target;
  std::string note;
  int decimals = -1;  // of value and baseline in the table; -1: formatNumber's choice

  std::optional<double> ratio() const;  // value / baseline when both are there
  std::optional<bool> met() const;      // nullopt without a target
};

struct RunInfo {
  std::string date;     // UTC, ISO 8601
  std::string commit;   // git rev-parse --short HEAD (+ " with uncommitted changes")
  std::string machine;  // "2 cores, 24 GiB"
  std::map<std::string, std::string> settings;  // flag -> value
  double seconds = 0;                           // wall time of the whole run
};

class Report {
 public:
  void add(Figure figure);
  const std::vector<Figure>& figures() const { return figures_; }

  // One table: scenario, figure, unit, value, baseline, ratio, target, met.
  void printTable(std::ostream& out) const;
  void writeJson(const std::filesystem::path& file, const RunInfo& info) const;

 private:
  std::vector<Figure> figures_;
};

// A number for the table with `decimals` places, or (-1) about 3 significant digits.
std::string formatNumber(double value, int decimals = -1);

// Percentile (0..100) of `values` by nearest rank; 0 when empty. Sorts a copy.
double percentile(std::vector<double> values, double p);

// The current date and time in UTC ("2026-11-23T18:48:15Z").
std::string utcNow();
// "N cores, M GiB" from sysconf and /proc/meminfo.
std::string describeMachine();
// The short commit of the repository at `dir`, "+ with uncommitted changes" when dirty, or
// "unknown" outside a git checkout.
std::string describeCommit(const std::filesystem::path& dir);

}  // namespace bisync::bench
