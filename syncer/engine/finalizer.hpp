// Finalizer-guarded deletion (docs/sync-engine.md, "Finalizer"): the syncer puts its finalizer
// kube-bisync.io/cleanup on the source objects it copies down, so that deleting one waits until
// its target copy is gone; only then does the syncer take its finalizer off again.
//
// The decision (decideFinalizer) and the JSON patches that add or remove our entry alone are
// pure functions of the cached source object, table-tested in tests/unit/finalizer_test.cpp.
// setFinalizer carries a patch out through a Client (loop-affine, like the Client). Both the
// reconciler and `kube-bisync --remove-finalizers` use them.
//
// Why JSON patches and not server-side apply: the syncer's applies to the source object would
// drop a finalizer owned by the same field manager whenever their configuration lacks it. A
// JSON patch tests the finalizers array as the syncer read it and names the resourceVersion it
// read (a precondition: 409 when the object changed), so another writer's entry is never lost.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::engine {

inline constexpr std::string_view kCleanupFinalizer = "kube-bisync.io/cleanup";

// The index of `finalizer` in metadata.finalizers of `object`; nullopt when it is not there.
std::optional<std::size_t> finalizerIndex(const kube::JsonValue& object,
                                          std::string_view finalizer);
inline bool hasFinalizer(const kube::JsonValue& object, std::string_view finalizer) {
  return finalizerIndex(object, finalizer).has_value();
}

// What the reconcile of one source object does about our finalizer, once the copies the source
// no longer wants have been deleted (unwantedTargets decides that; a terminating source wants
// none).
enum class FinalizerStep {
  None,         // nothing to do about it
  Add,          // put ours on the source: it is copied down and guarded
  WaitForCopy,  // a copy of ours is still on the target (being deleted): its deletion event
                // brings the key back
  Remove,       // no copy of ours is left, or the syncer no longer guards it: take ours off
};

struct FinalizerInputs {
  bool enabled = true;        // --finalizer
  bool syncsDown = false;     // the policy's direction is down or bidirectional
  bool sourceSynced = false;  // the source is copied now (selected, not terminating, not none)
  bool terminating = false;   // the source has a deletionTimestamp
  bool hasOurs = false;       // it carries kCleanupFinalizer
  bool copyPresent = false;   // the target cache holds a copy of ours of it (terminating or not)
};

FinalizerStep decideFinalizer(const FinalizerInputs& in);
std::string_view toString(FinalizerStep step);

// The JSON patch that adds `finalizer` to `object` (nullopt when it has it already), or removes
// it (nullopt when it lacks it): it tests the finalizers array as `object` holds it and replaces
// metadata.resourceVersion with the one `object` carries, so the server answers 409 Conflict
// (re-read and try again) if anyone changed the object since, 422 if the array differs.
std::optional<std::string> addFinalizerPatch(const kube::JsonValue& object,
                                             std::string_view finalizer);
std::optional<std::string> removeFinalizerPatch(const kube::JsonValue& object,
                                                std::string_view finalizer);

// What setFinalizer did.
struct FinalizerWrite {
  bool written = false;         // false: nothing to do (already so, or the object is gone)
  std::string resourceVersion;  // the object's version after the write
};

// Makes `object` (of `resource`, as a cache or list holds it: name, namespace, resourceVersion
// and finalizers at least) carry `finalizer` or not, as `present` says. A 409 or 422 (someone
// changed the object) reads it again and tries again, a few times; 404 is nothing to do.
boost::asio::awaitable<kube::Result<FinalizerWrite>> setFinalizer(
    kube::Client& client, const kube::ResourceInfo& resource, const kube::JsonValue& object,
    std::string_view finalizer, bool present, const std::string& fieldManager);

// What removeFinalizerFromAll did.
struct FinalizerSweep {
  std::size_t removed = 0;
  std::vector<std::string> failures;  // "<ns>/<name>: <error>"
};

// Lists every object of `resource` in all namespaces (paged) and takes `finalizer` off each that
// carries it and whose namespace `selects` accepts. An error when a list fails.
boost::asio::awaitable<kube::Result<FinalizerSweep>> removeFinalizerFromAll(
    kube::Client& client, const kube::ResourceInfo& resource,
    std::function<bool(std::string_view ns)> selects, std::string finalizer,
    std::string fieldManager);

}  // namespace bisync::engine
