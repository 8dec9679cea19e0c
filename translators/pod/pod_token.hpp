// The service-account token of a synced Pod, as pure functions: which token a source Pod would
// get from its own cluster's kubelet, the TokenRequest the syncer sends to the source (virtual)
// API server for it, and the host Secret it is stored in. The engine does the I/O
// (syncer/engine/pod_tokens.cpp); docs/workloads.md, "Service-account tokens".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::translators {

// Where a Pod's service-account token is mounted, in every container that mounts one.
inline constexpr std::string_view kServiceAccountMountPath =
    "/var/run/secrets/kubernetes.io/serviceaccount";
// The annotation on the host token Secret: when (Unix seconds) its token is to be refreshed. It
// lets a restarted syncer know without asking the source API server for a new token.
inline constexpr std::string_view kTokenRefreshAnnotation = "kube-bisync.io/token-refresh-at";

// The service account whose token the source Pod `pod` mounts: its serviceAccountName ("default"
// when unset), when a container mounts a volume at kServiceAccountMountPath. nullopt when no
// container does (automountServiceAccountToken: false, or the admission of the source cluster
// added no token volume).
std::optional<std::string> mountedServiceAccount(const kube::JsonValue& pod);

// The TokenRequest (authentication.k8s.io/v1) for a token bound to the source Pod `pod`: it is
// valid only while that Pod exists, for `audiences` (none: the API server's own) and
// `expirationSeconds`.
kube::Json tokenRequestOf(const kube::JsonValue& pod, const std::vector<std::string>& audiences,
                          std::int64_t expirationSeconds);

struct TokenSecretInputs {
  std::string name;         // tokenSecretName(host Pod name)
  std::string hostNs;       // the host Pod's namespace
  std::string hostPodName;  // the owner: the Secret goes with the host Pod
  std::string hostPodUid;
  std::string token;
  std::string caPem;       // the source (virtual) cluster's CA, for ca.crt
  std::string podNs;       // the source Pod's namespace, for the `namespace` key
  std::int64_t refreshAt;  // Unix seconds
  std::string managedBy;   // the syncer's cluster name, for the managed-by label
};
// The host Secret (keys token, ca.crt and namespace, as a service-account token volume has them),
// owned by the host Pod so that the host's garbage collector deletes it with the Pod.
kube::Json tokenSecretOf(const TokenSecretInputs& inputs);

// When a token issued at `issuedAt` for `lifetime` is refreshed: at 80 % of its life, as the
// kubelet does, so a workload never reads an expired one.
std::int64_t tokenRefreshAt(std::int64_t issuedAt, std::int64_t lifetime);

// The refresh time a host token Secret carries, if it is one of ours for the host Pod `hostPodUid`
// (controller owner reference to it, the annotation an integer); nullopt otherwise.
std::optional<std::int64_t> storedRefreshAt(const kube::JsonValue& secret,
                                            std::string_view hostPodUid);
// The Secret's owner references name the host Pod `hostPodUid`: a Secret of this name that does
// not is not ours, and is never written.
bool ownedByHostPod(const kube::JsonValue& secret, std::string_view hostPodUid);

}  // namespace bisync::translators
