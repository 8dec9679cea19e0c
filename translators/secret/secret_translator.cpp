#include "translators/secret/secret_translator.hpp"

#include <string_view>

namespace bisync::translators {
namespace {

using internal::ContentField;
using internal::FieldType;

// The fields a Secret has, their types checked; the type (Opaque when empty) is what the skip
// rule below reads.
constexpr ContentField kFields[] = {
    {"type", FieldType::String},
    {"data", FieldType::StringMap},
    {"immutable", FieldType::Bool},
};

// stringData is write-only (the server folds it into data and never returns it): copied, it
// would make the target always look drifted.
constexpr std::string_view kWriteOnly[] = {"stringData"};

// The token controller fills such a Secret with a token signed by the cluster's own service
// account key: a copy is useless on the target (the token only authenticates to the source)
// and the target's token controller would rewrite or delete it, a fight with no winner.
constexpr std::string_view kServiceAccountTokenType = "kubernetes.io/service-account-token";

}  // namespace

SecretTranslator::SecretTranslator()
    : GenericTranslator(kube::resources::secrets(), KindContent{kFields, kWriteOnly}) {}

bool SecretTranslator::shouldSync(const JsonValue& source) const {
  return kube::stringMember(source, "type") != kServiceAccountTokenType;
}

}  // namespace bisync::translators
