// The ConfigMap plugin: the generic copy, with the types of data, binaryData and immutable
// checked; never syncs the per-namespace kube-root-ca.crt.
#pragma once

#include "translators/generic/generic_translator.hpp"

namespace bisync::translators {

class ConfigMapTranslator final : public GenericTranslator {
 public:
  ConfigMapTranslator();
  bool shouldSync(const JsonValue& source) const override;
};

}  // namespace bisync::translators
