// The pieces of the Pod plugin that read or rewrite a Pod spec: its shape check, the references
// it makes to other objects, the service-account token volume and the host features it asks
// for. Internal to translators/pod/ (PodTranslator is the interface). Pure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncer/kube/json.hpp"
#include "translators/pod/pod_options.hpp"

namespace bisync::translators::pod {

using kube::JsonValue;

// Where the service-account admission mounts a Pod's token (both the legacy Secret volume of
// Kubernetes <= 1.20 and the projected kube-api-access-* volume of later versions).
inline constexpr std::string_view kTokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

// The container lists of a spec that the host Pod has, each checked and walked the same way.
// Not ephemeralContainers: the API refuses them on create (they are added through the
// ephemeralcontainers subresource), so the host Pod never has them.
inline constexpr std::string_view kContainerLists[] = {"containers", "initContainers"};

// The ConfigMap every cluster publishes in every namespace (its CA bundle); it never syncs.
inline constexpr std::string_view kRootCaConfigMap = "kube-root-ca.crt";

// Empty when every field the plugin reads has the type the API gives it; else the first one
// that does not, as a message naming its JSON pointer ("/spec/volumes/0/name is not a string").
std::string shapeProblem(const JsonValue& spec);

// The resource of a referenced object ("configmaps", "secrets", "persistentvolumeclaims").
// `name` is the JSON string holding the object's name (non-empty).
using ReferenceVisitor =
    std::function<void(std::string_view resource, const JsonValue& name, bool optional)>;
using MutableReferenceVisitor =
    std::function<void(std::string_view resource, JsonValue& name, bool optional)>;

// Every name of a ConfigMap, Secret or PVC the spec references (but kRootCaConfigMap: the
// target has its own) (volumes, projected sources,
// volume plugins' secret references, imagePullSecrets, env valueFrom, envFrom of every
// container list), in spec order, skipping the volume named `skipVolume`. The spec's shape must
// have been checked (shapeProblem).
void visitReferences(const JsonValue& spec, std::string_view skipVolume,
                     const ReferenceVisitor& visit);
void visitReferences(JsonValue& spec, std::string_view skipVolume,
                     const MutableReferenceVisitor& visit);

// The name of the volume that holds the Pod's service-account token (mounted at
// kTokenMountPath by some container, a Secret volume or a projected one with a
// serviceAccountToken source); nullopt when automountServiceAccountToken is false or there is
// none.
std::optional<std::string> tokenVolumeName(const JsonValue& spec);

// Volumes and projected sources of the ConfigMap kRootCaConfigMap read the Secret `tokenSecret`
// instead (same key ca.crt): on the host that ConfigMap is the host's CA, and the token Secret
// holds the virtual cluster's.
void redirectRootCa(JsonValue& spec, std::string_view tokenSecret,
                    kube::Json::AllocatorType& allocator);

// Why the Pod may not run on the host as it is: each host feature it asks for that `options`
// does not allow ("privileged (container app)"), and each projected service-account token
// other than the one in `tokenVolume` (the host would issue it, for the host's service account).
std::vector<std::string> refusals(const JsonValue& spec, const PodOptions& options,
                                  std::string_view tokenVolume);

}  // namespace bisync::translators::pod

namespace bisync::translators::pod {

// Points the downward API (env valueFrom.fieldRef, downwardAPI volumes and projected sources)
// at what the virtual Pod has where the host Pod differs: its name, namespace and uid (the
// origin annotations of the host Pod hold them) and its labels of rewritten keys.
void rewriteFieldRefs(JsonValue& spec, kube::Json::AllocatorType& allocator);

}  // namespace bisync::translators::pod

namespace bisync::mapping {
class IdentityMapper;
}

namespace bisync::translators::pod {

// The label selectors of the spec (pod affinity and anti-affinity terms, topology spread
// constraints) select on the host what they select in the virtual namespace `ns`: reserved
// label keys rewritten, a term's `namespaces` mapped to the target namespaces, and in single
// mode, where every source namespace shares one target namespace, each selector narrowed to
// the Pods of its source namespaces by the origin label kube-bisync.io/source-namespace.
void translateSelectors(JsonValue& spec, std::string_view ns, const mapping::IdentityMapper& mapper,
                        kube::Json::AllocatorType& allocator);

}  // namespace bisync::translators::pod
