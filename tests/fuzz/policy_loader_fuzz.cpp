// The SyncPolicy loader on one file (parsePolicy). Properties: it never crashes or throws,
// whatever the YAML; it returns a policy exactly when it reports no problem; every problem names
// the file, a line within it (or 0) and a reason, in line order; a returned policy is
// consistent (onConflict set exactly for owner both) and its rules build an ownership map.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "policies/ownership.hpp"
#include "policies/policy_loader.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bisync::fuzz::require;
using namespace bisync::policies;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = bisync::fuzz::textOf(data, size);
  const LoadedPolicies loaded = parsePolicy(text, "fuzz.yaml");
  require(loaded.policies.size() == (loaded.problems.empty() ? 1U : 0U),
          "a policy is returned exactly when there is no problem");
  // YAML breaks lines at "\n", "\r\n" and a lone "\r": this is at least the number of lines.
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n') +
                                      std::count(text.begin(), text.end(), '\r')) +
                     1;
  for (const PolicyProblem& problem : loaded.problems) {
    require(problem.file == "fuzz.yaml" && !problem.reason.empty(),
            "a problem names the file and a reason", problem.describe());
    require(problem.line >= 0 && problem.line <= lines, "a problem's line is in the file",
            problem.describe());
  }
  require(std::is_sorted(
              loaded.problems.begin(), loaded.problems.end(),
              [](const PolicyProblem& a, const PolicyProblem& b) { return a.line < b.line; }),
          "problems are in line order");
  for (const SyncPolicy& policy : loaded.policies) {
    for (const FieldRule& rule : policy.fields) {
      require((rule.owner == Owner::Both) == rule.onConflict.has_value(),
              "onConflict is set exactly for owner both", rule.path.text());
    }
    const OwnershipMap ownership(policy.fields);
    const bisync::kube::Json object(rapidjson::kObjectType);
    projection(object, Owner::Both, ownership);
  }
  return 0;
}
