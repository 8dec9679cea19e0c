// The Secret plugin: the generic copy, with the types of type, data and immutable checked and
// stringData left out; never syncs service account tokens; its values are secret.
#pragma once

#include "translators/generic/generic_translator.hpp"

namespace bisync::translators {

class SecretTranslator final : public GenericTranslator {
 public:
  SecretTranslator();
  bool holdsSecrets() const override { return true; }
  bool shouldSync(const JsonValue& source) const override;
};

}  // namespace bisync::translators
