#include "syncer/kube/forbidden_tracker.hpp"

namespace bisync::kube {

namespace {

bool showsAuthorization(long status) {
  if (status >= 200 && status < 300) return true;
  return status >= 400 && status < 500 && status != 401 && status != 403 && status != 429;
}

}  // namespace

std::string resourceKey(std::string_view resource, std::string_view group) {
  std::string key(resource);
  if (!group.empty()) {
    key += '.';
    key += group;
  }
  return key;
}

PermissionChange ForbiddenTracker::record(std::string_view verb, std::string_view resource,
                                          long status) {
  VerbResource pair{std::string(verb), std::string(resource)};
  if (status == 403) {
    ++refusals_[pair];
    return forbidden_.insert(std::move(pair)).second ? PermissionChange::Forbidden
                                                     : PermissionChange::None;
  }
  if (showsAuthorization(status) && forbidden_.erase(pair) > 0) return PermissionChange::Permitted;
  return PermissionChange::None;
}

}  // namespace bisync::kube
