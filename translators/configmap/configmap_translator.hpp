// The ConfigMap plugin: copies data, binaryData and immutable; never syncs the per-namespace
// kube-root-ca.crt.
#pragma once

#include <string>
#include <vector>

#include "translators/translator.hpp"

namespace bisync::translators {

class ConfigMapTranslator final : public Translator {
 public:
  ConfigMapTranslator();

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
