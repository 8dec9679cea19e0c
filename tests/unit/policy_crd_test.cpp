// The policy's `crd` key: where a kind's CustomResourceDefinition comes from.
#include <string>

#include "policies/policy.hpp"
#include "policies/policy_loader.hpp"
#include "tests/support/catch.hpp"

namespace {

using namespace bisync::policies;

std::string widgetPolicy(const std::string& extra) {
  return "apiVersion: kube-bisync.io/v1alpha1\n"
         "kind: SyncPolicy\n"
         "resource: {group: example.com, version: v1, kind: Widget}\n"
         "direction: down\n"
         "fields: []\n" +
         extra;
}

}  // namespace

TEST_CASE("crd: fromTarget is read; without the key both sides must serve the kind",
          "[policies][crd]") {
  const LoadedPolicies copied = parsePolicy(widgetPolicy("crd: fromTarget\n"), "w.yaml");
  REQUIRE(copied.problems.empty());
  REQUIRE(copied.policies.size() == 1);
  CHECK(copied.policies[0].crd == CrdSource::FromTarget);
  const LoadedPolicies plain = parsePolicy(widgetPolicy(""), "w.yaml");
  REQUIRE(plain.policies.size() == 1);
  CHECK(plain.policies[0].crd == CrdSource::None);
}

TEST_CASE("crd: fromSource is read, unknown values are problems on their line", "[policies][crd]") {
  const LoadedPolicies fromSource = parsePolicy(widgetPolicy("crd: fromSource\n"), "w.yaml");
  CHECK(fromSource.problems.empty());
  REQUIRE(fromSource.policies.size() == 1);
  CHECK(fromSource.policies[0].crd == CrdSource::FromSource);
  const LoadedPolicies unknown = parsePolicy(widgetPolicy("crd: sideways\n"), "w.yaml");
  REQUIRE(unknown.problems.size() == 1);
  CHECK(unknown.problems[0].line == 6);
  CHECK(unknown.problems[0].reason.find("fromTarget") != std::string::npos);
}
