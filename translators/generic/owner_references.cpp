#include "translators/generic/owner_references.hpp"

#include <set>
#include <string_view>
#include <utility>

namespace bisync::translators {
namespace {

using kube::Json;
using kube::JsonValue;

// The owner `reference` names, or nullopt when it is malformed.
std::optional<SourceOwner> sourceOwnerOf(const JsonValue& reference) {
  if (!reference.IsObject()) return std::nullopt;
  SourceOwner owner{std::string(kube::stringMember(reference, "apiVersion")),
                    std::string(kube::stringMember(reference, "kind")),
                    std::string(kube::stringMember(reference, "name")),
                    std::string(kube::stringMember(reference, "uid"))};
  if (owner.apiVersion.empty() || owner.kind.empty() || owner.name.empty() || owner.uid.empty()) {
    return std::nullopt;
  }
  return owner;
}

// The reference to `copy`, with the source reference's flags.
JsonValue referenceTo(const TargetOwner& copy, const JsonValue& reference,
                      Json::AllocatorType& allocator) {
  JsonValue out(rapidjson::kObjectType);
  out.AddMember("apiVersion", kube::stringValue(copy.apiVersion, allocator), allocator);
  out.AddMember("kind", kube::stringValue(copy.kind, allocator), allocator);
  out.AddMember("name", kube::stringValue(copy.name, allocator), allocator);
  out.AddMember("uid", kube::stringValue(copy.uid, allocator), allocator);
  for (const char* flag : {"controller", "blockOwnerDeletion"}) {
    const JsonValue* value = kube::member(reference, flag);
    if (value != nullptr && value->IsBool()) {
      out.AddMember(JsonValue(flag, allocator), JsonValue(value->GetBool()), allocator);
    }
  }
  return out;
}

}  // namespace

RewrittenOwners rewriteOwnerReferences(const JsonValue& references,
                                       const TargetOwnerLookup& lookup) {
  RewrittenOwners rewritten;
  if (!references.IsArray()) return rewritten;
  auto& allocator = rewritten.references.GetAllocator();
  std::set<std::string> seen;
  for (const JsonValue& reference : references.GetArray()) {
    std::optional<SourceOwner> owner = sourceOwnerOf(reference);
    if (!owner || !seen.insert(owner->uid).second) continue;
    if (const std::optional<TargetOwner> copy = lookup(*owner)) {
      rewritten.references.PushBack(referenceTo(*copy, reference, allocator), allocator);
    } else {
      rewritten.unresolved.push_back(std::move(*owner));
    }
  }
  return rewritten;
}

}  // namespace bisync::translators
