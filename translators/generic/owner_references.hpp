// Owner references of a target copy, as a pure function of the source's references. A source
// object's ownerReferences name objects of the source cluster by uid, which mean nothing on the
// target. A reference to an owner whose target copy exists is rewritten to that copy (its kind as
// the target serves it, its name and its uid there), so that the target's garbage collector
// deletes the copies of the children with the copy of their parent, as the source's does; the
// others are dropped (the syncer manages the copy's lifetime itself). `controller` and
// `blockOwnerDeletion` are kept. Which owners have a copy is the caller's to say (the engine
// looks in its caches: syncer/engine/owner_references.cpp). docs/translators.md, "Owner
// references".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::translators {

// An owner as a source reference names it (all four are required by the API).
struct SourceOwner {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
};

// The target copy of an owner.
struct TargetOwner {
  std::string apiVersion;  // as the target serves the owner's kind ("apps/v1")
  std::string kind;
  std::string name;  // the mapped name
  std::string uid;   // the copy's uid on the target
};

// The owner's target copy, or nullopt when it has none (its kind is not synced, or its copy is
// not there yet).
using TargetOwnerLookup = std::function<std::optional<TargetOwner>(const SourceOwner&)>;

struct RewrittenOwners {
  kube::Json references{rapidjson::kArrayType};  // the copy's metadata.ownerReferences
  std::vector<SourceOwner> unresolved;           // well-formed references lookup had no copy for
};

// The target's ownerReferences for the source's `references` (anything but an array counts as
// none): one per owner uid, since server-side apply keys the list by uid (the first reference
// to a uid wins), in the source's order. Entries that are not objects or lack apiVersion, kind,
// name or uid are dropped and not listed: the API server never returns them.
RewrittenOwners rewriteOwnerReferences(const kube::JsonValue& references,
                                       const TargetOwnerLookup& lookup);

}  // namespace bisync::translators
