// The generic translator: any kind without a plugin of its own (Deployments, custom resources,
// ...). It copies the object as the source holds it, minus what only the source's API server
// may set (uid, resourceVersion, generation, creationTimestamp, managedFields, selfLink,
// deletionTimestamp, ownerReferences, finalizers) and minus status: the policy decides whether
// status travels, and which way (the default policy of a generic kind sends it up, through the
// status subresource when the kind has one). Names are mapped and origin metadata stamped as for
// every kind (translators/internal/object_copy.hpp). docs/translators.md has the rules.
#pragma once

#include <optional>
#include <string>

#include "translators/translator.hpp"

namespace bisync::translators {

class GenericTranslator final : public Translator {
 public:
  // `resource` as the target's discovery serves it.
  explicit GenericTranslator(kube::ResourceInfo resource);

  const kube::ResourceInfo& resource() const override { return resource_; }
  mapping::NameLimit nameLimit() const override { return mapping::kSubdomainName; }
  bool shouldSync(const JsonValue& source) const override;
  kube::Result<Json> toTarget(const JsonValue& source,
                              const mapping::IdentityMapper& mapper) const override;

 private:
  kube::ResourceInfo resource_;
};

// Why kube-bisync must not sync `kind` with the generic translator, if it must not: kinds the
// engine handles itself (Namespace), kinds that only make sense in the cluster that made them
// (Node, Event, Lease) and kinds that need a plugin not written yet (Pod). nullopt: it may.
std::optional<std::string> genericRefusal(const kube::GroupVersionKind& kind);
// The same for a resource named only by its plural name and group ("pods", "leases").
std::optional<std::string> genericRefusal(std::string_view group, std::string_view resource);

}  // namespace bisync::translators
