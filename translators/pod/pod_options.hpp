// What the Pod plugin needs to know about the virtual cluster and the host to turn a virtual Pod
// into a host Pod: where the virtual cluster's DNS and API server answer, which host service
// account the host Pods run under, and which host-level features the Pod policy allows. Filled
// by main.cpp from the flags (--virtual-dns-server, --virtual-apiserver-address,
// --cluster-domain, --host-service-account, --token-audiences) and the Pod policy's
// `hostFeatures.allow`. docs/workloads.md has the rules. Pure.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "syncer/kube/error.hpp"

namespace bisync::translators {

// A host-level feature a Pod can ask for: what it may do on the host is the host's decision, not
// the tenant's, so each one is refused unless the Pod policy allows it.
enum class HostFeature {
  Privileged,    // a container's securityContext.privileged: true
  HostPath,      // a hostPath volume
  HostNetwork,   // spec.hostNetwork: true
  HostPID,       // spec.hostPID: true
  HostIPC,       // spec.hostIPC: true
  HostPorts,     // a container port with a hostPort (other than the one hostNetwork implies)
  Capabilities,  // a container's securityContext.capabilities.add not empty
};

// Every feature, in the order above (what error messages and docs list).
inline constexpr HostFeature kHostFeatures[] = {
    HostFeature::Privileged,   HostFeature::HostPath, HostFeature::HostNetwork,
    HostFeature::HostPID,      HostFeature::HostIPC,  HostFeature::HostPorts,
    HostFeature::Capabilities,
};

// The policy's name of a feature: "privileged", "hostPath", "hostNetwork", "hostPID", "hostIPC",
// "hostPorts", "capabilities".
std::string_view hostFeatureName(HostFeature feature);
// The feature of a policy name (exact, case-sensitive); nullopt for an unknown name.
std::optional<HostFeature> parseHostFeature(std::string_view name);

// True for a literal IPv4 (dotted quad) or IPv6 address, what the DNS server and API server
// address flags take (a host Pod's dnsConfig and hostAliases take addresses, not names).
bool isIpAddress(std::string_view text);

struct PodOptions {
  // The virtual cluster's DNS server (the ClusterIP of its kube-dns Service), the nameserver of
  // every host Pod. Empty: the DNS rule is not applied and host Pods keep the DNS policy the
  // tenant wrote (the host's DNS answers them, which knows none of the virtual Services).
  std::string virtualDnsServer;
  // The virtual cluster's DNS domain: the search path is <ns>.svc.<domain>, svc.<domain>,
  // <domain>.
  std::string clusterDomain = "cluster.local";
  // The address host Pods reach the virtual API server at; the host Pods' hostAliases map
  // kubernetes, kubernetes.default, kubernetes.default.svc and kubernetes.default.svc.<domain>
  // to it. Empty: no hostAliases are added.
  std::string virtualApiServerAddress;
  // The host service account every host Pod runs under (with automountServiceAccountToken:
  // false, so it carries no host credentials). "default": every namespace has one, and the
  // host's RBAC gives it nothing unless the host's operator says so.
  std::string hostServiceAccount = "default";
  // The audiences of the tokens the engine requests from the virtual API server for a Pod.
  // Empty: none are named, so the virtual API server issues its own default audience (its
  // --api-audiences, else its issuer), which it accepts itself. Not used by the translation.
  std::vector<std::string> tokenAudiences;
  // The host features the Pod policy allows (`hostFeatures.allow`); none by default.
  std::set<HostFeature> allowedHostFeatures;

  bool allows(HostFeature feature) const { return allowedHostFeatures.contains(feature); }
};

// Config errors naming the field ("PodOptions.virtualDnsServer: ... is not an IP address"):
// addresses that are not IP addresses, a cluster domain that is not a DNS subdomain, a host
// service account that is not a valid name, an empty audience.
kube::Result<void> validate(const PodOptions& options);

}  // namespace bisync::translators
