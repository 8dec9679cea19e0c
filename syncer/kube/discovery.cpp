#include "syncer/kube/discovery.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace bisync::kube {

namespace {

constexpr std::size_t kMaxLabel = 63;       // DNS-1123 label, and a CRD's kind and version
constexpr std::size_t kMaxSubdomain = 253;  // DNS-1123 subdomain: an API group

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool allOf(std::string_view text, bool (*allowed)(char)) {
  return std::all_of(text.begin(), text.end(), allowed);
}

// A DNS-1123 label: what a resource's plural and a version are made of.
bool isDnsLabel(std::string_view text) {
  const auto alphanumeric = [](char c) { return isLower(c) || isDigit(c); };
  return !text.empty() && text.size() <= kMaxLabel && alphanumeric(text.front()) &&
         alphanumeric(text.back()) &&
         allOf(text, [](char c) { return isLower(c) || isDigit(c) || c == '-'; });
}

bool isDnsSubdomain(std::string_view text) {
  if (text.empty() || text.size() > kMaxSubdomain) return false;
  while (true) {
    const std::size_t dot = text.find('.');
    if (!isDnsLabel(text.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

// v1, v1beta1, v2alpha3: Kubernetes' own version names and what CRDs use in practice. The digit
// after the "v" keeps "Deployment.velero.io" (no version) from reading as version "velero".
bool isVersion(std::string_view text) {
  return text.size() >= 2 && text.size() <= kMaxLabel && text[0] == 'v' && isDigit(text[1]) &&
         allOf(text, [](char c) { return isLower(c) || isDigit(c); });
}

// kube-apiserver requires a CRD's kind, lower-cased, to be a DNS-1035 label; built-in kinds are
// Go type names.
bool isKind(std::string_view text) {
  return !text.empty() && text.size() <= kMaxLabel && isUpper(text.front()) &&
         allOf(text, [](char c) { return isLower(c) || isUpper(c) || isDigit(c); });
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  out += text;
  out += '"';
  return out;
}

constexpr std::string_view kForms =
    "write a plural (configmaps), plural.group (deployments.apps) or Kind.version[.group] "
    "(Deployment.v1.apps)";

// Kind.version[.group]
std::optional<std::string> parseKindForm(std::string_view text, ResourceSpec& spec) {
  const std::size_t firstDot = text.find('.');
  const std::string_view kind = text.substr(0, firstDot);
  if (!isKind(kind)) {
    return "the kind " + quoted(kind) +
           " is not an upper-case letter followed by letters and digits";
  }
  if (firstDot == std::string_view::npos) {
    return "a kind needs its version: Kind.version[.group], as in Deployment.v1.apps";
  }
  const std::string_view rest = text.substr(firstDot + 1);
  const std::size_t secondDot = rest.find('.');
  const std::string_view version = rest.substr(0, secondDot);
  if (!isVersion(version)) {
    return "the version " + quoted(version) + " is not one like v1, v1beta1 or v2alpha3";
  }
  if (secondDot != std::string_view::npos) {
    const std::string_view group = rest.substr(secondDot + 1);
    if (!isDnsSubdomain(group)) {
      return "the group " + quoted(group) + " is not a lower-case DNS subdomain";
    }
    spec.group = std::string(group);
  }
  spec.kind = std::string(kind);
  spec.version = std::string(version);
  return std::nullopt;
}

// plural[.group]
std::optional<std::string> parsePluralForm(std::string_view text, ResourceSpec& spec) {
  const std::size_t dot = text.find('.');
  const std::string_view resource = text.substr(0, dot);
  if (!isDnsLabel(resource)) {
    return "the plural " + quoted(resource) +
           " is not a lower-case resource name (letters, digits and '-'); " + std::string(kForms);
  }
  if (dot != std::string_view::npos) {
    const std::string_view group = text.substr(dot + 1);
    if (!isDnsSubdomain(group)) {
      return "the group " + quoted(group) + " is not a lower-case DNS subdomain";
    }
    spec.group = std::string(group);
  }
  spec.resource = std::string(resource);
  return std::nullopt;
}

// One resource entry of an APIResourceList, when it is complete and well-formed.
std::optional<ResourceInfo> resourceOf(const JsonValue& entry, std::string_view group,
                                       std::string_view version) {
  const std::string_view name = stringMember(entry, "name");
  const std::string_view kind = stringMember(entry, "kind");
  const JsonValue* namespaced = member(entry, "namespaced");
  if (!isDnsLabel(name) || !isKind(kind) || namespaced == nullptr || !namespaced->IsBool()) {
    return std::nullopt;
  }
  ResourceInfo info;
  info.group = std::string(group);
  info.version = std::string(version);
  info.resource = std::string(name);
  info.kind = std::string(kind);
  info.namespaced = namespaced->GetBool();
  if (const JsonValue* verbs = member(entry, "verbs"); verbs != nullptr && verbs->IsArray()) {
    for (const JsonValue& verb : verbs->GetArray()) {
      if (verb.IsString()) info.verbs.emplace_back(stringView(verb));
    }
  }
  return info;
}

}  // namespace

tl::expected<ResourceSpec, std::string> parseResourceSpec(std::string_view text) {
  ResourceSpec spec;
  spec.text = std::string(text);
  std::optional<std::string> problem;
  if (text.empty()) {
    problem = "it is empty; " + std::string(kForms);
  } else if (isUpper(text.front())) {
    problem = parseKindForm(text, spec);
  } else {
    problem = parsePluralForm(text, spec);
  }
  if (problem) return tl::unexpected(quoted(text) + " is not a resource name: " + *problem);
  return spec;
}

std::optional<ResourceInfo> findInResourceList(const JsonValue& list, std::string_view group,
                                               std::string_view version,
                                               const ResourceSpec& wanted) {
  const JsonValue* resources = member(list, "resources");
  if (resources == nullptr || !resources->IsArray()) return std::nullopt;
  std::optional<ResourceInfo> found;
  for (const JsonValue& entry : resources->GetArray()) {
    // Subresources carry their parent's kind ("pods/status" is a Pod): never a match.
    const std::string_view name = stringMember(entry, "name");
    if (name.find('/') != std::string_view::npos) continue;
    const bool matches = wanted.byKind() ? stringMember(entry, "kind") == wanted.kind
                                         : !name.empty() && name == wanted.resource;
    if (!matches) continue;
    found = resourceOf(entry, group, version);
    if (found) break;
  }
  if (!found) return std::nullopt;
  const std::string status = found->resource + "/status";
  found->statusSubresource =
      std::any_of(resources->Begin(), resources->End(),
                  [&](const JsonValue& entry) { return stringMember(entry, "name") == status; });
  return found;
}

std::optional<std::string> preferredVersion(const JsonValue& apiGroup) {
  if (const JsonValue* preferred = member(apiGroup, "preferredVersion")) {
    const std::string_view version = stringMember(*preferred, "version");
    if (isDnsLabel(version)) return std::string(version);
  }
  const JsonValue* versions = member(apiGroup, "versions");
  if (versions == nullptr || !versions->IsArray()) return std::nullopt;
  for (const JsonValue& entry : versions->GetArray()) {
    const std::string_view version = stringMember(entry, "version");
    if (isDnsLabel(version)) return std::string(version);
  }
  return std::nullopt;
}

namespace {

std::string_view absenceOn(Presence presence) {
  switch (presence) {
    case Presence::NotServed: return "not served by the {} any more";
    case Presence::Withdrawn: return "its CustomResourceDefinition on the {} is being deleted";
    case Presence::Served:
    case Presence::Unknown: break;
  }
  return {};
}

// `pattern` with its "{}" replaced by `side`.
std::string sayFor(std::string_view pattern, std::string_view side) {
  const std::size_t at = pattern.find("{}");
  return std::string(pattern.substr(0, at)) + std::string(side) +
         std::string(pattern.substr(at + 2));
}

}  // namespace

std::optional<std::string> whyKindGone(Presence source, Presence target) {
  const std::string_view onSource = absenceOn(source);
  const std::string_view onTarget = absenceOn(target);
  if (onSource.empty() && onTarget.empty()) return std::nullopt;
  if (onSource == onTarget) return sayFor(onSource, "source and target API servers");
  if (onTarget.empty()) return sayFor(onSource, "source API server");
  if (onSource.empty()) return sayFor(onTarget, "target API server");
  return sayFor(onSource, "source API server") + "; " + sayFor(onTarget, "target API server");
}

bool crdWithdrawing(const JsonValue& crd) {
  if (!crd.IsObject()) return false;
  if (!stringAt(crd, "/metadata/deletionTimestamp").empty()) return true;
  const JsonValue* conditions = at(crd, "/status/conditions");
  if (conditions == nullptr || !conditions->IsArray()) return false;
  return std::any_of(conditions->Begin(), conditions->End(), [](const JsonValue& condition) {
    return stringMember(condition, "type") == "Terminating" &&
           stringMember(condition, "status") == "True";
  });
}

CrdState crdStateOf(const JsonValue& crd, std::string_view version) {
  if (!crd.IsObject()) return CrdState::Unreadable;
  if (crdWithdrawing(crd)) return CrdState::Withdrawing;
  const JsonValue* versions = at(crd, "/spec/versions");
  if (versions == nullptr || !versions->IsArray()) return CrdState::Unreadable;
  for (const JsonValue& entry : versions->GetArray()) {
    if (!entry.IsObject() || stringMember(entry, "name") != version) continue;
    const JsonValue* served = member(entry, "served");
    return served != nullptr && served->IsBool() && served->GetBool() ? CrdState::Serving
                                                                      : CrdState::NotServing;
  }
  return CrdState::NotServing;
}

Presence presenceByCrd(CrdState crd) {
  switch (crd) {
    case CrdState::Withdrawing: return Presence::Withdrawn;
    case CrdState::Absent:
    case CrdState::NotServing: return Presence::NotServed;
    case CrdState::Unreadable:
    case CrdState::Serving: break;
  }
  return Presence::Served;
}

Presence presenceUndiscovered(CrdState crd) {
  switch (crd) {
    case CrdState::Withdrawing: return Presence::Withdrawn;
    case CrdState::Serving: return Presence::Unknown;
    case CrdState::Absent:
    case CrdState::Unreadable:
    case CrdState::NotServing: break;
  }
  return Presence::NotServed;
}

}  // namespace bisync::kube
