// The generic translator: any kind without a plugin of its own (Deployments, custom resources,
// ...). It copies the object as the source holds it, minus what only the source's API server
// may set (uid, resourceVersion, generation, creationTimestamp, managedFields, selfLink,
// deletionTimestamp, ownerReferences, finalizers) and minus status: the policy decides whether
// status travels, and which way (the default policy of a generic kind sends it up, through the
// status subresource when the kind has one). Names are mapped and origin metadata stamped as for
// every kind (translators/internal/object_copy.hpp). The built-in plugins are generic
// translators too, with what is special about their kind. docs/translators.md has the rules.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "translators/internal/object_copy.hpp"
#include "translators/translator.hpp"

namespace bisync::translators {

// What a plugin knows of its kind's content beyond "copy it": the generic copy of every other
// kind has none of it. Both lists are static arrays that outlive the translator.
struct KindContent {
  // Fields whose type the API fixes: one of the wrong type is a Decode error naming it, an
  // empty map or string is omitted as the server omits it, and they come first in the copy,
  // in this order (the rest of the content follows in the source's order).
  std::span<const internal::ContentField> checked;
  // Write-only fields the server folds into others and never returns (a Secret's
  // stringData): never copied, or the target would always look drifted.
  std::span<const std::string_view> writeOnly;
};

// Plugins (ConfigMap, Secret) derive from it with their KindContent and add their skip rules
// (shouldSync) and anything else special about their kind (holdsSecrets).
class GenericTranslator : public Translator {
 public:
  // `resource` as the target's discovery serves it.
  explicit GenericTranslator(kube::ResourceInfo resource, KindContent content = {});

  const kube::ResourceInfo& resource() const final { return resource_; }
  mapping::NameLimit nameLimit() const final { return mapping::kSubdomainName; }
  // Every object of a generic kind syncs; plugins narrow this.
  bool shouldSync(const JsonValue& source) const override;
  kube::Result<Json> toTarget(const JsonValue& source,
                              const mapping::IdentityMapper& mapper) const final;

 private:
  bool copiedAsItIs(std::string_view member) const;

  kube::ResourceInfo resource_;
  KindContent content_;
};

// Why kube-bisync must not sync `kind` with the generic translator, if it must not: kinds the
// engine handles itself (Namespace), kinds that only make sense in the cluster that made them
// (Node, Event, Lease). nullopt: it may. (A Pod has a plugin of its own, translators/pod/.)
std::optional<std::string> genericRefusal(const kube::GroupVersionKind& kind);
// The same for a resource named only by its plural name and group ("pods", "leases").
std::optional<std::string> genericRefusal(std::string_view group, std::string_view resource);

}  // namespace bisync::translators
