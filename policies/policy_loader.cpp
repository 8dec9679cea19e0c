#include "policies/policy_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>

#include "policies/internal/policy_parser.hpp"

namespace bisync::policies {
namespace {

namespace fs = std::filesystem;

bool isPolicyFileName(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;  // editor and ConfigMap-mount files
  const std::string extension = fs::path(name).extension().string();
  return extension == ".yaml" || extension == ".yml";
}

// The built-in policies are about 2 KiB; a larger file is not a policy (and yaml-cpp holds
// several times a document's size while parsing it).
constexpr std::uintmax_t kMaxPolicyFileBytes = 1U << 20U;

std::optional<std::string> readFile(const fs::path& path, std::string& why) {
  std::error_code sizeError;
  const std::uintmax_t size = fs::file_size(path, sizeError);
  if (!sizeError && size > kMaxPolicyFileBytes) {
    why = std::to_string(size) + " bytes, more than the " + std::to_string(kMaxPolicyFileBytes) +
          "-byte cap for policy files";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::error_code(errno, std::generic_category()).message();
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return std::nullopt;
  }
  return content.str();
}

std::string resourceKey(const kube::GroupVersionKind& resource) {
  return resource.group + "/" + resource.version + "/" + resource.kind;
}

}  // namespace

std::string PolicyProblem::describe() const {
  if (line <= 0) return file + ": " + reason;
  return file + ":" + std::to_string(line) + ": " + reason;
}

std::string describeResource(const kube::GroupVersionKind& resource) {
  const std::string apiVersion =
      resource.group.empty() ? resource.version : resource.group + "/" + resource.version;
  return apiVersion + " " + resource.kind;
}

LoadedPolicies parsePolicy(std::string_view yaml, const std::string& file) {
  internal::ParsedPolicyFile parsed = internal::parsePolicyFile(yaml, file);
  LoadedPolicies loaded;
  if (parsed.problems.empty()) loaded.policies.push_back(std::move(parsed.policy));
  loaded.problems = std::move(parsed.problems);
  return loaded;
}

LoadedPolicies loadPolicyDirectory(const std::string& dir) {
  LoadedPolicies loaded;
  std::vector<fs::path> files;
  std::error_code error;
  fs::directory_iterator entries(dir, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    if (isPolicyFileName(entries->path().filename().string())) files.push_back(entries->path());
  }
  if (error) {
    loaded.problems.push_back({dir, 0, "cannot read the policy directory: " + error.message()});
    return loaded;
  }
  std::sort(files.begin(), files.end());

  struct FirstPolicy {
    std::string file;
    int line = 0;
  };
  std::map<std::string, FirstPolicy> byResource;
  for (const fs::path& path : files) {
    const std::string file = path.string();
    std::error_code statError;
    if (!fs::is_regular_file(path, statError)) {
      loaded.problems.push_back(
          {file, 0, statError ? "cannot read: " + statError.message() : "not a regular file"});
      continue;
    }
    std::string why;
    std::optional<std::string> text = readFile(path, why);
    if (!text) {
      loaded.problems.push_back({file, 0, "cannot read: " + why});
      continue;
    }
    internal::ParsedPolicyFile parsed = internal::parsePolicyFile(*text, file);
    bool duplicate = false;
    if (parsed.hasResource) {
      const auto [first, inserted] = byResource.emplace(resourceKey(parsed.policy.resource),
                                                        FirstPolicy{file, parsed.policy.line});
      if (!inserted) {
        duplicate = true;
        parsed.problems.push_back(
            {file, parsed.policy.line,
             "a second policy for " + describeResource(parsed.policy.resource) + ": " +
                 first->second.file + ":" + std::to_string(first->second.line) +
                 " already has one (one file per resource type)"});
        std::stable_sort(
            parsed.problems.begin(), parsed.problems.end(),
            [](const PolicyProblem& a, const PolicyProblem& b) { return a.line < b.line; });
      }
    }
    if (parsed.problems.empty() && !duplicate) loaded.policies.push_back(std::move(parsed.policy));
    loaded.problems.insert(loaded.problems.end(), parsed.problems.begin(), parsed.problems.end());
  }
  return loaded;
}

LoadedPolicies withDefaults(LoadedPolicies fromDir) {
  for (const auto& [name, text] : builtinPolicyFiles()) {
    LoadedPolicies builtin = parsePolicy(text, "<built-in>/" + name);
    fromDir.problems.insert(fromDir.problems.end(), builtin.problems.begin(),
                            builtin.problems.end());
    for (SyncPolicy& policy : builtin.policies) {
      const bool overridden =
          std::any_of(fromDir.policies.begin(), fromDir.policies.end(),
                      [&](const SyncPolicy& p) { return p.resource == policy.resource; });
      if (!overridden) fromDir.policies.push_back(std::move(policy));
    }
  }
  return fromDir;
}

std::vector<PolicyProblem> checkKinds(const std::vector<SyncPolicy>& policies,
                                      const KindRefusal& refusal) {
  std::vector<PolicyProblem> problems;
  for (const SyncPolicy& policy : policies) {
    if (const std::optional<std::string> why = refusal(policy.resource)) {
      problems.push_back(
          {policy.file, policy.line,
           "kube-bisync cannot sync " + describeResource(policy.resource) + ": " + *why});
    }
  }
  return problems;
}

SyncPolicy genericPolicy(const kube::GroupVersionKind& kind) {
  const auto rule = [](std::string_view path, Owner owner) {
    return FieldRule{*FieldPath::parse(path), owner, std::nullopt, 0};
  };
  SyncPolicy policy;
  policy.file = "<built-in>/generic";
  policy.resource = kind;
  policy.direction = Direction::Down;
  policy.fields = {rule("/*", Owner::Source), rule("/status", Owner::Target)};
  return policy;
}

}  // namespace bisync::policies
