// Strict parsing of one SyncPolicy document. yaml-cpp is only read through const nodes
// (operator[] on a non-const node inserts keys) and maps are walked with iterators, never
// looked up, so duplicated keys are seen and no lookup can throw.
#include "policies/internal/policy_parser.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>

namespace bisync::policies::internal {
namespace {

using Keys = std::initializer_list<std::string_view>;

const Keys kTopKeys{"apiVersion",     "kind",     "resource",    "direction",
                    "namespaces",     "selector", "fields",      "limits",
                    "createOnSource", "crd",      "onImmutable", "hostFeatures"};
const Keys kResourceKeys{"group", "version", "kind"};
const Keys kNamespaceKeys{"include", "exclude"};
const Keys kSelectorKeys{"matchLabels"};
const Keys kFieldKeys{"path", "owner", "onConflict"};
const Keys kLimitKeys{"maxObjectsPerNamespace", "maxObjectBytes"};
const Keys kHostFeatureKeys{"allow"};

template <class T>
struct Spelling {
  std::string_view text;
  T value;
};

constexpr std::array<Spelling<Direction>, 4> kDirections{
    {{"down", Direction::Down},
     {"up", Direction::Up},
     {"bidirectional", Direction::Bidirectional},
     {"none", Direction::None}}};
constexpr std::array<Spelling<CrdSource>, 2> kCrdSources{
    {{"fromTarget", CrdSource::FromTarget}, {"fromSource", CrdSource::FromSource}}};
constexpr std::array<Spelling<Owner>, 4> kOwners{{{"source", Owner::Source},
                                                  {"target", Owner::Target},
                                                  {"both", Owner::Both},
                                                  {"ignore", Owner::Ignore}}};
constexpr std::array<Spelling<ConflictStrategy>, 4> kStrategies{
    {{"source-wins", ConflictStrategy::SourceWins},
     {"target-wins", ConflictStrategy::TargetWins},
     {"newest-wins", ConflictStrategy::NewestWins},
     {"reject", ConflictStrategy::Reject}}};
constexpr std::array<Spelling<OnImmutable>, 2> kOnImmutable{
    {{"report", OnImmutable::Report}, {"recreate", OnImmutable::Recreate}}};

template <class T>
std::string spellings(std::span<const Spelling<T>> choices) {
  std::string text;
  for (const auto& choice : choices) text += (text.empty() ? "" : ", ") + std::string(choice.text);
  return text;
}

std::string hostFeatureList() {
  std::string text;
  for (std::string_view name : kHostFeatureNames) {
    text += (text.empty() ? "" : ", ") + std::string(name);
  }
  return text;
}

std::string joined(Keys keys) {
  std::string text;
  for (std::string_view key : keys) text += (text.empty() ? "" : ", ") + std::string(key);
  return text;
}

// What a node is, for "must be a map, not ..." messages.
std::string describeNode(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Null: return "empty";
    case YAML::NodeType::Undefined: break;
  }
  return "missing";
}

// The 1-based line of `node`. yaml-cpp places an empty value at the next token, possibly
// lines further down, so an empty node gets `fallback` (the line of its key).
int lineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

// A value with the line of its key (where problems with it are reported) and its name in
// messages ("limits.maxObjectBytes", "fields[2].owner"; "" for the document itself).
struct Field {
  YAML::Node value;
  int line = 0;
  std::string name;
};

using Entries = std::map<std::string, Field, std::less<>>;

const Field* find(const Entries& entries, std::string_view key) {
  auto it = entries.find(key);
  return it == entries.end() ? nullptr : &it->second;
}

bool isNamespacePattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > 63) return false;
  return std::all_of(pattern.begin(), pattern.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '*';
  });
}

class Parser {
 public:
  Parser(const std::string& file, ParsedPolicyFile& out) : file_(file), out_(out) {}

  void parse(const YAML::Node& document) {
    const Field top{document, lineOf(document, 1), ""};
    std::optional<Entries> entries = mapEntries(top, kTopKeys);
    if (!entries) return;
    for (std::string_view key : {"apiVersion", "kind", "resource", "direction", "fields"}) {
      if (find(*entries, key) == nullptr) problem(top.line, "missing '" + std::string(key) + "'");
    }
    if (const Field* field = find(*entries, "apiVersion")) {
      expectExactly(*field, kPolicyApiVersion);
    }
    if (const Field* field = find(*entries, "kind")) expectExactly(*field, kPolicyKind);
    if (const Field* field = find(*entries, "resource")) parseResource(*field);
    std::optional<Direction> direction;
    if (const Field* field = find(*entries, "direction")) {
      direction = oneOf<Direction>(*field, "direction", kDirections);
      if (direction) out_.policy.direction = *direction;
    }
    if (const Field* field = find(*entries, "namespaces")) parseNamespaces(*field);
    if (const Field* field = find(*entries, "selector")) parseSelector(*field);
    if (const Field* field = find(*entries, "fields")) parseFields(*field);
    if (const Field* field = find(*entries, "limits")) parseLimits(*field);
    if (const Field* field = find(*entries, "crd")) {
      const std::optional<CrdSource> crd = oneOf<CrdSource>(*field, "crd", kCrdSources);
      if (crd) out_.policy.crd = *crd;
    }
    if (const Field* field = find(*entries, "createOnSource")) {
      std::optional<bool> createOnSource = boolean(*field);
      if (createOnSource) out_.policy.createOnSource = *createOnSource;
      if (createOnSource.value_or(false) &&
          (direction == Direction::Down || direction == Direction::None)) {
        problem(field->line, "createOnSource: needs direction up or bidirectional (direction is " +
                                 std::string(toString(*direction)) + ")");
      }
    }
    if (const Field* field = find(*entries, "onImmutable")) {
      std::optional<OnImmutable> onImmutable = oneOf<OnImmutable>(*field, "value", kOnImmutable);
      if (onImmutable) out_.policy.onImmutable = *onImmutable;
    }
    if (const Field* field = find(*entries, "hostFeatures")) parseHostFeatures(*field);
  }

 private:
  void problem(int line, std::string reason) {
    out_.problems.push_back({file_, line, std::move(reason)});
  }

  static std::string child(const Field& parent, std::string_view key) {
    return parent.name.empty() ? std::string(key) : parent.name + "." + std::string(key);
  }

  // The entries of the map `field`: a problem for a key not in `allowed` (any key when
  // `allowed` is empty), a key that is not a string and a key given twice. nullopt, and a
  // problem, when `field` is not a map.
  std::optional<Entries> mapEntries(const Field& field, Keys allowed) {
    if (!field.value.IsMap()) {
      const std::string name = field.name.empty() ? "a policy" : field.name + ":";
      problem(field.line, name + " must be a map, not " + describeNode(field.value));
      return std::nullopt;
    }
    const std::string in = field.name.empty() ? "" : " in " + field.name;
    Entries entries;
    // Not `it->first`: yaml-cpp's operator-> returns a proxy, so a reference into it dangles.
    for (const auto& entry : field.value) {
      const YAML::Node& key = entry.first;
      const int line = lineOf(key, field.line);
      if (!key.IsScalar()) {
        problem(line, "a key" + in + " is " + describeNode(key) + ": keys must be strings");
        continue;
      }
      const std::string& name = key.Scalar();
      if (allowed.size() != 0 && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        problem(line, "unknown key '" + name + "'" + in + " (allowed: " + joined(allowed) + ")");
        continue;
      }
      if (const Field* first = find(entries, name)) {
        problem(line, "key '" + name + "'" + in + " is given twice (first at line " +
                          std::to_string(first->line) + ")");
        continue;
      }
      entries.emplace(name, Field{entry.second, line, child(field, name)});
    }
    return entries;
  }

  std::optional<std::string> string(const Field& field) {
    if (!field.value.IsScalar()) {
      problem(field.line, field.name + ": must be a string, not " + describeNode(field.value));
      return std::nullopt;
    }
    return field.value.Scalar();
  }

  // yaml-cpp tags a quoted scalar "!": `"500"` is text, not a number.
  bool plainScalar(const Field& field, std::string_view type) {
    if (field.value.IsScalar() && field.value.Tag() != "!") return true;
    problem(field.line, field.name + ": must be " + std::string(type) + ", not " +
                            (field.value.IsScalar() ? "the string \"" + field.value.Scalar() + "\""
                                                    : describeNode(field.value)));
    return false;
  }

  std::optional<std::int64_t> positiveInteger(const Field& field) {
    if (!plainScalar(field, "a whole number")) return std::nullopt;
    std::int64_t value = 0;
    if (!YAML::convert<std::int64_t>::decode(field.value, value)) {
      problem(field.line,
              field.name + ": must be a whole number, not '" + field.value.Scalar() + "'");
      return std::nullopt;
    }
    if (value <= 0) {
      problem(field.line, field.name + ": must be greater than 0, not " + std::to_string(value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const Field& field) {
    if (!plainScalar(field, "true or false")) return std::nullopt;
    bool value = false;
    if (!YAML::convert<bool>::decode(field.value, value)) {
      problem(field.line,
              field.name + ": must be true or false, not '" + field.value.Scalar() + "'");
      return std::nullopt;
    }
    return value;
  }

  template <class T, std::size_t N>
  std::optional<T> oneOf(const Field& field, std::string_view what,
                         const std::array<Spelling<T>, N>& choices) {
    std::optional<std::string> text = string(field);
    if (!text) return std::nullopt;
    for (const auto& choice : choices) {
      if (choice.text == *text) return choice.value;
    }
    problem(field.line, field.name + ": unknown " + std::string(what) + " '" + *text +
                            "' (allowed: " + spellings<T>(choices) + ")");
    return std::nullopt;
  }

  void expectExactly(const Field& field, std::string_view expected) {
    std::optional<std::string> text = string(field);
    if (text && *text != expected) {
      problem(field.line,
              field.name + ": must be " + std::string(expected) + ", not '" + *text + "'");
    }
  }

  void parseResource(const Field& field) {
    std::optional<Entries> entries = mapEntries(field, kResourceKeys);
    if (!entries) return;
    kube::GroupVersionKind& resource = out_.policy.resource;
    bool complete = true;
    for (std::string_view key : kResourceKeys) {
      const Field* part = find(*entries, key);
      if (part == nullptr) {
        problem(field.line, "resource: missing '" + std::string(key) + "'" +
                                (key == "group" ? " (group: \"\" is the core API group)" : ""));
        complete = false;
        continue;
      }
      std::optional<std::string> text = string(*part);
      if (text && text->empty() && key != "group") {
        problem(part->line, part->name + ": must not be empty");
        text.reset();
      }
      if (!text) {
        complete = false;
        continue;
      }
      (key == "group"     ? resource.group
       : key == "version" ? resource.version
                          : resource.kind) = *text;
    }
    out_.policy.line = field.line;
    out_.hasResource = complete;
  }

  std::optional<std::vector<std::string>> namespacePatterns(const Field& field) {
    if (!field.value.IsSequence()) {
      problem(field.line, field.name + ": must be a list of namespace patterns, not " +
                              describeNode(field.value));
      return std::nullopt;
    }
    std::vector<std::string> patterns;
    bool valid = true;
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
      const Field pattern{item, lineOf(item, field.line),
                          field.name + "[" + std::to_string(index++) + "]"};
      std::optional<std::string> text = string(pattern);
      if (text && !isNamespacePattern(*text)) {
        problem(pattern.line, pattern.name + ": '" + *text +
                                  "' is not a namespace pattern (at most 63 lower-case letters, "
                                  "digits, '-' and '*')");
        text.reset();
      }
      if (text) {
        patterns.push_back(*text);
      } else {
        valid = false;
      }
    }
    if (!valid) return std::nullopt;
    return patterns;
  }

  void parseNamespaces(const Field& field) {
    std::optional<Entries> entries = mapEntries(field, kNamespaceKeys);
    if (!entries) return;
    if (const Field* include = find(*entries, "include")) {
      std::optional<std::vector<std::string>> patterns = namespacePatterns(*include);
      if (patterns && patterns->empty()) {
        problem(include->line, include->name +
                                   ": is empty, so no namespace would be selected (leave it out "
                                   "to select every namespace)");
      }
      if (patterns) out_.policy.namespaces.include = std::move(*patterns);
    }
    if (const Field* exclude = find(*entries, "exclude")) {
      std::optional<std::vector<std::string>> patterns = namespacePatterns(*exclude);
      if (patterns) out_.policy.namespaces.exclude = std::move(*patterns);
    }
  }

  void parseSelector(const Field& field) {
    std::optional<Entries> entries = mapEntries(field, kSelectorKeys);
    if (!entries) return;
    const Field* matchLabels = find(*entries, "matchLabels");
    if (matchLabels == nullptr) return;
    std::optional<Entries> labels = mapEntries(*matchLabels, {});
    if (!labels) return;
    for (const auto& [key, value] : *labels) {
      std::optional<std::string> text = string(value);
      if (text) out_.policy.matchLabels[key] = *text;
    }
  }

  void parseFields(const Field& field) {
    if (!field.value.IsSequence()) {
      problem(field.line, "fields: must be a list of {path, owner, onConflict}, not " +
                              describeNode(field.value));
      return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
      parseRule(Field{item, lineOf(item, field.line), "fields[" + std::to_string(index++) + "]"});
    }
  }

  void parseRule(const Field& item) {
    std::optional<Entries> entries = mapEntries(item, kFieldKeys);
    if (!entries) return;
    const Field* pathField = find(*entries, "path");
    const Field* ownerField = find(*entries, "owner");
    const Field* conflictField = find(*entries, "onConflict");
    if (pathField == nullptr) problem(item.line, item.name + ": missing 'path'");
    if (ownerField == nullptr) problem(item.line, item.name + ": missing 'owner'");

    std::optional<FieldPath> path;
    if (pathField != nullptr) path = parsePath(*pathField);
    std::optional<Owner> owner;
    if (ownerField != nullptr) owner = oneOf<Owner>(*ownerField, "owner", kOwners);
    std::optional<ConflictStrategy> onConflict;
    bool consistent = true;
    if (conflictField != nullptr) {
      onConflict = oneOf<ConflictStrategy>(*conflictField, "onConflict", kStrategies);
      consistent = onConflict.has_value();
    }
    if (owner == Owner::Both && conflictField == nullptr) {
      problem(item.line, item.name + ": owner both needs onConflict (" +
                             spellings<ConflictStrategy>(kStrategies) + ")");
      consistent = false;
    }
    if (owner && owner != Owner::Both && conflictField != nullptr) {
      problem(conflictField->line, conflictField->name +
                                       ": applies only to owner both, not to owner " +
                                       std::string(toString(*owner)));
      consistent = false;
    }
    if (path && owner && consistent) {
      out_.policy.fields.push_back(FieldRule{*path, *owner, onConflict, item.line});
    }
  }

  std::optional<FieldPath> parsePath(const Field& field) {
    std::optional<std::string> text = string(field);
    if (!text) return std::nullopt;
    tl::expected<FieldPath, std::string> path = FieldPath::parse(*text);
    if (!path) {
      problem(field.line, field.name + ": bad path '" + *text + "': " + path.error());
      return std::nullopt;
    }
    for (const auto& [seen, line] : seenPaths_) {
      if (seen.segments() == path->segments()) {
        problem(field.line, field.name + ": path '" + *text + "' is listed twice (first at line " +
                                std::to_string(line) + ")");
        return std::nullopt;
      }
    }
    seenPaths_.emplace_back(*path, field.line);
    return std::move(*path);
  }

  void parseLimits(const Field& field) {
    std::optional<Entries> entries = mapEntries(field, kLimitKeys);
    if (!entries) return;
    if (const Field* limit = find(*entries, "maxObjectsPerNamespace")) {
      out_.policy.limits.maxObjectsPerNamespace = positiveInteger(*limit);
    }
    if (const Field* limit = find(*entries, "maxObjectBytes")) {
      out_.policy.limits.maxObjectBytes = positiveInteger(*limit);
    }
  }

  // hostFeatures: {allow: [privileged, hostPath, ...]}, on a v1 Pod policy only (what the host
  // lets a synced Pod do there; docs/workloads.md).
  void parseHostFeatures(const Field& field) {
    const kube::GroupVersionKind& resource = out_.policy.resource;
    if (out_.hasResource && !(resource.group.empty() && resource.kind == "Pod")) {
      problem(field.line, "hostFeatures: applies only to a v1 Pod policy, not to " +
                              describeResource(resource));
      return;
    }
    std::optional<Entries> entries = mapEntries(field, kHostFeatureKeys);
    if (!entries) return;
    const Field* allow = find(*entries, "allow");
    if (allow == nullptr) return;
    if (!allow->value.IsSequence()) {
      problem(allow->line,
              allow->name + ": must be a list of host features, not " + describeNode(allow->value));
      return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : allow->value) {
      const Field name{item, lineOf(item, allow->line),
                       allow->name + "[" + std::to_string(index++) + "]"};
      std::optional<std::string> text = string(name);
      if (!text) continue;
      if (std::find(std::begin(kHostFeatureNames), std::end(kHostFeatureNames), *text) ==
          std::end(kHostFeatureNames)) {
        problem(name.line, name.name + ": unknown host feature '" + *text +
                               "' (allowed: " + hostFeatureList() + ")");
        continue;
      }
      out_.policy.allowedHostFeatures.push_back(*text);
    }
  }

  const std::string& file_;
  ParsedPolicyFile& out_;
  std::vector<std::pair<FieldPath, int>> seenPaths_;  // every valid path so far, with its line
};

// yaml-cpp 0.7's LoadAll never returns on a ',' outside a flow collection (",", "a: b\n---\n,"):
// its parser reports an empty document without consuming the ',' and is asked for the next one,
// forever, allocating each (tests/fuzz found it). A first pass that only counts documents, and
// gives up at kMaxDocuments, tells such a stream from a real one before LoadAll sees it.
constexpr int kMaxDocuments = 100;

class DocumentCounter : public YAML::EventHandler {
 public:
  int lastLine = 1;  // where the last document started, 1-based

  void OnDocumentStart(const YAML::Mark& mark) override { lastLine = mark.line + 1; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The line of the document where the stream is still going after kMaxDocuments documents;
// nullopt when it ends before. Throws what yaml-cpp throws for invalid YAML.
std::optional<int> endlessAt(std::string_view yaml) {
  std::istringstream stream{std::string(yaml)};
  YAML::Parser parser(stream);
  DocumentCounter counter;
  for (int documents = 0; documents < kMaxDocuments; ++documents) {
    if (!parser.HandleNextDocument(counter)) return std::nullopt;
  }
  return counter.lastLine;
}

}  // namespace

ParsedPolicyFile parsePolicyFile(std::string_view yaml, const std::string& file) {
  ParsedPolicyFile out;
  out.policy.file = file;
  try {
    if (const std::optional<int> line = endlessAt(yaml)) {
      out.problems.push_back({file, *line,
                              "invalid YAML: more than " + std::to_string(kMaxDocuments) +
                                  " documents, or a ',' outside [] and {} that yaml-cpp cannot "
                                  "read past"});
      return out;
    }
    std::vector<YAML::Node> documents;
    for (const YAML::Node& document : YAML::LoadAll(std::string(yaml))) {
      if (!document.IsNull()) documents.push_back(document);  // "---" alone, a comment-only file
    }
    if (documents.empty()) {
      out.problems.push_back({file, 1, "no policy in the file (expected one SyncPolicy document)"});
    }
    for (std::size_t i = 1; i < documents.size(); ++i) {
      out.problems.push_back({file, lineOf(documents[i], 1),
                              "a second YAML document: a policy file holds one SyncPolicy (put "
                              "each policy in its own file)"});
    }
    if (!documents.empty()) Parser(file, out).parse(documents.front());
  } catch (const YAML::Exception& e) {
    out.problems.push_back(
        {file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "invalid YAML: " + e.msg});
  }
  std::stable_sort(out.problems.begin(), out.problems.end(),
                   [](const PolicyProblem& a, const PolicyProblem& b) { return a.line < b.line; });
  return out;
}

}  // namespace bisync::policies::internal
