#include "policies/policy.hpp"

#include <algorithm>

namespace bisync::policies {
namespace {

// Glob match where '*' is any run of characters (also none). Greedy with one backtrack
// point: the last '*' seen, which is enough for patterns without other wildcards.
bool globMatches(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t starAt = std::string_view::npos;
  std::size_t resumeAt = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      starAt = p++;
      resumeAt = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (starAt != std::string_view::npos) {
      p = starAt + 1;
      t = ++resumeAt;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool anyMatches(const std::vector<std::string>& patterns, const std::string& ns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& pattern) { return globMatches(pattern, ns); });
}

}  // namespace

bool NamespaceFilter::selects(const std::string& ns) const {
  return anyMatches(include, ns) && !anyMatches(exclude, ns);
}

std::string_view toString(Direction direction) {
  switch (direction) {
    case Direction::Down: return "down";
    case Direction::Up: return "up";
    case Direction::Bidirectional: return "bidirectional";
    case Direction::None: return "none";
  }
  return "?";
}

std::string_view toString(Owner owner) {
  switch (owner) {
    case Owner::Source: return "source";
    case Owner::Target: return "target";
    case Owner::Both: return "both";
    case Owner::Ignore: return "ignore";
  }
  return "?";
}

std::string_view toString(ConflictStrategy strategy) {
  switch (strategy) {
    case ConflictStrategy::SourceWins: return "source-wins";
    case ConflictStrategy::TargetWins: return "target-wins";
    case ConflictStrategy::NewestWins: return "newest-wins";
    case ConflictStrategy::Reject: return "reject";
  }
  return "?";
}

std::string_view toString(OnImmutable onImmutable) {
  switch (onImmutable) {
    case OnImmutable::Report: return "report";
    case OnImmutable::Recreate: return "recreate";
  }
  return "?";
}

}  // namespace bisync::policies
