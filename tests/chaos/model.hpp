// The chaos checker's model (issue 16; docs/reliability.md, "Chaos"): what each side must hold,
// from the policies and the operations that succeeded, and the comparison of that with what
// the servers hold once the syncer has converged. Pure code: no I/O, so the verdict on a pair
// of snapshots is a function of them and of the model alone.
//
// Three kinds are synced. ConfigMaps and Secrets go down under their built-in policies (the
// target copy holds the source's data, chaos labels and chaos annotations; edits of a copy on
// the target are undone). Widgets (a CRD of the checker's own) sync both ways under the
// policy of widgetPolicy(): spec.source is the source's, spec.target the target's, and the label
// chaos-t is written on the target only and must reach the source (owner both). Widgets named
// "up-..." are created on the target with the create-on-source opt-in, and must appear in the
// source (createOnSource).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace bisync::chaos {

using StringMap = std::map<std::string, std::string>;

// The kinds of the object workload, then those of the Pod workload (pods_check.hpp), which are
// read and compared apart.
enum class Kind { ConfigMap, Secret, Widget, Pod, Deployment, Node };
inline constexpr Kind kKinds[] = {Kind::ConfigMap, Kind::Secret, Kind::Widget};
std::string_view toString(Kind kind);

// An object by kind, source namespace and name (target objects are filed under the source
// namespace their target namespace maps back to).
struct Key {
  Kind kind = Kind::ConfigMap;
  std::string ns;
  std::string name;
  auto operator<=>(const Key&) const = default;
};
std::string describe(const Key& key);

// Where an object of the workload is made: on the source (copied down), or on the target with
// the create-on-source opt-in (copied up).
enum class Origin { Source, Target };
// Objects whose name starts with this are made on the target.
inline constexpr std::string_view kUpPrefix = "up-";
Origin originOf(const Key& key);
// The names the object workload gives objects of `kind` (cm-.., sec-.., w-.., up-..): the
// namespaces also hold objects of others (ServiceAccount tokens, the syncer's Pod token
// Secrets), which the checker leaves alone.
bool isWorkloadName(Kind kind, std::string_view name);

// What the checker reads of one object on one side.
struct Observed {
  std::string uid;
  std::string resourceVersion;
  StringMap content;      // ConfigMap and Secret: data; Widget: "spec.source", "spec.target"
  StringMap labels;       // the chaos-* labels only
  StringMap annotations;  // the chaos-* annotations only
  std::string managedBy;  // label kube-bisync.io/managed-by
  std::string sourceUid;  // annotation kube-bisync.io/source-uid (copies the syncer made)
  bool deleting = false;  // has a deletionTimestamp
  std::vector<std::string> finalizers;
};
using Snapshot = std::map<Key, Observed>;

enum class Presence { Present, Absent, Unknown };

// What the workload knows of one object on the side it is made on.
struct Expected {
  Presence presence = Presence::Absent;
  std::string uid;  // of the incarnation the workload made (Present)
  StringMap content;
  StringMap labels;
  StringMap annotations;
  // Source-made Widgets: what the workload wrote on the target copy of this incarnation (the
  // target-owned spec.target and the label chaos-t); both must reach the source.
  StringMap targetContent;
  StringMap targetLabels;
};

// The workload's record. Every operation that succeeded is applied; one whose outcome is not
// known (a timeout, a broken connection) marks its key Unknown until the object is read again.
class Model {
 public:
  const Expected* find(const Key& key) const;
  Expected& at(const Key& key) { return expected_[key]; }
  const std::map<Key, Expected>& all() const { return expected_; }
  // The object as read back from the side it is made on (nullopt: it is not there, or it is
  // being deleted, which ends as not there).
  void refresh(const Key& key, const std::optional<Observed>& read);
  std::vector<Key> unknownKeys() const;

 private:
  std::map<Key, Expected> expected_;
};

// Counts by the final line's four classes, and each divergence spelled out.
struct Divergence {
  Key key;
  std::string side;  // "source" or "target"
  std::string problem;
  std::string expected;
  std::string actual;
};
struct Verdict {
  std::size_t lost = 0;        // an object or a change the model holds, missing on a side
  std::size_t orphans = 0;     // an object on a side that the model says must not exist
  std::size_t duplicates = 0;  // two copies of one origin object
  std::size_t stuck = 0;       // a deleted source object still held by a finalizer
  std::vector<Divergence> divergences;
  bool ok() const { return divergences.empty(); }
};

// Compares both snapshots with the model (which must hold no Unknown key).
Verdict verify(const Model& model, const Snapshot& source, const Snapshot& target);

// Entries of two reads of one map (by key, with a resourceVersion) that differ: changed
// resourceVersion, appeared or gone.
template <class Map>
std::size_t changedEntries(const Map& before, const Map& after) {
  std::size_t changed = 0;
  for (const auto& [key, observed] : before) {
    const auto now = after.find(key);
    if (now == after.end() || now->second.resourceVersion != observed.resourceVersion) ++changed;
  }
  for (const auto& [key, observed] : after) changed += before.contains(key) ? 0 : 1;
  return changed;
}

// One line per field: "data.a=1, labels.chaos-l=x"; for messages.
std::string describe(const Observed& observed);
std::string describe(const Expected& expected);

// The SyncPolicy of the checker's Widgets (group chaos.kube-bisync.io).
std::string widgetPolicy();
inline constexpr std::string_view kWidgetGroup = "chaos.kube-bisync.io";

}  // namespace bisync::chaos
