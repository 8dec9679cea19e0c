#include "syncer/engine/drift.hpp"

namespace bisync::engine {

namespace {

using kube::JsonValue;

bool sameOrBothAbsent(const JsonValue* actual, const JsonValue* desired) {
  if (desired == nullptr || actual == nullptr) return desired == actual;
  return *actual == *desired;  // RapidJSON compares objects regardless of member order
}

// Every entry of desired.metadata.<field> is in actual.metadata.<field> with the same value.
bool containsMetadata(const JsonValue& actual, const JsonValue& desired, const char* field) {
  const JsonValue* wanted = kube::member(desired, "metadata");
  if (wanted != nullptr) wanted = kube::member(*wanted, field);
  if (wanted == nullptr || !wanted->IsObject() || wanted->MemberCount() == 0) return true;
  const JsonValue* have = kube::member(actual, "metadata");
  if (have != nullptr) have = kube::member(*have, field);
  if (have == nullptr || !have->IsObject()) return false;
  for (const auto& entry : wanted->GetObject()) {
    const JsonValue* value = kube::member(*have, kube::stringView(entry.name));
    if (value == nullptr || *value != entry.value) return false;
  }
  return true;
}

}  // namespace

bool matchesDesired(const JsonValue& actual, const JsonValue& desired,
                    const std::vector<std::string>& contentFields) {
  for (const std::string& field : contentFields) {
    if (!sameOrBothAbsent(kube::member(actual, field), kube::member(desired, field))) return false;
  }
  return containsMetadata(actual, desired, "labels") &&
         containsMetadata(actual, desired, "annotations");
}

}  // namespace bisync::engine
