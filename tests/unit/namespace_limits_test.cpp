// The ranking of limits.maxObjectsPerNamespace (syncer/engine/namespace_limits.hpp): which
// objects of a namespace get a copy, which wait, and what the waiting ones are told.
#include <string>
#include <vector>

#include "syncer/engine/namespace_limits.hpp"
#include "tests/support/catch.hpp"

namespace {

using bisync::engine::judgeNamespaceLimit;
using bisync::engine::LimitEntry;
using bisync::engine::overLimitMessage;

// The names of `entries` that may have a copy under `limit`, in the order given.
std::vector<std::string> admitted(const std::vector<LimitEntry>& entries, std::size_t limit) {
  std::vector<std::string> names;
  for (const LimitEntry& entry : entries) {
    if (judgeNamespaceLimit(entries, entry.name, limit).copy) names.push_back(entry.name);
  }
  return names;
}

constexpr const char* kOlder = "2026-12-05T06:00:00Z";
constexpr const char* kNewer = "2026-12-05T06:00:01Z";

}  // namespace

TEST_CASE("the oldest objects are copied first, whatever order they come in",
          "[limits][namespace-limits]") {
  const std::vector<LimitEntry> entries{
      {"a", kNewer, false}, {"b", kOlder, false}, {"c", "2026-12-05T05:59:59Z", false}};
  CHECK(admitted(entries, 2) == std::vector<std::string>{"b", "c"});
}

TEST_CASE("objects created in the same second are ranked by name", "[limits][namespace-limits]") {
  const std::vector<LimitEntry> entries{
      {"m", kOlder, false}, {"b", kOlder, false}, {"z", kOlder, false}, {"a", kNewer, false}};
  CHECK(admitted(entries, 2) == std::vector<std::string>{"m", "b"});
  const auto verdict = judgeNamespaceLimit(entries, "z", 2);
  CHECK_FALSE(verdict.copy);
  CHECK(verdict.objects == 4);
  CHECK(verdict.copies == 0);
}

TEST_CASE("copies that exist are kept beyond the limit and count against it",
          "[limits][namespace-limits]") {
  // The newest object has a copy (made before the limit was set): it keeps it, and the older
  // objects without one get only what is left.
  const std::vector<LimitEntry> entries{
      {"new", kNewer, true}, {"old-1", kOlder, false}, {"old-2", kOlder, false}};
  CHECK(admitted(entries, 2) == std::vector<std::string>{"new", "old-1"});
  CHECK(admitted(entries, 1) == std::vector<std::string>{"new"});
}

TEST_CASE("a lowered limit copies nothing new but keeps every copy", "[limits][namespace-limits]") {
  const std::vector<LimitEntry> entries{
      {"a", kOlder, true}, {"b", kOlder, true}, {"c", kOlder, true}, {"d", kNewer, false}};
  CHECK(admitted(entries, 2) == std::vector<std::string>{"a", "b", "c"});
  const auto verdict = judgeNamespaceLimit(entries, "d", 2);
  CHECK(verdict.copies == 3);
  CHECK(overLimitMessage("team-a", "configmaps", verdict, 2) ==
        "namespace team-a holds 4 configmaps, over maxObjectsPerNamespace 2: not copied");
}

TEST_CASE("deletions free room for the oldest waiting objects", "[limits][namespace-limits]") {
  std::vector<LimitEntry> entries{{"a", kOlder, true},
                                  {"b", kOlder, true},
                                  {"c", kNewer, false},
                                  {"d", kNewer, false},
                                  {"e", kNewer, false}};
  CHECK(admitted(entries, 2) == std::vector<std::string>{"a", "b"});
  entries.erase(entries.begin());  // "a" deleted: one place for "c"
  CHECK(admitted(entries, 2) == std::vector<std::string>{"b", "c"});
  entries.erase(entries.begin());  // "b" deleted as well
  CHECK(admitted(entries, 2) == std::vector<std::string>{"c", "d"});
}

TEST_CASE("no limit, or an object within it, copies everything", "[limits][namespace-limits]") {
  const std::vector<LimitEntry> entries{{"a", kOlder, false}, {"b", kNewer, false}};
  CHECK(admitted(entries, 0) == std::vector<std::string>{"a", "b"});
  CHECK(admitted(entries, 5) == std::vector<std::string>{"a", "b"});
  CHECK(judgeNamespaceLimit(entries, "unknown", 1).copy);
}
