// What every translator does the same way: check the source's shape, map its name and
// namespace, copy its labels and annotations minus the syncer's own keys, stamp the origin
// metadata, and copy (with their types checked) the content fields a plugin lists. The
// GenericTranslator calls it, then copies the rest of the content. Pure functions, safe from
// any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "mapping/identity_mapper.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"

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

}  // namespace bisync::translators::internal
