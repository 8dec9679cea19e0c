#include <memory>

#include "translators/configmap/configmap_translator.hpp"
#include "translators/pod/pod_translator.hpp"
#include "translators/secret/secret_translator.hpp"
#include "translators/translator.hpp"

namespace bisync::translators {

// One line per built-in kind; resourceNames() keeps this order.
void registerBuiltins(Registry& registry, const PodOptions& pods) {
  registry.add(std::make_unique<ConfigMapTranslator>());
  registry.add(std::make_unique<SecretTranslator>());
  registry.add(std::make_unique<PodTranslator>(pods));
}

}  // namespace bisync::translators
