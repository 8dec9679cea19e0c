// Internal to policies/: the parser behind parsePolicy(), which also reports the resource a
// file names when the file has other problems, so that the directory loader can still find
// two files for one resource type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policies/policy.hpp"
#include "policies/policy_loader.hpp"

namespace bisync::policies::internal {

struct ParsedPolicyFile {
  SyncPolicy policy;         // complete only when `problems` is empty
  bool hasResource = false;  // policy.resource and policy.line are valid
  std::vector<PolicyProblem> problems;
};

ParsedPolicyFile parsePolicyFile(std::string_view yaml, const std::string& file);

}  // namespace bisync::policies::internal
