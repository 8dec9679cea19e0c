#include "translators/pod/pod_names.hpp"

#include "mapping/names.hpp"

namespace bisync::translators {

std::string tokenSecretName(std::string_view hostPodName) {
  return mapping::fitName(std::string(hostPodName) + "-sa-token", mapping::kSubdomainName);
}

}  // namespace bisync::translators
