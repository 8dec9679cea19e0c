// Translators: one plugin per resource kind that knows the kind's shape: which objects never
// sync, and whether a source object is well-formed, by turning it into a target copy. The engine
// only sees this interface and the Registry; each plugin lives in translators/<kind>/ and is added
// by registerBuiltins() (static self-registration would be dropped by the linker from a static
// library).
//
// A translator is pure: no I/O, no state that changes after construction; objects passed in
// belong to the caller. So a const Translator may be shared by threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "translators/pod/pod_options.hpp"

namespace bisync::translators {

using kube::Json;
using kube::JsonValue;

// An object a source object needs on the target before its copy can work there: the ConfigMaps,
// Secrets and PersistentVolumeClaims a Pod mounts or reads. It is in the source object's
// namespace and named as on the source; the engine looks for its copy (mapped name) in the
// target cache of `resource` when that kind is synced, and holds the dependent copy back
// (SyncWaiting, naming what is missing) until it is there.
struct Dependency {
  std::string resource;   // plural of a core v1 kind: "configmaps", "secrets", ...
  std::string name;       // as on the source
  bool optional = false;  // marked optional by the reference: nothing waits for it

  bool operator==(const Dependency&) const = default;
};

// Why a well-formed source object may not have a copy on the target: the policy does not let
// it do there what it asks (a privileged Pod, a hostPath volume). The engine reports it as
// SyncRejected on the source and writes nothing; a change of the source or the policy is
// needed.
inline constexpr std::string_view kRefusedReason = "Refused";

class Translator {
 public:
  virtual ~Translator() = default;

  // The resource this plugin translates ("configmaps" in v1, namespaced).
  virtual const kube::ResourceInfo& resource() const = 0;
  // The name rule of the kind on the target (mapping::kSubdomainName for most kinds).
  virtual mapping::NameLimit nameLimit() const = 0;

  // True when the kind's content is secret (Secret): its values never appear in logs, Events,
  // the sync-status annotation or the merge base; digests stand in for them.
  virtual bool holdsSecrets() const { return false; }

  // False for source objects that are never synced (a Secret of type
  // kubernetes.io/service-account-token, the per-namespace kube-root-ca.crt ConfigMap).
  virtual bool shouldSync(const JsonValue& source) const = 0;

  // The target copy of `source` as the kind's plugin sees it. The engine calls it to check a
  // source before anything is written (its Decode errors become SyncFailed Events); which
  // fields then travel, and to which side, is the policy's (policies/), so the result itself
  // is not what gets applied. It holds apiVersion, kind, metadata (mapped name and namespace, the
  // source's labels and annotations minus kube-bisync.io/* and
  // kubectl.kubernetes.io/last-applied-configuration, plus the origin metadata from
  // mapper.stampOrigin) and the kind's content fields. Never runtime fields (uid,
  // resourceVersion, generation, managedFields, creationTimestamp, deletionTimestamp,
  // ownerReferences, finalizers, selfLink) and no status. Not the last-synced annotation:
  // the reconciler adds that. Content fields are copied only when the source has them (null
  // counts as absent) and a plugin's checked fields are omitted when empty, so the result
  // equals what the target's API server returns for it. A Decode error (origin "<Kind>
  // <ns>/<name>", message naming the JSON pointer) when the source is malformed: not an object;
  // metadata.name, the namespace of a namespaced kind or metadata.uid missing; labels, annotations
  // or a content field of the wrong type.
  // A refusal (not a malformation) is an error of kind Config with reason kRefusedReason.
  virtual kube::Result<Json> toTarget(const JsonValue& source,
                                      const mapping::IdentityMapper& mapper) const = 0;

  // The objects `source` needs on the target first (see Dependency); none for most kinds.
  virtual std::vector<Dependency> dependencies(const JsonValue& /*source*/) const { return {}; }

  // The target object `target` as the source should see it: what the policy gives the target
  // (status) travels up from this view, never from `target` itself. A plugin changes only
  // target-owned fields here (a Pod drops the statuses of containers the source never had);
  // the default is `target` unchanged.
  virtual Json toSourceView(const JsonValue& target, const JsonValue& /*source*/) const {
    Json view;
    view.CopyFrom(target, view.GetAllocator());
    return view;
  }
};

// Plugins by resource ("configmaps") and by group/version/kind. Built once at start-up, then
// read-only. A resource is known by its plural name alone (what findByResource takes), so one
// plural cannot be registered for two groups.
class Registry {
 public:
  // Throws std::logic_error for a null translator or when its resource or kind is already
  // registered (a programming error in registerBuiltins).
  void add(std::unique_ptr<Translator> translator);
  const Translator* findByResource(std::string_view resource) const;  // nullptr if none
  const Translator* findByKind(const kube::GroupVersionKind& gvk) const;
  std::vector<std::string> resourceNames() const;     // registration order
  std::vector<kube::GroupVersionKind> kinds() const;  // registration order

 private:
  std::vector<std::unique_ptr<Translator>> translators_;
};

// Adds every built-in plugin: configmaps, secrets, pods (translated with `pods`: the daemon fills
// it from its flags and the Pod policy).
void registerBuiltins(Registry& registry, const PodOptions& pods = {});

}  // namespace bisync::translators
