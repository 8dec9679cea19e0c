#include "translators/pod/pod_options.hpp"

#include <arpa/inet.h>

#include <array>
#include <string>

#include "mapping/names.hpp"

namespace bisync::translators {
namespace {

struct NamedFeature {
  HostFeature feature;
  std::string_view name;
};

// The names are the Pod spec's own field names (privileged, hostPath, hostNetwork, ...), so a
// policy reads like the spec it is about.
constexpr std::array<NamedFeature, 7> kFeatureNames{{
    {HostFeature::Privileged, "privileged"},
    {HostFeature::HostPath, "hostPath"},
    {HostFeature::HostNetwork, "hostNetwork"},
    {HostFeature::HostPID, "hostPID"},
    {HostFeature::HostIPC, "hostIPC"},
    {HostFeature::HostPorts, "hostPorts"},
    {HostFeature::Capabilities, "capabilities"},
}};

kube::Error invalid(std::string_view field, std::string message) {
  return kube::configError("PodOptions." + std::string(field), std::move(message));
}

}  // namespace

std::string_view hostFeatureName(HostFeature feature) {
  for (const NamedFeature& named : kFeatureNames) {
    if (named.feature == feature) return named.name;
  }
  return "unknown";
}

std::optional<HostFeature> parseHostFeature(std::string_view name) {
  for (const NamedFeature& named : kFeatureNames) {
    if (named.name == name) return named.feature;
  }
  return std::nullopt;
}

// inet_pton is pure (no I/O, no locale): it only parses.
bool isIpAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  const std::string copy(text);
  std::array<unsigned char, 16> address{};
  return inet_pton(AF_INET, copy.c_str(), address.data()) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), address.data()) == 1;
}

kube::Result<void> validate(const PodOptions& options) {
  if (!options.virtualDnsServer.empty() && !isIpAddress(options.virtualDnsServer)) {
    return kube::fail(
        invalid("virtualDnsServer", "\"" + options.virtualDnsServer + "\" is not an IP address"));
  }
  if (!options.virtualApiServerAddress.empty() && !isIpAddress(options.virtualApiServerAddress)) {
    return kube::fail(invalid("virtualApiServerAddress",
                              "\"" + options.virtualApiServerAddress + "\" is not an IP address"));
  }
  if (!mapping::isDnsSubdomain(options.clusterDomain)) {
    return kube::fail(
        invalid("clusterDomain", "\"" + options.clusterDomain + "\" is not a DNS subdomain"));
  }
  if (!mapping::isValidName(options.hostServiceAccount, mapping::kSubdomainName)) {
    return kube::fail(invalid("hostServiceAccount", "\"" + options.hostServiceAccount +
                                                        "\" is not a service account name"));
  }
  for (const std::string& audience : options.tokenAudiences) {
    if (audience.empty()) return kube::fail(invalid("tokenAudiences", "an audience is empty"));
  }
  return {};
}

}  // namespace bisync::translators
