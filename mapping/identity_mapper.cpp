#include "mapping/identity_mapper.hpp"

#include <optional>
#include <stdexcept>
#include <utility>

namespace bisync::mapping {
namespace {

using kube::Result;

constexpr std::string_view kSingleModeSeparator = "-x-";
constexpr std::string_view kPrefixSeparator = "--";

// Indexing instead of FindMember: comparing RapidJSON's mutable member iterators trips clang's
// C++20 -Wambiguous-reversed-operator.
JsonValue* mutableMember(JsonValue& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) {
    auto& entry = *(object.MemberBegin() + i);
    if (kube::stringView(entry.name) == name) {
      return &entry.value;
    }
  }
  return nullptr;
}

// object[name] as an object, added when absent; nullptr when present with another type.
JsonValue* objectMember(JsonValue& object, std::string_view name, JsonAllocator& allocator) {
  if (JsonValue* existing = mutableMember(object, name)) {
    return existing->IsObject() ? existing : nullptr;
  }
  object.AddMember(kube::stringValue(name, allocator), JsonValue(rapidjson::kObjectType),
                   allocator);
  return mutableMember(object, name);
}

void setString(JsonValue& object, std::string_view name, std::string_view value,
               JsonAllocator& allocator) {
  JsonValue copy = kube::stringValue(value, allocator);
  if (JsonValue* existing = mutableMember(object, name)) {
    *existing = std::move(copy);
    return;
  }
  object.AddMember(kube::stringValue(name, allocator), std::move(copy), allocator);
}

const JsonValue* metadataMap(const JsonValue& object, std::string_view field) {
  const JsonValue* metadata = kube::member(object, "metadata");
  return metadata == nullptr ? nullptr : kube::member(*metadata, field);
}

// The string value of key `name` in `map`; nullopt when absent or not a string.
std::optional<std::string> stringEntry(const JsonValue* map, std::string_view name) {
  if (map == nullptr) return std::nullopt;
  const JsonValue* value = kube::member(*map, name);
  if (value == nullptr || !value->IsString()) return std::nullopt;
  return std::string(value->GetString(), value->GetStringLength());
}

// Occurrences of the separator in `text`, overlapping ones included ("-x-x-" holds two).
std::size_t separatorCount(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t at = text.find(kSingleModeSeparator); at != std::string_view::npos;
       at = text.find(kSingleModeSeparator, at + 1)) {
    ++count;
  }
  return count;
}

// Why `cluster` (a DNS label) cannot name an instance, if it cannot. The mapping is only
// injective across instances under these rules: `<cluster>--<ns>` splits at its first "--"
// (so a cluster name holds none), and `<name>-x-<ns>-x-<cluster>` cannot end in two ways when
// no hyphen-separated segment of a cluster name is "x" (docs/mapping.md has the proof).
std::optional<std::string> clusterNameProblem(std::string_view cluster) {
  for (const std::string_view reserved : {"kube", "openshift", "default"}) {
    if (cluster == reserved ||
        (cluster.starts_with(reserved) && cluster.substr(reserved.size()).starts_with('-'))) {
      return "starts with the reserved prefix \"" + std::string(reserved) +
             "\": its target namespaces would look like the cluster's own";
    }
  }
  if (cluster.find(kPrefixSeparator) != std::string_view::npos) {
    return "contains \"--\", which separates the cluster name from the namespace in "
           "<cluster>--<namespace>";
  }
  const std::string padded = "-" + std::string(cluster) + "-";
  if (padded.find(kSingleModeSeparator) != std::string::npos) {
    return "has \"x\" as a hyphen-separated part, which the single-mode separator \"-x-\" "
           "would make ambiguous";
  }
  return std::nullopt;
}

tl::unexpected<OriginError> originError(OriginProblem problem, std::string message) {
  return tl::unexpected<OriginError>(OriginError{problem, std::move(message)});
}

}  // namespace

Result<void> IdentityMapper::validate(const MapperConfig& config) {
  const std::string& cluster = config.clusterName;
  if (cluster.empty()) {
    return kube::fail(kube::configError("MapperConfig.clusterName", "must not be empty"));
  }
  if (!isDnsLabel(cluster)) {
    return kube::fail(kube::configError(
        "MapperConfig.clusterName",
        "\"" + cluster +
            "\" is not a DNS-1123 label (lower-case alphanumerics and '-', starting and "
            "ending alphanumeric); it becomes part of namespace names and label values"));
  }
  if (auto problem = clusterNameProblem(cluster)) {
    return kube::fail(
        kube::configError("MapperConfig.clusterName", "\"" + cluster + "\" " + *problem));
  }
  if (cluster.size() > kMaxClusterNameLength) {
    return kube::fail(kube::configError("MapperConfig.clusterName",
                                        "\"" + cluster + "\" is longer than " +
                                            std::to_string(kMaxClusterNameLength) +
                                            " characters, too long to prefix namespaces"));
  }
  switch (config.mode) {
    case NamespaceMode::Prefix:
      if (!config.targetNamespace.empty()) {
        return kube::fail(kube::configError(
            "MapperConfig.targetNamespace",
            "is only used in single namespace mode (prefix mode derives it from the source)"));
      }
      return {};
    case NamespaceMode::Single:
      if (!isDnsLabel(config.targetNamespace)) {
        return kube::fail(kube::configError(
            "MapperConfig.targetNamespace",
            config.targetNamespace.empty()
                ? std::string("single namespace mode needs a target namespace")
                : "\"" + config.targetNamespace + "\" is not a valid namespace name"));
      }
      return {};
  }
  return kube::fail(kube::configError("MapperConfig.mode", "unknown namespace mode"));
}

Result<IdentityMapper> IdentityMapper::create(MapperConfig config) {
  if (auto valid = validate(config); !valid) return kube::fail(valid.error());
  return IdentityMapper(std::move(config));
}

IdentityMapper::IdentityMapper(MapperConfig config) : config_(std::move(config)) {
  if (auto valid = validate(config_); !valid) {
    throw std::invalid_argument("invalid identity mapper config: " + valid.error().describe());
  }
}

std::string IdentityMapper::targetNamespace(std::string_view sourceNamespace) const {
  if (sourceNamespace.empty()) return {};
  if (config_.mode == NamespaceMode::Single) return config_.targetNamespace;
  std::string candidate = config_.clusterName;
  candidate += kPrefixSeparator;
  candidate += sourceNamespace;
  return fitName(candidate, kLabelName);
}

std::optional<std::string> IdentityMapper::sourceNamespaceByName(
    std::string_view targetNamespace) const {
  const std::string prefix = config_.clusterName + std::string(kPrefixSeparator);
  if (config_.mode != NamespaceMode::Prefix || !targetNamespace.starts_with(prefix)) {
    return std::nullopt;
  }
  std::string candidate(targetNamespace.substr(prefix.size()));
  // A shortened name ends in a hash: `<cluster>--<rest>` is then not what `rest` maps to.
  if (candidate.empty() || this->targetNamespace(candidate) != targetNamespace) {
    return std::nullopt;
  }
  return candidate;
}

TargetKey IdentityMapper::toTarget(const SourceKey& source, NameLimit limit) const {
  if (source.ns.empty() || config_.mode == NamespaceMode::Prefix) {
    return {targetNamespace(source.ns), fitName(source.name, limit)};
  }
  std::string candidate = source.name;
  candidate += kSingleModeSeparator;
  candidate += source.ns;
  // `<name>-x-<ns>` splits back into one (name, namespace) only when it holds the separator
  // once; otherwise ("a-x-b" in "c", "a" in "b-x-c") several sources would share it. Those
  // get "-<hash of ns/name>": it tells them apart, and what it extends still holds the
  // separator more than once, so it never equals an unambiguous source's `<name>-x-<ns>`.
  if (separatorCount(candidate) != 1) {
    candidate += '-';
    candidate += stableHash(source.ns + "/" + source.name).substr(0, kHashSuffixLength);
  }
  candidate += kSingleModeSeparator;
  candidate += config_.clusterName;
  return {config_.targetNamespace, fitName(candidate, limit)};
}

std::string IdentityMapper::toTargetClusterScoped(std::string_view name, NameLimit limit) const {
  std::string candidate = config_.clusterName;
  candidate += '-';
  candidate += name;
  return fitName(candidate, limit);
}

std::optional<std::string> IdentityMapper::clusterScopedSourceOf(const JsonValue& targetObject,
                                                                 NameLimit limit) const {
  const auto origin = originOf(targetObject);
  if (!origin || !origin->ns.empty() ||
      toTargetClusterScoped(origin->name, limit) != kube::nameOf(targetObject)) {
    return std::nullopt;
  }
  return origin->name;
}

std::optional<std::string> IdentityMapper::clusterScopedSourceByName(std::string_view targetName,
                                                                     NameLimit limit) const {
  const std::string prefix = config_.clusterName + "-";
  if (!targetName.starts_with(prefix)) return std::nullopt;
  std::string candidate(targetName.substr(prefix.size()));
  // A shortened name ends in a hash: `<cluster>-<rest>` is then not what `rest` maps to.
  if (candidate.empty() || toTargetClusterScoped(candidate, limit) != targetName) {
    return std::nullopt;
  }
  return candidate;
}

Metadata IdentityMapper::originLabels(const SourceKey& source) const {
  return {
      {std::string(kManagedByLabel), config_.clusterName},
      {std::string(kSourceNamespaceLabel), fitLabelValue(source.ns)},
      {std::string(kSourceNameLabel), fitLabelValue(source.name)},
  };
}

Metadata IdentityMapper::originAnnotations(const SourceKey& source, std::string_view uid) const {
  return {
      {std::string(kSourceClusterAnnotation), config_.clusterName},
      {std::string(kSourceNamespaceAnnotation), source.ns},
      {std::string(kSourceNameAnnotation), source.name},
      {std::string(kSourceUidAnnotation), std::string(uid)},
  };
}

Result<void> IdentityMapper::stampOrigin(JsonValue& targetObject, JsonAllocator& allocator,
                                         const SourceKey& source, std::string_view uid) const {
  // Check every shape first so a failure leaves the object as it was.
  const JsonValue* metadata = kube::member(targetObject, "metadata");
  const bool badShape = !targetObject.IsObject() ||
                        (metadata != nullptr && !metadata->IsObject()) ||
                        (metadataMap(targetObject, "labels") != nullptr &&
                         !metadataMap(targetObject, "labels")->IsObject()) ||
                        (metadataMap(targetObject, "annotations") != nullptr &&
                         !metadataMap(targetObject, "annotations")->IsObject());
  if (badShape) {
    return kube::fail(kube::decodeError(
        "stampOrigin", "the object, its metadata, labels or annotations are not JSON objects"));
  }
  if (auto done = mergeMetadata(targetObject, allocator, "labels", originLabels(source)); !done) {
    return done;
  }
  return mergeMetadata(targetObject, allocator, "annotations", originAnnotations(source, uid));
}

tl::expected<Origin, OriginError> IdentityMapper::originOf(const JsonValue& targetObject) const {
  const auto managedBy = stringEntry(metadataMap(targetObject, "labels"), kManagedByLabel);
  if (!managedBy || managedBy->empty()) {
    return originError(OriginProblem::NotManaged,
                       "no " + std::string(kManagedByLabel) + " label: not created by kube-bisync");
  }
  if (*managedBy != config_.clusterName) {
    return originError(OriginProblem::OtherInstance, "managed by kube-bisync instance \"" +
                                                         *managedBy + "\", not \"" +
                                                         config_.clusterName + "\"");
  }
  const JsonValue* annotations = metadataMap(targetObject, "annotations");
  Origin origin;
  const std::pair<std::string_view, std::string*> fields[] = {
      {kSourceClusterAnnotation, &origin.cluster},
      {kSourceNamespaceAnnotation, &origin.ns},
      {kSourceNameAnnotation, &origin.name},
      {kSourceUidAnnotation, &origin.uid},
  };
  for (const auto& [key, out] : fields) {
    auto value = stringEntry(annotations, key);
    // Only the namespace may be empty (cluster-scoped source).
    if (!value || (value->empty() && key != kSourceNamespaceAnnotation)) {
      return originError(OriginProblem::Incomplete,
                         "annotation " + std::string(key) + " is missing, empty or not a string");
    }
    *out = std::move(*value);
  }
  if (origin.cluster != config_.clusterName) {
    return originError(OriginProblem::Incomplete,
                       "labelled as managed by \"" + config_.clusterName +
                           "\" but annotated as coming from cluster \"" + origin.cluster + "\"");
  }
  // The labels are what the syncer stamped from the same source: anything else was edited or
  // forged, and such an object is not provably a copy. (A compact cached copy keeps neither
  // label: its cache checked them when it stored it.)
  const JsonValue* labels = metadataMap(targetObject, "labels");
  const auto sourceNamespace = stringEntry(labels, kSourceNamespaceLabel);
  const auto sourceName = stringEntry(labels, kSourceNameLabel);
  if ((sourceNamespace || sourceName) &&
      (sourceNamespace != fitLabelValue(origin.ns) || sourceName != fitLabelValue(origin.name))) {
    return originError(OriginProblem::Incomplete, "labels " + std::string(kSourceNamespaceLabel) +
                                                      " and " + std::string(kSourceNameLabel) +
                                                      " do not match the origin annotations");
  }
  return origin;
}

bool IdentityMapper::isManagedByUs(const JsonValue& targetObject) const {
  return originOf(targetObject).has_value();
}

Metadata IdentityMapper::namespaceLabels(std::string_view sourceNamespace) const {
  Metadata labels{{std::string(kManagedByLabel), config_.clusterName}};
  if (config_.mode == NamespaceMode::Prefix) {
    labels.emplace(kSourceNamespaceLabel, fitLabelValue(sourceNamespace));
  }
  return labels;
}

Metadata IdentityMapper::namespaceAnnotations(std::string_view sourceNamespace) const {
  Metadata annotations{{std::string(kSourceClusterAnnotation), config_.clusterName}};
  if (config_.mode == NamespaceMode::Prefix) {
    annotations.emplace(kSourceNamespaceAnnotation, sourceNamespace);
  }
  return annotations;
}

std::string IdentityMapper::managedBySelector() const {
  return std::string(kManagedByLabel) + "=" + config_.clusterName;
}

bool optedInToCreateOnSource(const JsonValue& targetObject) {
  return stringEntry(metadataMap(targetObject, "labels"), kCreateOnSourceLabel) == "true";
}

std::string_view lastSyncedOf(const JsonValue& object) {
  const JsonValue* annotations = metadataMap(object, "annotations");
  return annotations == nullptr ? std::string_view{}
                                : kube::stringMember(*annotations, kLastSyncedAnnotation);
}

Result<void> setLastSynced(JsonValue& object, JsonAllocator& allocator, std::string_view hash) {
  return mergeMetadata(object, allocator, "annotations",
                       Metadata{{std::string(kLastSyncedAnnotation), std::string(hash)}});
}

Result<void> mergeMetadata(JsonValue& object, JsonAllocator& allocator, std::string_view field,
                           const Metadata& entries) {
  JsonValue* metadata = object.IsObject() ? objectMember(object, "metadata", allocator) : nullptr;
  JsonValue* map = metadata == nullptr ? nullptr : objectMember(*metadata, field, allocator);
  if (map == nullptr) {
    return kube::fail(kube::decodeError("metadata." + std::string(field),
                                        "the object or this field is not a JSON object"));
  }
  for (const auto& [key, value] : entries) setString(*map, key, value, allocator);
  return {};
}

}  // namespace bisync::mapping
