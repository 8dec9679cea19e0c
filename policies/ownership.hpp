// Field ownership of one policy: which rule governs each field of an object, and the projection
// of an object onto one owner, i.e. the fields that side contributes. A field is a leaf of the
// object: walking it, objects recurse and everything else (strings, numbers, booleans, arrays)
// is one field, so a map key under /metadata/labels/* is the field /metadata/labels/<key> and an
// array is owned as a whole (rules below an array never apply). Unset values (null, {}) are
// never fields. Pure, no I/O; immutable after construction, so it may be shared freely.
#pragma once

#include <string>
#include <vector>

#include "policies/policy.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::policies {

class OwnershipMap {
 public:
  explicit OwnershipMap(std::vector<FieldRule> rules);

  // The most specific rule covering `field` (unescaped segments), nullptr when none does. Two
  // different rules of equal specificity never both cover one field (that would need the same
  // segments, i.e. the same path twice, which the loader refuses); should it happen anyway, the
  // first in file order wins, so the answer never depends on anything but the file.
  const FieldRule* ruleFor(const std::vector<std::string>& field) const;
  // The owner of the most specific covering rule; Owner::Ignore when no rule covers the field.
  Owner ownerOf(const std::vector<std::string>& field) const;

  const std::vector<FieldRule>& rules() const { return rules_; }

 private:
  std::vector<FieldRule> rules_;
};

// The sub-object of `object` holding exactly the fields whose owner is `owner`: what that side
// contributes. Objects left without fields are dropped, members are sorted by key (so equal
// projections serialise to equal text, fit for hashing), and a non-object input gives {}.
kube::Json projection(const kube::JsonValue& object, Owner owner, const OwnershipMap& ownership);

// A copy of `object` whose `owner` fields are exactly those of `ownedFields` (other fields of
// `ownedFields` are not taken): e.g. a full desired object from the current one and a merge
// result. Objects that lose their last field are dropped; objects that were already empty stay.
// Where a field of `ownedFields` needs an object at a path that holds another owner's value (or
// the reverse: a field changed between object and non-object), the `ownedFields` value replaces
// it. Member order of `object` is kept; new members come after.
kube::Json withProjection(const kube::JsonValue& object, Owner owner,
                          const kube::JsonValue& ownedFields, const OwnershipMap& ownership);

}  // namespace bisync::policies
