// Reading SyncPolicy files: parsing and strict validation of one YAML document, loading a
// directory of them, adding the built-in defaults (policies/defaults/, embedded in the binary
// at build time) and checking that every policy names a kind the syncer can translate.
//
// Every problem found is collected as a value ("file:line: reason"); nothing stops at the
// first one and nothing throws (yaml-cpp's exceptions are caught here). Pure except
// loadPolicyDirectory, which reads the files. A result that has problems is for reporting
// only: callers refuse to start (the daemon exits 2).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policies/policy.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::policies {

inline constexpr std::string_view kPolicyApiVersion = "kube-bisync.io/v1alpha1";
inline constexpr std::string_view kPolicyKind = "SyncPolicy";

struct PolicyProblem {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem is not about one line (an unreadable file)
  std::string reason;
  // "file:line: reason", or "file: reason" when line is 0.
  std::string describe() const;
};

struct LoadedPolicies {
  std::vector<SyncPolicy> policies;
  std::vector<PolicyProblem> problems;
};

// One policy file (one YAML document) named `file` in messages. The policy is returned only
// when the file has no problem.
LoadedPolicies parsePolicy(std::string_view yaml, const std::string& file);

// Every *.yaml and *.yml file in `dir` (not recursive, dot-files skipped), in name order. An
// unreadable directory or file is a problem, and so is a second file for a resource type that
// an earlier file already covers (the problem names both files and lines). A directory
// without policy files is not a problem: the defaults apply.
LoadedPolicies loadPolicyDirectory(const std::string& dir);

// `fromDir` plus the built-in policy of every resource type that no policy of `fromDir`
// covers. Built-in policies have the file name "<built-in>/<name>".
LoadedPolicies withDefaults(LoadedPolicies fromDir);

// Why a kind must not be synced (translators::genericRefusal), nullopt when it may be.
using KindRefusal = std::function<std::optional<std::string>(const kube::GroupVersionKind&)>;

// A problem for every policy whose resource `refusal` refuses.
std::vector<PolicyProblem> checkKinds(const std::vector<SyncPolicy>& policies,
                                      const KindRefusal& refusal);

// The policy of a kind that has neither a policy file nor a built-in one ("<built-in>/generic"):
// objects are created downward; every field but status is the source's, and /status is the
// target's, so that the spec travels down and the status up (docs/policies.md).
SyncPolicy genericPolicy(const kube::GroupVersionKind& kind);

// The built-in policy files (name, YAML text), generated at build time from
// policies/defaults/*.yaml.
std::vector<std::pair<std::string, std::string>> builtinPolicyFiles();

// "v1 ConfigMap", "apps/v1 Deployment": a resource type as messages name it.
std::string describeResource(const kube::GroupVersionKind& resource);

}  // namespace bisync::policies
