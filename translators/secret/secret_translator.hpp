// The Secret plugin: copies type, data and immutable; never syncs service account tokens.
#pragma once

#include <string>
#include <vector>

#include "translators/translator.hpp"

namespace bisync::translators {

class SecretTranslator final : public Translator {
 public:
  SecretTranslator();

  const kube::ResourceInfo& resource() const override { return resource_; }
  mapping::NameLimit nameLimit() const override { return mapping::kSubdomainName; }
  bool shouldSync(const JsonValue& source) const override;
  kube::Result<Json> toTarget(const JsonValue& source,
                              const mapping::IdentityMapper& mapper) const override;
  const std::vector<std::string>& contentFields() const override { return contentFields_; }

 private:
  kube::ResourceInfo resource_;
  std::vector<std::string> contentFields_;
};

}  // namespace bisync::translators
