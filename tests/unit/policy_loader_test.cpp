#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "policies/field_path.hpp"
#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "policies/policy_loader.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/temp_dir.hpp"
#include "translators/generic/generic_translator.hpp"
#include "translators/translator.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bisync::policies;
using bisync::kube::GroupVersionKind;

using bisync::unit::TempDir;

// One YAML line per entry: line N of the file is entry N-1, which keeps expected lines honest.
std::string yaml(std::initializer_list<std::string_view> lines) {
  std::string text;
  for (std::string_view line : lines) text += std::string(line) + "\n";
  return text;
}

std::string describeAll(const std::vector<PolicyProblem>& problems) {
  std::ostringstream text;
  for (const PolicyProblem& problem : problems) text << problem.describe() << "\n";
  return text.str();
}

// True when a problem on `line` of `file` mentions every one of `parts`.
bool hasProblem(const std::vector<PolicyProblem>& problems, const std::string& file, int line,
                std::initializer_list<std::string_view> parts) {
  return std::any_of(problems.begin(), problems.end(), [&](const PolicyProblem& problem) {
    return problem.file == file && problem.line == line &&
           std::all_of(parts.begin(), parts.end(), [&](std::string_view part) {
             return problem.reason.find(part) != std::string::npos;
           });
  });
}

// A valid policy's first lines (1-4); tests append their own from line 5 on.
constexpr std::string_view kApiVersion = "apiVersion: kube-bisync.io/v1alpha1";
constexpr std::string_view kKind = "kind: SyncPolicy";
constexpr std::string_view kConfigMap = "resource: {group: \"\", version: v1, kind: ConfigMap}";
constexpr std::string_view kDown = "direction: down";

const GroupVersionKind kConfigMapKind{"", "v1", "ConfigMap"};
const GroupVersionKind kSecretKind{"", "v1", "Secret"};

// The example of DESIGN.md, "Policy engine", verbatim.
constexpr std::string_view kDesignExample = R"(apiVersion: kube-bisync.io/v1alpha1
kind: SyncPolicy
resource: {group: "", version: v1, kind: ConfigMap}
direction: bidirectional          # down | up | bidirectional
namespaces: {include: ["*"], exclude: ["kube-system"]}
selector: {matchLabels: {}}        # optional label selector on the source
fields:
  - path: /data                    # JSON pointer; '*' matches one segment
    owner: source                  # source | target | both | ignore
  - path: /metadata/labels/*
    owner: both
    onConflict: source-wins        # source-wins | target-wins | newest-wins | reject
  - path: /status
    owner: target
limits: {maxObjectsPerNamespace: 500, maxObjectBytes: 1048576}
)";

TEST_CASE("the policy example of the design parses to the expected model", "[policies]") {
  const LoadedPolicies loaded = parsePolicy(kDesignExample, "design.yaml");
  INFO(describeAll(loaded.problems));
  REQUIRE(loaded.problems.empty());
  REQUIRE(loaded.policies.size() == 1);
  const SyncPolicy& policy = loaded.policies.front();
  CHECK(policy.file == "design.yaml");
  CHECK(policy.resource == kConfigMapKind);
  CHECK(policy.line == 3);
  CHECK(policy.direction == Direction::Bidirectional);
  CHECK(policy.namespaces.include == std::vector<std::string>{"*"});
  CHECK(policy.namespaces.exclude == std::vector<std::string>{"kube-system"});
  CHECK(policy.matchLabels.empty());
  REQUIRE(policy.fields.size() == 3);
  CHECK(policy.fields[0].path.text() == "/data");
  CHECK(policy.fields[0].owner == Owner::Source);
  CHECK_FALSE(policy.fields[0].onConflict.has_value());
  CHECK(policy.fields[0].line == 8);
  CHECK(policy.fields[1].path.text() == "/metadata/labels/*");
  CHECK(policy.fields[1].owner == Owner::Both);
  CHECK(policy.fields[1].onConflict == ConflictStrategy::SourceWins);
  CHECK(policy.fields[1].line == 10);
  CHECK(policy.fields[2].path.text() == "/status");
  CHECK(policy.fields[2].owner == Owner::Target);
  CHECK(policy.fields[2].line == 13);
  CHECK(policy.limits.maxObjectsPerNamespace == 500);
  CHECK(policy.limits.maxObjectBytes == 1048576);
  CHECK_FALSE(policy.createOnSource);
}

TEST_CASE("optional sections take their defaults and every spelling is read", "[policies]") {
  const LoadedPolicies loaded = parsePolicy(
      yaml({kApiVersion, kKind, "resource: {group: apps, version: v1, kind: Deployment}",
            "direction: up", "selector:", "  matchLabels: {app: web, tier: \"1\"}",
            "createOnSource: true", "fields:", "  - {path: /a, owner: ignore}",
            "  - {path: /b, owner: both, onConflict: target-wins}",
            "  - {path: /c, owner: both, onConflict: newest-wins}",
            "  - {path: /d, owner: both, onConflict: reject}"}),
      "up.yaml");
  INFO(describeAll(loaded.problems));
  REQUIRE(loaded.problems.empty());
  REQUIRE(loaded.policies.size() == 1);
  const SyncPolicy& policy = loaded.policies.front();
  CHECK(policy.resource == GroupVersionKind{"apps", "v1", "Deployment"});
  CHECK(policy.direction == Direction::Up);
  CHECK(policy.createOnSource);
  CHECK(policy.namespaces.include == std::vector<std::string>{"*"});
  CHECK(policy.namespaces.exclude.empty());
  CHECK(policy.matchLabels == std::map<std::string, std::string>{{"app", "web"}, {"tier", "1"}});
  CHECK_FALSE(policy.limits.maxObjectsPerNamespace.has_value());
  CHECK_FALSE(policy.limits.maxObjectBytes.has_value());
  REQUIRE(policy.fields.size() == 4);
  CHECK(policy.fields[0].owner == Owner::Ignore);
  CHECK(policy.fields[1].onConflict == ConflictStrategy::TargetWins);
  CHECK(policy.fields[2].onConflict == ConflictStrategy::NewestWins);
  CHECK(policy.fields[3].onConflict == ConflictStrategy::Reject);
}

TEST_CASE("a problem is described as file:line: reason", "[policies]") {
  CHECK(PolicyProblem{"dir/a.yaml", 7, "unknown key 'x'"}.describe() ==
        "dir/a.yaml:7: unknown key 'x'");
  CHECK(PolicyProblem{"dir", 0, "cannot read"}.describe() == "dir: cannot read");
}

TEST_CASE("an unknown key at any level names the key, its line and the allowed keys",
          "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind,
                        "resource: {group: \"\", version: v1, kind: ConfigMap, plural: x}",
                        "direction: down", "directon: up", "namespaces: {includes: [a]}",
                        "selector: {matchLabel: {}}", "fields:", "  - path: /data",
                        "    owner: source", "    ownr: target", "limits: {maxBytes: 5}"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 6);
  CHECK(hasProblem(problems, "p.yaml", 3,
                   {"unknown key 'plural' in resource", "allowed: group, version, kind"}));
  CHECK(hasProblem(problems, "p.yaml", 5, {"unknown key 'directon'", "allowed: apiVersion, kind"}));
  CHECK(hasProblem(problems, "p.yaml", 6,
                   {"unknown key 'includes' in namespaces", "allowed: include, exclude"}));
  CHECK(hasProblem(problems, "p.yaml", 7,
                   {"unknown key 'matchLabel' in selector", "allowed: matchLabels"}));
  CHECK(hasProblem(problems, "p.yaml", 11,
                   {"unknown key 'ownr' in fields[0]", "allowed: path, owner, onConflict"}));
  CHECK(hasProblem(
      problems, "p.yaml", 12,
      {"unknown key 'maxBytes' in limits", "allowed: maxObjectsPerNamespace, maxObjectBytes"}));
}

TEST_CASE("a key given twice in one map is a problem naming the first line", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []", "direction: up"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 1);
  CHECK(hasProblem(problems, "p.yaml", 6, {"key 'direction'", "twice", "first at line 4"}));
}

TEST_CASE("a bad field path is a problem with the field path parser's reason", "[policies]") {
  const auto reasonFor = [](std::string_view path) {
    tl::expected<FieldPath, std::string> parsed = FieldPath::parse(path);
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error();
  };
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields:",
                        "  - {path: data, owner: source}", "  - {path: /a~2b, owner: source}",
                        "  - {path: /a*b, owner: source}", "  - {path: /, owner: source}"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 4);
  CHECK(hasProblem(problems, "p.yaml", 6, {"fields[0].path: bad path 'data'", reasonFor("data")}));
  CHECK(hasProblem(problems, "p.yaml", 7, {"fields[1].path", reasonFor("/a~2b")}));
  CHECK(hasProblem(problems, "p.yaml", 8, {"fields[2].path", reasonFor("/a*b")}));
  CHECK(hasProblem(problems, "p.yaml", 9, {"fields[3].path", reasonFor("/")}));
}

TEST_CASE("an unknown direction, owner or onConflict lists the allowed values", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, "direction: sideways",
                        "fields:", "  - {path: /a, owner: me}",
                        "  - {path: /b, owner: both, onConflict: coin-toss}"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 3);
  CHECK(hasProblem(problems, "p.yaml", 4,
                   {"unknown direction 'sideways'", "down, up, bidirectional"}));
  CHECK(hasProblem(problems, "p.yaml", 6,
                   {"fields[0].owner: unknown owner 'me'", "source, target, both, ignore"}));
  CHECK(hasProblem(
      problems, "p.yaml", 7,
      {"unknown onConflict 'coin-toss'", "source-wins, target-wins, newest-wins, reject"}));
}

TEST_CASE("onConflict is required for owner both and refused for every other owner", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown,
                        "fields:", "  - path: /metadata/labels/*", "    owner: both",
                        "  - path: /data", "    owner: source", "    onConflict: reject"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 2);
  CHECK(hasProblem(problems, "p.yaml", 6, {"fields[0]: owner both needs onConflict"}));
  CHECK(hasProblem(problems, "p.yaml", 10,
                   {"fields[1].onConflict: applies only to owner both", "owner source"}));
}

TEST_CASE("a path listed twice is a problem at the second naming the first", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown,
                        "fields:", "  - {path: /data, owner: source}",
                        "  - {path: /status, owner: target}", "  - {path: /data, owner: target}"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 1);
  CHECK(hasProblem(problems, "p.yaml", 8, {"path '/data' is listed twice", "first at line 6"}));
}

TEST_CASE("createOnSource needs direction up or bidirectional", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(
          yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []", "createOnSource: true"}),
          "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 1);
  CHECK(hasProblem(problems, "p.yaml", 6, {"createOnSource", "direction up or bidirectional"}));
  CHECK(parsePolicy(
            yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []", "createOnSource: false"}),
            "p.yaml")
            .problems.empty());
}

TEST_CASE("onImmutable is report by default and reads report and recreate", "[policies]") {
  const LoadedPolicies plain =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []"}), "p.yaml");
  INFO(describeAll(plain.problems));
  REQUIRE(plain.policies.size() == 1);
  CHECK(plain.policies.front().onImmutable == OnImmutable::Report);
  for (const auto& [text, expected] :
       {std::pair{"report", OnImmutable::Report}, std::pair{"recreate", OnImmutable::Recreate}}) {
    const std::string line = std::string("onImmutable: ") + text;
    const LoadedPolicies loaded =
        parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []", line}), "p.yaml");
    INFO(line << "\n" << describeAll(loaded.problems));
    REQUIRE(loaded.policies.size() == 1);
    CHECK(loaded.policies.front().onImmutable == expected);
    CHECK(toString(expected) == text);
  }
}

TEST_CASE("an unknown onImmutable value is a problem on its line listing the allowed values",
          "[policies]") {
  for (const std::string_view value : {"onImmutable: Recreate", "onImmutable: retry",
                                       "onImmutable: true", "onImmutable: [report]"}) {
    const LoadedPolicies loaded =
        parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, value, "fields: []"}), "p.yaml");
    INFO(value << "\n" << describeAll(loaded.problems));
    CHECK(loaded.policies.empty());
    REQUIRE(loaded.problems.size() == 1);
    CHECK(loaded.problems.front().line == 5);
    CHECK(loaded.problems.front().reason.starts_with("onImmutable: "));
  }
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "onImmutable: retry", "fields: []"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(hasProblem(problems, "p.yaml", 5,
                   {"onImmutable: unknown value 'retry'", "(allowed: report, recreate)"}));
  CHECK(problems.front().describe() ==
        "p.yaml:5: onImmutable: unknown value 'retry' (allowed: report, recreate)");
}

TEST_CASE("values of the wrong YAML type are problems on their key's line", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, "resource: [ConfigMap]", "direction: {down: 1}",
                        "namespaces: {include: kube-system, exclude: [Kube_System]}",
                        "selector: {matchLabels: {app: [web]}}", "fields: {path: /data}",
                        "limits:", "  maxObjectsPerNamespace: \"500\"",
                        "  maxObjectBytes:", "createOnSource: sometimes"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 9);
  CHECK(hasProblem(problems, "p.yaml", 3, {"resource: must be a map, not a list"}));
  CHECK(hasProblem(problems, "p.yaml", 4, {"direction: must be a string, not a map"}));
  CHECK(hasProblem(problems, "p.yaml", 5, {"namespaces.include: must be a list"}));
  CHECK(hasProblem(problems, "p.yaml", 5,
                   {"namespaces.exclude[0]: 'Kube_System' is not a namespace pattern"}));
  CHECK(hasProblem(problems, "p.yaml", 6,
                   {"selector.matchLabels.app: must be a string, not a list"}));
  CHECK(hasProblem(problems, "p.yaml", 7, {"fields: must be a list"}));
  CHECK(hasProblem(problems, "p.yaml", 9,
                   {"limits.maxObjectsPerNamespace: must be a whole number", "\"500\""}));
  CHECK(hasProblem(problems, "p.yaml", 10,
                   {"limits.maxObjectBytes: must be a whole number", "not empty"}));
  CHECK(
      hasProblem(problems, "p.yaml", 11, {"createOnSource: must be true or false", "'sometimes'"}));
}

TEST_CASE("limits must be greater than zero", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []",
                        "limits: {maxObjectsPerNamespace: 0, maxObjectBytes: -5}"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 2);
  CHECK(hasProblem(problems, "p.yaml", 6, {"maxObjectsPerNamespace: must be greater than 0"}));
  CHECK(hasProblem(problems, "p.yaml", 6, {"maxObjectBytes: must be greater than 0, not -5"}));
}

TEST_CASE("missing required keys, a foreign apiVersion or kind and an empty include are problems",
          "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({"# a comment first", "apiVersion: v1", "kind: ConfigMap",
                        "resource: {version: \"\", kind: ConfigMap}", "namespaces: {include: []}"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(problems.size() == 7);
  CHECK(hasProblem(problems, "p.yaml", 2, {"missing 'direction'"}));
  CHECK(hasProblem(problems, "p.yaml", 2, {"missing 'fields'"}));
  CHECK(hasProblem(problems, "p.yaml", 2, {"apiVersion: must be kube-bisync.io/v1alpha1", "'v1'"}));
  CHECK(hasProblem(problems, "p.yaml", 3, {"kind: must be SyncPolicy", "'ConfigMap'"}));
  CHECK(hasProblem(problems, "p.yaml", 4, {"resource: missing 'group'", "core API group"}));
  CHECK(hasProblem(problems, "p.yaml", 4, {"resource.version: must not be empty"}));
  CHECK(hasProblem(problems, "p.yaml", 5, {"namespaces.include: is empty"}));
}

TEST_CASE("every problem of a file is reported, in line order, and no policy is returned",
          "[policies]") {
  const LoadedPolicies loaded = parsePolicy(
      yaml({kApiVersion, kKind, kConfigMap, kDown, "color: blue",
            "fields:", "  - {path: /data, owner: sourcee}", "  - {path: /a~9, owner: source}",
            "  - {path: /metadata/labels/*, owner: both}", "limits: {maxObjectBytes: 0}"}),
      "many.yaml");
  INFO(describeAll(loaded.problems));
  CHECK(loaded.policies.empty());
  REQUIRE(loaded.problems.size() == 5);
  std::vector<int> lines;
  for (const PolicyProblem& problem : loaded.problems) lines.push_back(problem.line);
  CHECK(lines == std::vector<int>{5, 7, 8, 9, 10});
  CHECK(hasProblem(loaded.problems, "many.yaml", 5, {"unknown key 'color'"}));
  CHECK(hasProblem(loaded.problems, "many.yaml", 7, {"unknown owner 'sourcee'"}));
  CHECK(hasProblem(loaded.problems, "many.yaml", 8, {"bad path '/a~9'"}));
  CHECK(hasProblem(loaded.problems, "many.yaml", 9, {"owner both needs onConflict"}));
  CHECK(hasProblem(loaded.problems, "many.yaml", 10, {"must be greater than 0"}));
}

TEST_CASE("invalid YAML is one problem on the line of the syntax error", "[policies]") {
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, "resource: {group: \"\", version: v1", kDown}),
                  "broken.yaml")
          .problems;
  INFO(describeAll(problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems.front().reason.rfind("invalid YAML: ", 0) == 0);
  CHECK(problems.front().line >= 3);
}

TEST_CASE("a policy file holds exactly one document", "[policies]") {
  const std::vector<PolicyProblem> twoDocuments =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []", "---", kApiVersion,
                        kKind, kConfigMap, kDown, "fields: []", "---"}),
                  "two.yaml")
          .problems;
  INFO(describeAll(twoDocuments));
  CHECK(twoDocuments.size() == 1);
  CHECK(hasProblem(twoDocuments, "two.yaml", 7, {"a second YAML document"}));

  const std::vector<PolicyProblem> empty = parsePolicy("# nothing here\n", "empty.yaml").problems;
  CHECK(empty.size() == 1);
  CHECK(hasProblem(empty, "empty.yaml", 1, {"no policy in the file"}));

  const std::vector<PolicyProblem> list = parsePolicy("- a\n- b\n", "list.yaml").problems;
  CHECK(list.size() == 1);
  CHECK(hasProblem(list, "list.yaml", 1, {"a policy must be a map, not a list"}));
}

TEST_CASE("a directory is read in name order, only its .yaml and .yml files", "[policies]") {
  TempDir dir;
  dir.write("b-secrets.yml",
            yaml({kApiVersion, kKind, "resource: {group: \"\", version: v1, kind: Secret}", kDown,
                  "fields: []"}));
  dir.write("a-configmaps.yaml", yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []"}));
  dir.write("README.md", "not a policy\n");
  dir.write(".hidden.yaml", "not: a policy\n");
  const LoadedPolicies loaded = loadPolicyDirectory(dir.path());
  INFO(describeAll(loaded.problems));
  CHECK(loaded.problems.empty());
  REQUIRE(loaded.policies.size() == 2);
  CHECK(loaded.policies[0].file == dir.path("a-configmaps.yaml"));
  CHECK(loaded.policies[0].resource == kConfigMapKind);
  CHECK(loaded.policies[1].file == dir.path("b-secrets.yml"));
  CHECK(loaded.policies[1].resource == kSecretKind);
}

TEST_CASE("two files for one resource type are a problem naming both files and lines",
          "[policies]") {
  TempDir dir;
  dir.write("a.yaml", yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []"}));
  // The second file has another problem too: the duplicate is still found.
  dir.write("b.yaml", yaml({kApiVersion, kKind, kDown, kConfigMap, "fields: []", "extra: 1"}));
  const LoadedPolicies loaded = loadPolicyDirectory(dir.path());
  INFO(describeAll(loaded.problems));
  CHECK(loaded.problems.size() == 2);
  CHECK(hasProblem(loaded.problems, dir.path("b.yaml"), 4,
                   {"a second policy for v1 ConfigMap", dir.path("a.yaml") + ":3"}));
  CHECK(hasProblem(loaded.problems, dir.path("b.yaml"), 6, {"unknown key 'extra'"}));
  REQUIRE(loaded.policies.size() == 1);
  CHECK(loaded.policies.front().file == dir.path("a.yaml"));
}

TEST_CASE("an unreadable policy directory is a problem", "[policies]") {
  TempDir dir;
  const LoadedPolicies loaded = loadPolicyDirectory(dir.path("missing"));
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems.front().file == dir.path("missing"));
  CHECK(loaded.problems.front().line == 0);
  CHECK(loaded.problems.front().reason.find("cannot read the policy directory") !=
        std::string::npos);
}

TEST_CASE("every built-in default policy parses without a problem", "[policies]") {
  const auto builtins = builtinPolicyFiles();
  REQUIRE_FALSE(builtins.empty());
  for (const auto& [name, text] : builtins) {
    const LoadedPolicies loaded = parsePolicy(text, name);
    INFO(name << "\n" << describeAll(loaded.problems));
    CHECK(loaded.problems.empty());
    CHECK(loaded.policies.size() == 1);
  }
}

TEST_CASE("every registered translator has exactly one built-in policy", "[policies]") {
  bisync::translators::Registry registry;
  bisync::translators::registerBuiltins(registry);
  const LoadedPolicies defaults = withDefaults({});
  REQUIRE(defaults.problems.empty());
  // Policies come in file name order, plugins in registration order: compare by kind.
  std::vector<GroupVersionKind> kinds;
  for (const SyncPolicy& policy : defaults.policies) kinds.push_back(policy.resource);
  std::vector<GroupVersionKind> registered = registry.kinds();
  const auto byKind = [](const GroupVersionKind& a, const GroupVersionKind& b) {
    return a.kind < b.kind;
  };
  std::sort(kinds.begin(), kinds.end(), byKind);
  std::sort(registered.begin(), registered.end(), byKind);
  CHECK(kinds == registered);
  const KindRefusal refusal = [](const GroupVersionKind& kind) {
    return bisync::translators::genericRefusal(kind);
  };
  CHECK(checkKinds(defaults.policies, refusal).empty());
}

TEST_CASE("the ConfigMap and Secret defaults sync content, labels and annotations down",
          "[policies]") {
  const LoadedPolicies defaults = withDefaults({});
  REQUIRE(defaults.policies.size() == 3);  // configmaps, pods, secrets
  const auto paths = [](const SyncPolicy& policy) {
    std::vector<std::string> texts;
    for (const FieldRule& rule : policy.fields) {
      CHECK(rule.owner == Owner::Source);
      texts.push_back(rule.path.text());
    }
    return texts;
  };
  for (const SyncPolicy& policy : {defaults.policies[0], defaults.policies[2]}) {
    INFO(policy.file);
    CHECK(policy.direction == Direction::Down);
    CHECK_FALSE(policy.createOnSource);
    CHECK(policy.namespaces.include == std::vector<std::string>{"*"});
    CHECK(policy.namespaces.exclude.empty());
    CHECK(policy.matchLabels.empty());
  }
  CHECK(defaults.policies[0].file == "<built-in>/configmaps.yaml");
  CHECK(defaults.policies[0].resource == kConfigMapKind);
  CHECK(paths(defaults.policies[0]) == std::vector<std::string>{"/data", "/binaryData",
                                                                "/immutable", "/metadata/labels/*",
                                                                "/metadata/annotations/*"});
  CHECK(defaults.policies[2].file == "<built-in>/secrets.yaml");
  CHECK(defaults.policies[2].resource == kSecretKind);
  CHECK(paths(defaults.policies[2]) == std::vector<std::string>{"/type", "/data", "/immutable",
                                                                "/metadata/labels/*",
                                                                "/metadata/annotations/*"});
}

TEST_CASE("withDefaults keeps a file's override and adds the defaults of other kinds",
          "[policies]") {
  LoadedPolicies fromDir =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, "direction: bidirectional",
                        "fields:", "  - {path: /data, owner: both, onConflict: reject}"}),
                  "mine.yaml");
  REQUIRE(fromDir.problems.empty());
  const LoadedPolicies all = withDefaults(std::move(fromDir));
  INFO(describeAll(all.problems));
  CHECK(all.problems.empty());
  REQUIRE(all.policies.size() == 3);
  CHECK(all.policies[0].file == "mine.yaml");
  CHECK(all.policies[0].direction == Direction::Bidirectional);
  CHECK(all.policies[1].file == "<built-in>/pods.yaml");
  CHECK(all.policies[2].file == "<built-in>/secrets.yaml");
  CHECK(all.policies[2].resource == kSecretKind);
}

TEST_CASE(
    "a policy for a kind kube-bisync refuses is a problem on its resource line; others are not",
    "[policies]") {
  const LoadedPolicies loaded =
      parsePolicy(yaml({kApiVersion, kKind, kDown,
                        "resource: {group: \"\", version: v1, kind: Pod}", "fields: []"}),
                  "pods.yaml");
  REQUIRE(loaded.policies.size() == 1);
  const KindRefusal refusal = [](const GroupVersionKind& kind) -> std::optional<std::string> {
    if (kind.kind == "Pod") return "Pods need a plugin";
    return std::nullopt;
  };
  const std::vector<PolicyProblem> problems = checkKinds(loaded.policies, refusal);
  REQUIRE(problems.size() == 1);
  CHECK(problems.front().describe() ==
        "pods.yaml:4: kube-bisync cannot sync v1 Pod: Pods need a plugin");
  const LoadedPolicies deployments =
      parsePolicy(yaml({kApiVersion, kKind, kDown,
                        "resource: {group: apps, version: v1, kind: Deployment}", "fields: []"}),
                  "deploy.yaml");
  CHECK(checkKinds(deployments.policies, refusal).empty());
}

TEST_CASE("the generic policy sends everything but status down and status up", "[policies]") {
  const SyncPolicy policy = genericPolicy({"example.com", "v1", "Widget"});
  CHECK(policy.file == "<built-in>/generic");
  CHECK(policy.resource == GroupVersionKind{"example.com", "v1", "Widget"});
  CHECK(policy.direction == Direction::Down);
  const OwnershipMap ownership(policy.fields);
  CHECK(ownership.ownerOf({"spec", "replicas"}) == Owner::Source);
  CHECK(ownership.ownerOf({"data", "key"}) == Owner::Source);
  CHECK(ownership.ownerOf({"metadata", "labels", "app"}) == Owner::Source);
  CHECK(ownership.ownerOf({"status"}) == Owner::Target);
  CHECK(ownership.ownerOf({"status", "conditions"}) == Owner::Target);
}

TEST_CASE("a namespace filter selects included namespaces that no exclude matches", "[policies]") {
  NamespaceFilter filter;
  CHECK(filter.selects("default"));
  filter.include = {"team-*", "prod"};
  filter.exclude = {"*-scratch", "team-a*b"};
  CHECK(filter.selects("team-a"));
  CHECK(filter.selects("team-"));
  CHECK(filter.selects("prod"));
  CHECK_FALSE(filter.selects("production"));
  CHECK_FALSE(filter.selects("team-x-scratch"));
  CHECK_FALSE(filter.selects("team-ab"));
  CHECK_FALSE(filter.selects("team-a-b-b"));
  CHECK(filter.selects("team-a-b-c"));
  filter.include = {"*a*a*"};
  filter.exclude = {};
  CHECK(filter.selects("banana"));
  CHECK_FALSE(filter.selects("bnn-a"));
}

TEST_CASE("directions, owners and strategies print as the policy files spell them", "[policies]") {
  CHECK(toString(Direction::Bidirectional) == "bidirectional");
  CHECK(toString(Owner::Ignore) == "ignore");
  CHECK(toString(ConflictStrategy::NewestWins) == "newest-wins");
  CHECK(toString(ConflictStrategy::SourceWins) == "source-wins");
}

}  // namespace

TEST_CASE("a policy nested 200,000 levels deep is one YAML problem, not a stack overflow",
          "[policies][limits]") {
  const std::string deep = std::string(kApiVersion) + "\nfields: " + std::string(200'000, '[') +
                           std::string(200'000, ']') + "\n";
  const std::vector<PolicyProblem> problems = parsePolicy(deep, "deep.yaml").problems;
  INFO(describeAll(problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems.front().reason.rfind("invalid YAML: ", 0) == 0);
}

TEST_CASE("a policy file over the 1 MiB cap is a problem and is not parsed", "[policies][limits]") {
  TempDir dir;
  const std::string file = dir.write("huge.yaml", "# " + std::string(1U << 20U, 'x') + "\n");
  const LoadedPolicies loaded = loadPolicyDirectory(dir.path());
  INFO(describeAll(loaded.problems));
  REQUIRE(loaded.problems.size() == 1);
  CHECK(loaded.problems.front().describe() ==
        file + ": cannot read: 1048579 bytes, more than the 1048576-byte cap for policy files");
}

// Found by tests/fuzz (policy_loader): yaml-cpp 0.7's LoadAll loops forever, allocating, on a
// ',' outside a flow collection.
TEST_CASE("a ',' outside [] and {} is a YAML problem, not an endless parse", "[policies][limits]") {
  for (const std::string& text :
       {std::string(","), std::string(",%\x03\x00", 4), std::string("a: b\n---\n, x\n")}) {
    const std::vector<PolicyProblem> problems = parsePolicy(text, "comma.yaml").problems;
    INFO(describeAll(problems));
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems.front().reason,
               Catch::StartsWith("invalid YAML: more than 100 documents, or a ','"));
  }
  const LoadedPolicies manyEmpty = parsePolicy(std::string(50, '\n') + "---\n---\n", "empty.yaml");
  REQUIRE(manyEmpty.problems.size() == 1);
  CHECK_THAT(manyEmpty.problems.front().reason, Catch::StartsWith("no policy in the file"));
}

TEST_CASE("direction none parses, and refuses createOnSource", "[policies]") {
  const LoadedPolicies none = parsePolicy(
      yaml({kApiVersion, kKind, kConfigMap, "direction: none", "fields: []"}), "p.yaml");
  INFO(describeAll(none.problems));
  REQUIRE(none.policies.size() == 1);
  CHECK(none.policies.front().direction == Direction::None);
  CHECK(toString(Direction::None) == "none");
  const std::vector<PolicyProblem> problems =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, "direction: none", "fields: []",
                        "createOnSource: true"}),
                  "p.yaml")
          .problems;
  INFO(describeAll(problems));
  CHECK(hasProblem(problems, "p.yaml", 6, {"createOnSource", "direction is none"}));
}

TEST_CASE("the Pod default sends the translated spec down and the status up, no host feature",
          "[policies][pods]") {
  const LoadedPolicies defaults = withDefaults({});
  REQUIRE(defaults.policies.size() == 3);
  const SyncPolicy& pods = defaults.policies[1];
  CHECK(pods.file == "<built-in>/pods.yaml");
  CHECK(pods.resource == GroupVersionKind{"", "v1", "Pod"});
  CHECK(pods.direction == Direction::Down);
  CHECK(pods.allowedHostFeatures.empty());
  const OwnershipMap ownership(pods.fields);
  CHECK(ownership.ownerOf({"spec", "containers"}) == Owner::Source);
  CHECK(ownership.ownerOf({"metadata", "labels", "app"}) == Owner::Source);
  CHECK(ownership.ownerOf({"metadata", "annotations", "note"}) == Owner::Source);
  CHECK(ownership.ownerOf({"status", "phase"}) == Owner::Target);
  CHECK(ownership.ownerOf({"metadata", "finalizers"}) == Owner::Ignore);
}

TEST_CASE("hostFeatures.allow lists host features of a Pod policy", "[policies][pods]") {
  constexpr std::string_view kPod = "resource: {group: \"\", version: v1, kind: Pod}";
  const LoadedPolicies allowed =
      parsePolicy(yaml({kApiVersion, kKind, kPod, kDown, "fields: []",
                        "hostFeatures: {allow: [hostPath, capabilities]}"}),
                  "pods.yaml");
  INFO(describeAll(allowed.problems));
  REQUIRE(allowed.problems.empty());
  CHECK(allowed.policies.front().allowedHostFeatures ==
        std::vector<std::string>{"hostPath", "capabilities"});

  const LoadedPolicies unknown =
      parsePolicy(yaml({kApiVersion, kKind, kPod, kDown, "fields: []",
                        "hostFeatures:", "  allow:", "    - privileged", "    - rootAccess"}),
                  "pods.yaml");
  CHECK(hasProblem(unknown.problems, "pods.yaml", 9,
                   {"hostFeatures.allow[1]: unknown host feature 'rootAccess'",
                    "allowed: privileged, hostPath, hostNetwork"}));
  CHECK(unknown.policies.empty());

  const LoadedPolicies notAList = parsePolicy(
      yaml({kApiVersion, kKind, kPod, kDown, "fields: []", "hostFeatures: {allow: hostPath}"}),
      "pods.yaml");
  CHECK(hasProblem(notAList.problems, "pods.yaml", 6, {"hostFeatures.allow: must be a list"}));
  const LoadedPolicies otherKey = parsePolicy(
      yaml({kApiVersion, kKind, kPod, kDown, "fields: []", "hostFeatures: {deny: [hostPath]}"}),
      "pods.yaml");
  CHECK(hasProblem(otherKey.problems, "pods.yaml", 6, {"unknown key 'deny' in hostFeatures"}));
}

TEST_CASE("hostFeatures on a policy of another kind is a problem on its line", "[policies][pods]") {
  const LoadedPolicies loaded =
      parsePolicy(yaml({kApiVersion, kKind, kConfigMap, kDown, "fields: []",
                        "hostFeatures: {allow: [privileged]}"}),
                  "configmaps.yaml");
  CHECK(hasProblem(loaded.problems, "configmaps.yaml", 6,
                   {"hostFeatures: applies only to a v1 Pod policy, not to v1 ConfigMap"}));
  CHECK(loaded.policies.empty());
}
