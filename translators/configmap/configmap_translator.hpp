// The ConfigMap plugin: copies data, binaryData and immutable; never syncs the per-namespace
// kube-root-ca.crt.
#pragma once

#include "translators/internal/object_copy.hpp"

namespace bisync::translators {

class ConfigMapTranslator final : public internal::FieldCopyTranslator {
 public:
  ConfigMapTranslator();
  bool shouldSync(const JsonValue& source) const override;
};

}  // namespace bisync::translators
