// The identity mapper: where a source object lives on the target (namespace and name), and
// the origin metadata that ties a target object back to its source.
//
// Deterministic: the same configuration and input give the same output on every run and
// machine (hash suffixes are SHA-256, see names.hpp). Reversible: a target object maps back
// to its source through its annotations, never by parsing its name, so shortened names
// round-trip. Pure: no I/O and no mutable state; a const IdentityMapper may be shared by
// threads, and objects passed in belong to the caller.
//
// Namespace modes:
//   Prefix (default): source namespace `ns` -> target namespace `<cluster>--<ns>`, name kept.
//   Single:           everything into MapperConfig::targetNamespace, names become
//                     `<name>-x-<ns>-x-<cluster>`, or `<name>-x-<ns>-<hash>-x-<cluster>`
//                     when `<name>-x-<ns>` holds "-x-" more than once (it would not split
//                     back into one name and namespace).
// Distinct sources never share a target key (short of a SHA-256 prefix collision), not even
// across instances: cluster names that would make two instances' keys meet are refused.
// Cluster-scoped sources (empty namespace) stay cluster-scoped and keep their name in toTarget
// (mirrors of target objects); their copies made on the target are named by
// toTargetClusterScoped.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "mapping/names.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::mapping {

using kube::JsonValue;
using JsonAllocator = kube::Json::AllocatorType;

inline constexpr std::string_view kManagedByLabel = "kube-bisync.io/managed-by";
inline constexpr std::string_view kSourceNamespaceLabel = "kube-bisync.io/source-namespace";
inline constexpr std::string_view kSourceNameLabel = "kube-bisync.io/source-name";
inline constexpr std::string_view kSourceClusterAnnotation = "kube-bisync.io/source-cluster";
inline constexpr std::string_view kSourceNamespaceAnnotation = "kube-bisync.io/source-namespace";
inline constexpr std::string_view kSourceNameAnnotation = "kube-bisync.io/source-name";
inline constexpr std::string_view kSourceUidAnnotation = "kube-bisync.io/source-uid";
inline constexpr std::string_view kLastSyncedAnnotation = "kube-bisync.io/last-synced";
// On the target: the `owner: both` fields as last synced (compact JSON), the base of the next
// three-way merge. Kept with the object so that a restart loses nothing.
inline constexpr std::string_view kMergeBaseAnnotation = "kube-bisync.io/merge-base";
// On the source: the outcome of the last sync that needed the user's attention (a conflict, a
// rejected write, a fight), and "Synced" once it is resolved.
inline constexpr std::string_view kSyncStatusAnnotation = "kube-bisync.io/sync-status";
// On the source: this object was created by the syncer instance named in the value from an
// object made on the target (createOnSource). For the user's information only: the syncer's
// proof of it is its ownership record, never this annotation, which anyone can copy.
inline constexpr std::string_view kCreatedFromTargetAnnotation =
    "kube-bisync.io/created-from-target";
// On the source, beside it: the uid of the target object it was made from. It proves the object
// is the syncer's only while the ownership record holds an unfinished copy-up of exactly that
// target object (written before the source object is created), and only to finish that entry:
// a crash, or a lost answer, between the create and the record must not leave a source object
// that nobody owns.
inline constexpr std::string_view kCreatedFromTargetUidAnnotation =
    "kube-bisync.io/created-from-target-uid";
// On a target object: its owner opts in to createOnSource (value "true"). Without it, an object
// made on the host (a distributed pull secret, a certificate) stays on the host.
inline constexpr std::string_view kCreateOnSourceLabel = "kube-bisync.io/create-on-source";
// Every key of the syncer's own metadata starts with this; such keys never travel.
inline constexpr std::string_view kSyncerKeyPrefix = "kube-bisync.io/";
// kubectl's record of an apply on one side; on the other it would describe an apply that never
// happened there and mislead `kubectl apply`, so it never travels either.
inline constexpr std::string_view kLastAppliedAnnotation =
    "kubectl.kubernetes.io/last-applied-configuration";

// Leaves at least 21 characters of the source namespace readable in `<cluster>--<ns>` before
// a 63-character namespace needs its hash suffix.
inline constexpr std::size_t kMaxClusterNameLength = 40;

struct SourceKey {
  std::string ns;  // empty for cluster-scoped objects
  std::string name;
  bool operator==(const SourceKey&) const = default;
};

struct TargetKey {
  std::string ns;
  std::string name;
  bool operator==(const TargetKey&) const = default;
};

// Where a target object came from, read back from its annotations.
struct Origin {
  std::string cluster;
  std::string ns;
  std::string name;
  std::string uid;
  SourceKey key() const { return {ns, name}; }
  bool operator==(const Origin&) const = default;
};

// Why a target object has no usable origin; the reconciler must not touch such an object
// (unless a policy adopts it) and reports the clash.
enum class OriginProblem {
  NotManaged,     // no kube-bisync.io/managed-by label: a user's object
  OtherInstance,  // managed by another syncer instance
  Incomplete,     // ours, but origin annotations are missing, malformed or contradictory
};

struct OriginError {
  OriginProblem problem = OriginProblem::NotManaged;
  std::string message;
};

enum class NamespaceMode { Prefix, Single };

struct MapperConfig {
  // The syncer instance name: a DNS-1123 label of <= 40 characters without "--", without "x"
  // as a hyphen-separated part, and not kube, openshift or default (nor starting with one of
  // them and '-').
  std::string clusterName;
  NamespaceMode mode = NamespaceMode::Prefix;
  std::string targetNamespace;  // Single mode only (must be empty in Prefix mode)
};

// Label or annotation key -> value, ordered so output is deterministic.
using Metadata = std::map<std::string, std::string, std::less<>>;

class IdentityMapper {
 public:
  // Config errors name the offending field ("MapperConfig.clusterName: ...").
  static kube::Result<void> validate(const MapperConfig& config);
  static kube::Result<IdentityMapper> create(MapperConfig config);
  // Throws std::invalid_argument for a config validate() rejects (a programming error:
  // start-up code validates first or uses create()).
  explicit IdentityMapper(MapperConfig config);

  const MapperConfig& config() const { return config_; }

  // The namespace a source namespace maps to, a DNS-1123 label of at most 63 characters.
  std::string targetNamespace(std::string_view sourceNamespace) const;
  // The source namespace whose target namespace this is, read from the name alone: prefix
  // mode, `<cluster>--<ns>` not shortened. nullopt otherwise (a shortened name maps back only
  // through the namespace's kube-bisync.io/source-namespace annotation).
  std::optional<std::string> sourceNamespaceByName(std::string_view targetNamespace) const;
  // `limit` is the naming rule of the object's kind: kSubdomainName (ConfigMap, Secret,
  // most kinds) or kLabelName (Service) or any other NameLimit.
  TargetKey toTarget(const SourceKey& source, NameLimit limit = kSubdomainName) const;
  // The name of the target copy of the cluster-scoped source object `name` (a policy of
  // `direction: down` for a cluster-scoped kind): `<cluster>-<name>`, shortened with a stable
  // hash suffix like every name when it breaks `limit`. Cluster-scoped names are shared by every
  // tenant of the host: the prefix keeps instances apart, the ownership record decides what is
  // whose (a cluster named "a" copying "b-c" and one named "a-b" copying "c" meet at "a-b-c").
  std::string toTargetClusterScoped(std::string_view name, NameLimit limit = kSubdomainName) const;
  // The source name of the cluster-scoped target object `targetObject`, from its origin
  // annotations: this instance's copy of a cluster-scoped source (no source namespace) whose
  // mapped name is the object's own. nullopt for anything else.
  std::optional<std::string> clusterScopedSourceOf(const JsonValue& targetObject,
                                                   NameLimit limit = kSubdomainName) const;
  // The same from a target name alone (an object that is not ours, in the way of a copy):
  // `<cluster>-<name>` when that is not a shortened form. nullopt otherwise.
  std::optional<std::string> clusterScopedSourceByName(std::string_view targetName,
                                                       NameLimit limit = kSubdomainName) const;

  // managed-by, source-namespace and source-name, values made label-safe (fitLabelValue).
  Metadata originLabels(const SourceKey& source) const;
  // source-cluster, source-namespace, source-name (full) and source-uid. Not last-synced:
  // the reconciler sets that (setLastSynced) once it knows what it applies.
  Metadata originAnnotations(const SourceKey& source, std::string_view uid) const;
  // Adds originLabels/originAnnotations to targetObject's metadata, overwriting those keys
  // and keeping every other label and annotation. Fails (changing nothing) when the object,
  // its metadata, labels or annotations exist but are not JSON objects.
  kube::Result<void> stampOrigin(JsonValue& targetObject, JsonAllocator& allocator,
                                 const SourceKey& source, std::string_view uid) const;

  // The source of a target object, from its origin annotations; an error says why not. The
  // origin labels, where present, must agree with the annotations (both absent is the form the
  // engine's target cache keeps after checking them, see syncer/engine/cache_forms.hpp).
  tl::expected<Origin, OriginError> originOf(const JsonValue& targetObject) const;
  bool isManagedByUs(const JsonValue& targetObject) const;

  // Metadata for a namespace the syncer creates on the target. Prefix mode records the
  // source namespace; a Single-mode namespace is shared, so it carries managed-by only.
  Metadata namespaceLabels(std::string_view sourceNamespace) const;
  Metadata namespaceAnnotations(std::string_view sourceNamespace) const;

  // "kube-bisync.io/managed-by=<cluster>": lists what this instance created.
  std::string managedBySelector() const;

 private:
  MapperConfig config_;
};

// The object serialised with object keys sorted (byte order) at every level and no
// whitespace: equal for JSON values that differ only in key order.
std::string canonicalJson(const JsonValue& value);
// "sha256:" + the SHA-256 (64 lower-case hex digits) of canonicalJson(value). This is the
// value of the last-synced annotation.
std::string contentHash(const JsonValue& value);

// The target object carries kCreateOnSourceLabel: "true".
bool optedInToCreateOnSource(const JsonValue& targetObject);

// The last-synced annotation of an object, "" when absent or not a string.
std::string_view lastSyncedOf(const JsonValue& object);
kube::Result<void> setLastSynced(JsonValue& object, JsonAllocator& allocator,
                                 std::string_view hash);

// Sets each entry of `entries` in object.metadata.<field> ("labels" or "annotations"),
// creating the maps as needed and keeping other keys.
kube::Result<void> mergeMetadata(JsonValue& object, JsonAllocator& allocator,
                                 std::string_view field, const Metadata& entries);

}  // namespace bisync::mapping
