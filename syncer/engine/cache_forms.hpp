// What the informers of one synced resource keep of each object (their transforms), so that
// both caches together cost little more than one copy of the synced data:
//
//   - source objects: identity (name, namespace, uid, resourceVersion, deletionTimestamp),
//     creationTimestamp (limits rank objects by age), labels, annotations, owner references,
//     finalizers and content; managedFields only when the policy has `owner: both` fields
//     (compactly: the merge asks who wrote a field, and when);
//   - target objects of this instance: identity, the managed-by label and the syncer's own
//     annotations (origin, last-synced, merge base), the fields the target owns or shares (they
//     travel to the source or merge), and, in place of the rest of what the syncer writes there
//     (the source-owned fields, the other origin labels), its digest (writtenDigest);
//   - other target objects: identity and their managed-by label only, which is enough to know
//     that a name is taken and by whom; under a createOnSource policy the whole object (without
//     managedFields), since it may flow up to the source.
//
// Pure functions of objects, no I/O.
#pragma once

#include <string>
#include <string_view>

#include "mapping/identity_mapper.hpp"
#include "policies/ownership.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::engine {

// The fields of an object that may travel, in the coordinates of policy paths: everything but
// apiVersion, kind and metadata, and of metadata only labels and annotations, without the
// syncer's own keys and kubectl's last-applied-configuration.
kube::Json syncView(const kube::JsonValue& object);

// The SHA-256 (64 hex digits) of what the syncer writes of a target object: its source-owned
// and `both` fields (sync view coordinates), its origin labels and annotations and its merge
// base (not last-synced itself, nor kube-bisync.io/ keys the syncer does not write). Equal for the
// apply configuration the syncer would send and a target object that holds exactly that, whatever
// else the object holds. The last-synced annotation carries "sha256:" + the hash of what was
// applied; a compact target copy the first 32 digits of the hash of what it holds (writtenDigest).
std::string writtenHash(const kube::JsonValue& object, const policies::OwnershipMap& ownership);
// The 128-bit digest of a writtenHash: its first 32 hex digits.
std::string_view writtenDigest(std::string_view hash);
// "sha256:<hash>": the last-synced annotation's value for a writtenHash.
std::string lastSyncedValue(std::string_view hash);

// The digest a compacted target object carries; for one that was not compacted, the digest of
// its writtenHash.
std::string storedWrittenDigest(const kube::JsonValue& object,
                                const policies::OwnershipMap& ownership);

struct CacheForms {
  const mapping::IdentityMapper* mapper = nullptr;
  const policies::OwnershipMap* ownership = nullptr;
  bool keepFieldOwners = false;     // the policy has `owner: both` fields
  bool keepForeignContent = false;  // createOnSource: objects made on the target may flow up

  void compactSource(kube::Json& object) const;
  void compactTarget(kube::Json& object) const;
};

}  // namespace bisync::engine
