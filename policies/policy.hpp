// The SyncPolicy model: one per resource type, read from YAML (policy_loader.hpp), saying
// which side owns each field and what happens when both sides change an `owner: both`
// field. Plain data; no I/O. See docs/policies.md for the file format.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/field_path.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::policies {

// None: the kind is not synced; the copies the syncer made of it are deleted and its finalizers
// taken off the source objects (docs/policies.md, "Disabling a kind").
enum class Direction { Down, Up, Bidirectional, None };
enum class Owner { Source, Target, Both, Ignore };
enum class ConflictStrategy { SourceWins, TargetWins, NewestWins, Reject };
// Where the kind's CustomResourceDefinition comes from when the other side lacks it.
enum class CrdSource { None, FromTarget, FromSource };
// What to do when the target refuses a change because a field of its copy is immutable.
enum class OnImmutable {
  Report,    // an Event and sync-status on the source; retried once the source changes
  Recreate,  // the copy is deleted (uid precondition) and created anew
};

struct FieldRule {
  FieldPath path;  // "/metadata/labels/app.kubernetes.io~1*"
  Owner owner = Owner::Ignore;
  std::optional<ConflictStrategy> onConflict;  // set exactly when owner is Both
  int line = 0;                                // where the rule is, for messages
};

struct NamespaceFilter {
  std::vector<std::string> include{"*"};  // glob patterns ('*' matches any run of characters)
  std::vector<std::string> exclude;
  bool selects(const std::string& ns) const;
};

struct Limits {
  std::optional<std::int64_t> maxObjectsPerNamespace;
  std::optional<std::int64_t> maxObjectBytes;
};

// The names `hostFeatures.allow` takes (a Pod policy only): the Pod spec's own field names of
// the host-level features a Pod can ask for (translators/pod/pod_options.hpp, HostFeature).
inline constexpr std::string_view kHostFeatureNames[] = {
    "privileged", "hostPath", "hostNetwork", "hostPID", "hostIPC", "hostPorts", "capabilities"};

struct SyncPolicy {
  std::string file;  // where it came from ("<built-in>/configmaps.yaml" for defaults)
  kube::GroupVersionKind resource;
  int line = 0;  // where `resource:` is, for messages
  Direction direction = Direction::Down;
  NamespaceFilter namespaces;
  std::map<std::string, std::string> matchLabels;  // selector on the source; empty: all
  std::vector<FieldRule> fields;
  Limits limits;
  bool createOnSource = false;  // objects made on the target flow up (direction up/both)
  // fromTarget: the syncer copies the kind's CRD from the target to the source (and keeps it
  // updated); fromSource: from the source to the target. None: both sides must serve the kind
  // themselves.
  CrdSource crd = CrdSource::None;
  OnImmutable onImmutable = OnImmutable::Report;
  // A v1 Pod policy's `hostFeatures.allow`: the host features (kHostFeatureNames) a synced Pod
  // may use on the host; each one not listed is refused. Empty for every other kind.
  std::vector<std::string> allowedHostFeatures;
};

std::string_view toString(Direction direction);
std::string_view toString(Owner owner);
std::string_view toString(ConflictStrategy strategy);
std::string_view toString(OnImmutable onImmutable);

}  // namespace bisync::policies
