// Names of the objects the syncer makes on the host for a synced Pod, besides the Pod itself.
// Shared by the Pod translator (which mounts them) and the engine (which writes them). Pure.
#pragma once

#include <string>
#include <string_view>

namespace bisync::translators {

// The host Secret that holds the service-account token the syncer requested from the virtual
// API server for the host Pod `hostPodName` (with the virtual cluster's CA and the namespace).
// Host Pod names are unique in their namespace, so this name is too; a name that would be too
// long is shortened with mapping::fitName's stable hash.
std::string tokenSecretName(std::string_view hostPodName);

}  // namespace bisync::translators
