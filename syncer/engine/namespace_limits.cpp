#include "syncer/engine/namespace_limits.hpp"

#include <algorithm>
#include <tuple>

namespace bisync::engine {

LimitVerdict judgeNamespaceLimit(std::vector<LimitEntry> entries, std::string_view name,
                                 std::size_t limit) {
  LimitVerdict verdict;
  verdict.objects = entries.size();
  verdict.copies = static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [](const LimitEntry& e) { return e.copied; }));
  const auto self = std::find_if(entries.begin(), entries.end(),
                                 [&](const LimitEntry& e) { return e.name == name; });
  if (limit == 0 || self == entries.end() || self->copied) return verdict;
  const LimitEntry candidate = *self;
  // Objects without a copy that come before this one: older, or as old (timestamps have whole
  // seconds) with a smaller name.
  const auto before = [&](const LimitEntry& other) {
    return !other.copied &&
           std::tie(other.created, other.name) < std::tie(candidate.created, candidate.name);
  };
  const auto ahead =
      static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), before));
  verdict.copy = verdict.copies + ahead < limit;
  return verdict;
}

std::string overLimitMessage(std::string_view ns, std::string_view resource,
                             const LimitVerdict& verdict, std::size_t limit) {
  return "namespace " + std::string(ns) + " holds " + std::to_string(verdict.objects) + " " +
         std::string(resource) + ", over maxObjectsPerNamespace " + std::to_string(limit) +
         ": not copied";
}

}  // namespace bisync::engine
