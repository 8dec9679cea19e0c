#include "translators/secret/secret_translator.hpp"

#include <string_view>

namespace bisync::translators {
namespace {

using internal::ContentField;
using internal::FieldType;

// Not stringData: it is write-only (the server folds it into data and never returns it), so
// the target would always look drifted.
constexpr ContentField kFields[] = {
    {"type", FieldType::String},
    {"data", FieldType::StringMap},
    {"immutable", FieldType::Bool},
};

// The token controller fills such a Secret with a token signed by the cluster's own service
// account key: a copy is useless on the target (the token only authenticates to the source)
// and the target's token controller would rewrite or delete it, a fight with no winner.
constexpr std::string_view kServiceAccountTokenType = "kubernetes.io/service-account-token";

}  // namespace

SecretTranslator::SecretTranslator() : FieldCopyTranslator(kube::resources::secrets(), kFields) {}

bool SecretTranslator::shouldSync(const JsonValue& source) const {
  return kube::stringMember(source, "type") != kServiceAccountTokenType;
}

}  // namespace bisync::translators
