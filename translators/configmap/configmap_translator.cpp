#include "translators/configmap/configmap_translator.hpp"

#include <string_view>

namespace bisync::translators {
namespace {

using internal::ContentField;
using internal::FieldType;

// The fields a ConfigMap has (the generic copy would copy them as they are): their types are
// checked, so that a malformed one is reported naming it.
constexpr ContentField kFields[] = {
    {"data", FieldType::StringMap},
    {"binaryData", FieldType::StringMap},
    {"immutable", FieldType::Bool},
};

// kube-controller-manager publishes this ConfigMap (the cluster's CA bundle) into every
// namespace of a cluster and resets it when it differs. The target has its own, and its own
// CA: a synced copy would name another cluster's CA and clash with (or be fought over by) the
// target's controller. Only the name matters: the controller owns it in every namespace.
constexpr std::string_view kRootCaConfigMap = "kube-root-ca.crt";

}  // namespace

ConfigMapTranslator::ConfigMapTranslator()
    : GenericTranslator(kube::resources::configMaps(), KindContent{kFields, {}}) {}

bool ConfigMapTranslator::shouldSync(const JsonValue& source) const {
  return kube::nameOf(source) != kRootCaConfigMap;
}

}  // namespace bisync::translators
