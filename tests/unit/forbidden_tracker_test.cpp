#include "syncer/kube/forbidden_tracker.hpp"

#include "tests/support/catch.hpp"

namespace {

using bisync::kube::ForbiddenTracker;
using bisync::kube::PermissionChange;
using bisync::kube::VerbResource;

}  // namespace

TEST_CASE("a 403 marks a verb and resource forbidden once, however often it repeats",
          "[forbidden]") {
  ForbiddenTracker tracker;
  CHECK(tracker.record("patch", "configmaps", 403) == PermissionChange::Forbidden);
  CHECK(tracker.record("patch", "configmaps", 403) == PermissionChange::None);
  CHECK(tracker.record("patch", "configmaps", 403) == PermissionChange::None);
  CHECK(tracker.degraded());
  CHECK(tracker.refusals().at(VerbResource{"patch", "configmaps"}) == 3);
  CHECK(tracker.forbidden().size() == 1);
}

TEST_CASE("a forbidden pair clears on an answer only an authorized request gets", "[forbidden]") {
  ForbiddenTracker tracker;
  tracker.record("patch", "configmaps", 403);
  // Server trouble and throttling say nothing about permissions.
  CHECK(tracker.record("patch", "configmaps", 503) == PermissionChange::None);
  CHECK(tracker.record("patch", "configmaps", 429) == PermissionChange::None);
  CHECK(tracker.record("patch", "configmaps", 401) == PermissionChange::None);
  CHECK(tracker.record("patch", "configmaps", 0) == PermissionChange::None);
  CHECK(tracker.degraded());
  // A 409 comes after authorization.
  CHECK(tracker.record("patch", "configmaps", 409) == PermissionChange::Permitted);
  CHECK_FALSE(tracker.degraded());
  CHECK(tracker.record("patch", "configmaps", 200) == PermissionChange::None);
  // The count of 403s stays: it is a counter.
  CHECK(tracker.refusals().at(VerbResource{"patch", "configmaps"}) == 1);
}

TEST_CASE("pairs are tracked apart: another verb or resource does not clear a forbidden one",
          "[forbidden]") {
  ForbiddenTracker tracker;
  tracker.record("patch", "configmaps", 403);
  tracker.record("list", "deployments.apps", 403);
  CHECK(tracker.record("get", "configmaps", 200) == PermissionChange::None);
  CHECK(tracker.record("patch", "secrets", 200) == PermissionChange::None);
  CHECK(tracker.forbidden().size() == 2);
  CHECK(tracker.record("list", "deployments.apps", 200) == PermissionChange::Permitted);
  CHECK(tracker.forbidden() == std::set<VerbResource>{{"patch", "configmaps"}});
  CHECK(tracker.record("patch", "configmaps", 201) == PermissionChange::Permitted);
  CHECK_FALSE(tracker.degraded());
}

TEST_CASE("a resource key is the plural, with the group after a dot outside the core group",
          "[forbidden]") {
  CHECK(bisync::kube::resourceKey("configmaps", "") == "configmaps");
  CHECK(bisync::kube::resourceKey("deployments", "apps") == "deployments.apps");
}
