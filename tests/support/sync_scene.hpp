// The world of one daemon sync test against the testbed, and the checks those tests share.
//
// A SyncScene owns a client fixture, a unique cluster name, source namespaces (deleted at the
// end) and the target namespaces the daemon makes of them (deleted first); it gives the
// daemon's flags for the scene and the set-up steps (create, patch, delete, bulk create),
// which return the API's answer: asserting is the test's job, as with waitFor. Beside it:
// ObjectView (what the tests compare of an object), builders of ConfigMaps and Secrets, the
// daemon's origin metadata, and waits for correct target copies that add the daemon's log
// to what they saw. Used from the test thread only; the fixture's loop does the I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/testbed.hpp"
#include "tests/support/wait.hpp"

namespace bisync::testing {

// The origin metadata of the daemon's contract, spelled out: these tests are its black box.
inline constexpr const char* kManagedBy = "kube-bisync.io/managed-by";
inline constexpr const char* kSourceNamespace = "kube-bisync.io/source-namespace";
inline constexpr const char* kSourceName = "kube-bisync.io/source-name";
inline constexpr const char* kSourceCluster = "kube-bisync.io/source-cluster";
inline constexpr const char* kSourceUid = "kube-bisync.io/source-uid";
inline constexpr const char* kLastSynced = "kube-bisync.io/last-synced";
// What the daemon logs once it is ready.
inline constexpr const char* kReadyLine = "; ready";

using StringMap = std::map<std::string, std::string>;

// The string members of the object at `pointer` in `object`; empty when there is none.
StringMap stringMapAt(const kube::JsonValue& object, std::string_view pointer);
// map[key], or "<absent>".
std::string lookup(const StringMap& map, const std::string& key);

// What these tests compare of an object.
struct ObjectView {
  std::string name, uid, resourceVersion, type;
  StringMap data, labels, annotations;
};
using Views = std::map<std::string, ObjectView>;  // by name

ObjectView viewOf(const kube::JsonValue& object);
// One line for failure messages (long values and names cut at 60 characters).
std::string describe(const StringMap& map);
std::string describe(const ObjectView& view);

// A v1 ConfigMap `ns`/`name` holding `data`.
kube::Json configMap(const std::string& ns, const std::string& name, const StringMap& data);
// A v1 Secret `ns`/`name` of `type` whose stringData is `stringData`.
kube::Json secret(const std::string& ns, const std::string& name, const std::string& type,
                  const StringMap& stringData);
// ConfigMaps cm-000, cm-001, ... in `ns` with data {k: value, index: i}.
std::vector<kube::Json> numberedConfigMaps(const std::string& ns, int count,
                                           const std::string& value);

// Deletes the named cluster-scoped objects from both sides at scope end.
class ClusterCleanup {
 public:
  ClusterCleanup(Testbed& testbed, std::string resource, std::vector<std::string> names)
      : testbed_(testbed), resource_(std::move(resource)), names_(std::move(names)) {}
  ~ClusterCleanup() {
    for (const Side side : {Side::Source, Side::Target}) {
      for (const std::string& name : names_) {
        testbed_.kubectl(side, {"delete", resource_, name, "--ignore-not-found", "--wait=false"});
      }
    }
  }
  ClusterCleanup(const ClusterCleanup&) = delete;
  ClusterCleanup& operator=(const ClusterCleanup&) = delete;

 private:
  Testbed& testbed_;
  std::string resource_;
  std::vector<std::string> names_;
};

// A daemon declared after the scene is killed before the scene's cleanup runs.
class SyncScene {
 public:
  explicit SyncScene(std::string_view clusterPrefix, int sourceNamespaces = 1);
  // The same on `testbed` instead of the binary's shared one.
  SyncScene(Testbed& testbed, std::string_view clusterPrefix, int sourceNamespaces = 1);
  ~SyncScene();
  SyncScene(const SyncScene&) = delete;
  SyncScene& operator=(const SyncScene&) = delete;

  KubeFixture& api() { return api_; }
  Testbed& testbed() { return api_.testbed(); }
  const std::string& cluster() const { return cluster_; }
  const std::string& ns(std::size_t i = 0) const { return sources_.at(i)->name(); }
  std::string targetNs(std::size_t i = 0) const { return cluster_ + "--" + ns(i); }
  // Where the daemon keeps its ownership record: the ConfigMap `ownershipRecord()` in the
  // namespace `stateNamespace()` of the target.
  static std::string stateNamespace() { return "default"; }
  std::string ownershipRecord() const { return "kube-bisync-ownership-" + cluster_; }

  // --cluster-name, --namespaces (the scene's), --resources, -v 2, then `extra`.
  std::vector<std::string> daemonArgs(const std::vector<std::string>& extra = {}) const;

  // Creates a namespace on the target (deleted at the end once created). When `managed`, it is
  // `targetNs(i)` of one of the scene's source namespaces, and it is handed over to the daemon
  // the way a host admin does (handOverNamespace): the daemon syncs only into target namespaces
  // its ownership record names, whatever their labels say.
  kube::Result<kube::Json> tryCreateTargetNamespace(const std::string& name, bool managed);
  // Adds target namespace `name` (uid `uid`) of source namespace `sourceNs` to the daemon's
  // ownership record, as a host admin hands a pre-created namespace to an instance.
  kube::Result<void> handOverNamespace(const std::string& name, const std::string& uid,
                                       const std::string& sourceNs);
  // Creates `object` (which names its namespace) on `side`.
  kube::Result<kube::Json> tryCreate(Side side, const kube::ResourceInfo& resource,
                                     const kube::Json& object);
  // Merge-patches the data of a source object.
  kube::Result<kube::Json> tryPatchData(const kube::ResourceInfo& resource, const std::string& ns,
                                        const std::string& name, const StringMap& data);
  // Deletes a source object.
  kube::Result<void> tryRemove(const kube::ResourceInfo& resource, const std::string& ns,
                               const std::string& name);
  // Creates all `objects` (each names its namespace) on the source with concurrent requests
  // and waits for all of them; the error describes the first failure in the workers' order.
  tl::expected<Views, std::string> tryCreateAll(const kube::ResourceInfo& resource,
                                                const std::vector<kube::Json>& objects);

  // The Events in `ns` on `side` with `reason` about an object named `involved`; their messages
  // are added to `seen`.
  std::size_t countEvents(Side side, const std::string& ns, std::string_view reason,
                          std::string_view involved, std::string& seen);

  // The objects of `ns` on `side` by name; nullopt (with the error in `seen`) when unlistable.
  std::optional<Views> list(Side side, const kube::ResourceInfo& resource, const std::string& ns,
                            std::string& seen);

 private:
  KubeFixture api_;
  std::string cluster_;
  std::vector<std::unique_ptr<ScopedNamespace>> sources_;
  std::vector<std::string> targets_;
};

// What is wrong with `copy` as the target copy of `source` (from `sourceNs`) that `cluster`
// made; "" when nothing.
std::string copyProblems(const ObjectView& copy, const ObjectView& source,
                         const std::string& cluster, const std::string& sourceNs);

// Checks every source object of `sources` against its copy in `targets` (both by name), adding
// the first few problems to `seen`; returns the number of correct copies.
std::size_t countCorrectCopies(const Views& sources, const Views& targets, const SyncScene& scene,
                               const std::string& sourceNs, std::string& seen);

// waitFor, with the daemon's state and log tail added to what was seen when it is not met.
WaitOutcome waitLogged(DaemonProcess& daemon, std::string what, std::chrono::milliseconds timeout,
                       const std::function<bool(std::string& seen)>& check,
                       std::chrono::milliseconds interval = std::chrono::milliseconds(200));

// Waits until the target namespace `i` of the scene holds a correct copy of each of `sources`.
WaitOutcome waitForCopies(DaemonProcess& daemon, SyncScene& scene,
                          const kube::ResourceInfo& resource, const Views& sources,
                          std::chrono::seconds timeout, std::size_t i = 0);

}  // namespace bisync::testing
