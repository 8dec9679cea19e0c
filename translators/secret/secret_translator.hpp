// The Secret plugin: copies type, data and immutable; never syncs service account tokens.
#pragma once

#include "translators/internal/object_copy.hpp"

namespace bisync::translators {

class SecretTranslator final : public internal::FieldCopyTranslator {
 public:
  SecretTranslator();
  bool holdsSecrets() const override { return true; }
  bool shouldSync(const JsonValue& source) const override;
};

}  // namespace bisync::translators
