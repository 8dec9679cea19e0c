#include "tests/chaos/report.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>

namespace bisync::chaos {

namespace {

constexpr std::size_t kDivergencesShown = 40;

void printOperations(std::ostream& out, const Report& report) {
  std::size_t total = 0;
  for (const auto& [op, count] : report.operations)
    total += count.ok + count.refused + count.unknown;
  out << "operations: " << total << " (" << report.effectiveChanges << " effective changes)\n";
  for (const auto& [op, count] : report.operations) {
    out << "  " << std::left << std::setw(20) << op << std::right << " ok " << std::setw(5)
        << count.ok << "  refused " << std::setw(4) << count.refused << "  unknown " << std::setw(4)
        << count.unknown << "\n";
  }
}

void printFaults(std::ostream& out, const Report& report) {
  out << "faults:";
  for (const auto& [fault, count] : report.faults) out << " " << fault << " " << count << ",";
  out << "\ndaemon: " << report.daemonRestarts << " replica restarts (" << report.stepDowns
      << " leaders stepped down after losing their Lease), " << report.crashes.size()
      << " crashes\n";
}

std::chrono::milliseconds percentile(std::vector<std::chrono::milliseconds> values, double p) {
  if (values.empty()) return std::chrono::milliseconds(0);
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void printRounds(std::ostream& out, const Report& report) {
  std::vector<std::chrono::milliseconds> times;
  for (std::size_t i = 0; i < report.rounds.size(); ++i) {
    const RoundResult& round = report.rounds[i];
    out << "round " << i + 1 << ": ";
    if (round.converged) {
      times.push_back(round.convergeTime);
      out << "converged " << std::fixed << std::setprecision(1)
          << static_cast<double>(round.convergeTime.count()) / 1000.0
          << " s after its last fault; quiet window: " << round.quietWrites << " daemon writes, "
          << round.quietChanges << " objects changed\n";
    } else {
      out << "did not converge\n";
    }
  }
  out << std::fixed << std::setprecision(1) << "time to converge after the last fault: p50 "
      << static_cast<double>(percentile(times, 0.5).count()) / 1000.0 << " s, max "
      << static_cast<double>(percentile(times, 1.0).count()) / 1000.0 << " s\n";
  const double perChange = report.effectiveChanges == 0
                               ? 0.0
                               : report.daemonWrites / static_cast<double>(report.effectiveChanges);
  out << std::setprecision(2) << "writes per effective change: " << perChange << " ("
      << report.daemonWrites << " daemon writes)\n";
}

void printFailure(std::ostream& out, const Report& report) {
  if (!report.failure.empty()) out << "failure: " << report.failure << "\n";
  for (const std::string& crash : report.crashes) out << "crash: " << crash << "\n";
  for (const RoundResult& round : report.rounds) {
    std::size_t shown = 0;
    for (const Divergence& d : round.verdict.divergences) {
      if (++shown > kDivergencesShown) break;
      out << "diverged: " << describe(d.key) << " on the " << d.side << ": " << d.problem
          << "\n  expected: " << d.expected << "\n  actual:   " << d.actual << "\n";
    }
  }
  out << "seed " << report.seed << "; replay: " << report.replay << "\n" << report.logTails;
}

}  // namespace

std::size_t Report::quiescentWrites() const {
  double total = 0;
  for (const RoundResult& round : rounds)
    total += round.quietWrites + static_cast<double>(round.quietChanges);
  return static_cast<std::size_t>(total);
}

bool Report::passed() const {
  if (!failure.empty() || !crashes.empty() || rounds.empty()) return false;
  return std::all_of(rounds.begin(), rounds.end(), [](const RoundResult& round) {
    return round.converged && round.quietWrites == 0 && round.quietChanges == 0;
  });
}

void print(std::ostream& out, const Report& report) {
  printOperations(out, report);
  printFaults(out, report);
  printRounds(out, report);
  Verdict last = report.rounds.empty() ? Verdict{} : report.rounds.back().verdict;
  for (const RoundResult& round : report.rounds) {
    if (!round.verdict.ok()) last = round.verdict;
  }
  if (!report.passed()) printFailure(out, report);
  out << (report.passed() ? "converged: " : "NOT converged: ") << last.lost << " lost, "
      << last.orphans + last.stuck << " orphans, " << last.duplicates << " duplicates, "
      << report.quiescentWrites() << " quiescent writes\n";
}

}  // namespace bisync::chaos
