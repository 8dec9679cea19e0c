// ForbiddenTracker: which (verb, resource) pairs one API server currently refuses with 403
// Forbidden, and how many 403 answers each pair got. The Client reports every answer to it;
// the daemon turns it into kube_bisync_api_forbidden_total, kube_bisync_degraded and one log
// line per change of state (docs/operations.md, "Permission failures"), so a broken RBAC rule
// shows once instead of once per retry.
//
// Pure: no I/O. Loop-affine like the Client that owns it: no locks.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace bisync::kube {

struct VerbResource {
  std::string verb;      // Kubernetes verb: "get", "list", "watch", "create", "patch", ...
  std::string resource;  // "configmaps", "deployments.apps"
  auto operator<=>(const VerbResource&) const = default;
};

// What one answer changed.
enum class PermissionChange {
  None,       // the state of the pair is what it was
  Forbidden,  // the pair was permitted (or never seen) and got a 403
  Permitted,  // the pair was forbidden and got an answer that shows it is authorized again
};

// "configmaps", or "<plural>.<group>" outside the core group ("deployments.apps"): the form
// RBAC rules and kubectl use.
std::string resourceKey(std::string_view resource, std::string_view group);

class ForbiddenTracker {
 public:
  // One answer of the server to `verb` on `resource`; `status` is its HTTP status. A 403 marks
  // the pair forbidden. An answer that only an authorized request gets (2xx, and 4xx other than
  // 401/403/429: a 404 or a 409 comes after authorization) clears it. Server errors and 429 say
  // nothing about permissions and change nothing.
  PermissionChange record(std::string_view verb, std::string_view resource, long status);

  // 403 answers per pair since start (pairs that never got one are absent).
  const std::map<VerbResource, std::uint64_t>& refusals() const { return refusals_; }
  // The pairs whose last telling answer was a 403.
  const std::set<VerbResource>& forbidden() const { return forbidden_; }
  bool degraded() const { return !forbidden_.empty(); }

 private:
  std::map<VerbResource, std::uint64_t> refusals_;
  std::set<VerbResource> forbidden_;
};

}  // namespace bisync::kube
