#include "translators/generic/generic_translator.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace bisync::translators {
namespace {

// Top-level members that are not content: the identity the translation writes itself, and
// status, which the policy moves on its own (through the status subresource where there is one).
constexpr std::array<std::string_view, 4> kNotContent = {"apiVersion", "kind", "metadata",
                                                         "status"};

struct Refused {
  std::string_view group;
  std::string_view kind;
  std::string_view resource;
  std::string_view why;
};

constexpr std::array<Refused, 6> kRefused{{
    {"", "Namespace", "namespaces", "the sync engine creates target namespaces itself"},
    {"", "Node", "nodes", "a Node describes a machine of its own cluster"},
    {"", "Event", "events", "an Event reports on an object of its own cluster"},
    {"events.k8s.io", "Event", "events", "an Event reports on an object of its own cluster"},
    {"coordination.k8s.io", "Lease", "leases",
     "a Lease is a lock among the components of its own cluster"},
    {"apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions",
     "definitions are copied by a policy's `crd` setting, not synced as objects"},
}};

}  // namespace

GenericTranslator::GenericTranslator(kube::ResourceInfo resource, KindContent content)
    : resource_(std::move(resource)), content_(content) {}

bool GenericTranslator::shouldSync(const JsonValue&) const { return true; }

// Content members copied verbatim: all but the identity and status, the checked fields
// (translateObject copied them already) and write-only fields.
bool GenericTranslator::copiedAsItIs(std::string_view member) const {
  const auto named = [member](std::string_view name) { return name == member; };
  const auto checkedNamed = [member](const internal::ContentField& field) {
    return field.name == member;
  };
  return std::none_of(kNotContent.begin(), kNotContent.end(), named) &&
         std::none_of(content_.writeOnly.begin(), content_.writeOnly.end(), named) &&
         std::none_of(content_.checked.begin(), content_.checked.end(), checkedNamed);
}

kube::Result<Json> GenericTranslator::toTarget(const JsonValue& source,
                                               const mapping::IdentityMapper& mapper) const {
  // The identity, labels, annotations and origin metadata, checked as for every kind, and the
  // kind's checked fields.
  kube::Result<Json> target =
      internal::translateObject(source, mapper, resource_, nameLimit(), content_.checked);
  if (!target) return target;
  auto& allocator = target->GetAllocator();
  for (const auto& member : source.GetObject()) {
    if (member.value.IsNull() || !copiedAsItIs(kube::stringView(member.name))) continue;
    target->AddMember(JsonValue(member.name, allocator), JsonValue(member.value, allocator),
                      allocator);
  }
  return target;
}

std::optional<std::string> genericRefusal(const kube::GroupVersionKind& kind) {
  for (const Refused& refused : kRefused) {
    if (refused.group == kind.group && refused.kind == kind.kind) return std::string(refused.why);
  }
  return std::nullopt;
}

std::optional<std::string> genericRefusal(std::string_view group, std::string_view resource) {
  for (const Refused& refused : kRefused) {
    if (refused.group == group && refused.resource == resource) return std::string(refused.why);
  }
  return std::nullopt;
}

}  // namespace bisync::translators
