// What every built-in translator does the same way: check the source's shape, map its name and
// namespace, copy its labels and annotations minus the syncer's own keys, stamp the origin
// metadata, and copy the kind's content fields. A plugin only lists its fields and decides
// what it skips. Pure functions, safe from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "translators/translator.hpp"

namespace bisync::translators::internal {

enum class FieldType {
  StringMap,  // an object whose values are strings ("data"); omitted when empty
  String,     // omitted when empty
  Bool,
};

struct ContentField {
  std::string_view name;
  FieldType type;
};

// The desired target object of `source` (see Translator::toTarget): apiVersion and kind of
// `resource`, metadata.name/namespace from mapper.toTarget(SourceKey, limit), labels and
// annotations copied without the keys above, the origin metadata, then each field of
// `fields` that the source has (null counts as absent), in that order. Anything whose type
// the API does not allow (the object, metadata, labels, annotations, a field; a missing
// name, namespace of a namespaced kind, or uid) is a Decode error naming the field.
kube::Result<kube::Json> translateObject(const kube::JsonValue& source,
                                         const mapping::IdentityMapper& mapper,
                                         const kube::ResourceInfo& resource,
                                         mapping::NameLimit limit,
                                         std::span<const ContentField> fields);

// A Translator that copies `fields` of `resource` with translateObject: a plugin derives from
// it, passes its resource and (static) field list, and says which objects it skips.
class FieldCopyTranslator : public Translator {
 public:
  FieldCopyTranslator(kube::ResourceInfo resource, std::span<const ContentField> fields);

  const kube::ResourceInfo& resource() const final { return resource_; }
  mapping::NameLimit nameLimit() const final { return mapping::kSubdomainName; }
  kube::Result<kube::Json> toTarget(const kube::JsonValue& source,
                                    const mapping::IdentityMapper& mapper) const final;

 private:
  kube::ResourceInfo resource_;
  std::span<const ContentField> fields_;  // must outlive the translator (a static array)
};

}  // namespace bisync::translators::internal
