// When a reconcile stops waiting for the cache to show the syncer's own write (ownWriteCaughtUp,
// syncer/engine/internal/pending_write.hpp): pure decision code.
#include <chrono>
#include <string>
#include <unordered_map>

#include "syncer/engine/internal/pending_write.hpp"
#include "syncer/kube/store.hpp"
#include "tests/support/catch.hpp"

namespace {

using bisync::engine::internal::ownWriteCaughtUp;
using bisync::engine::internal::PendingWrite;
using bisync::engine::internal::recordPendingBinding;
using bisync::kube::CachedObject;

PendingWrite wroteAt(const char* resourceVersion) {
  return PendingWrite{resourceVersion, std::chrono::steady_clock::now()};
}

}  // namespace

TEST_CASE("an own write is seen once the cached object reaches its version", "[pending-writes]") {
  const PendingWrite write = wroteAt("100");
  const CachedObject older("ns/cm", "uid-1", "99", "{}");
  const CachedObject written("ns/cm", "uid-1", "100", "{}");
  const CachedObject later("ns/cm", "uid-1", "104", "{}");
  CHECK_FALSE(ownWriteCaughtUp(write, &older, "120"));  // the object decides while it is there
  CHECK(ownWriteCaughtUp(write, &written, "100"));
  CHECK(ownWriteCaughtUp(write, &later, "104"));
}

TEST_CASE("an own write to an object gone from the cache is seen once the informer passed it",
          "[pending-writes]") {
  const PendingWrite write = wroteAt("100");
  // Deleted right after the write, its deletion handled before the write's answer (seed 4).
  CHECK(ownWriteCaughtUp(write, nullptr, "101"));
  // Not there yet: the write (a create) has not come in.
  CHECK_FALSE(ownWriteCaughtUp(write, nullptr, "99"));
  // An informer that has not listed proves nothing.
  CHECK_FALSE(ownWriteCaughtUp(write, nullptr, ""));
  CHECK_FALSE(ownWriteCaughtUp(write, nullptr, "not-a-number"));
}

TEST_CASE("an own deletion is seen once the cache no longer holds that incarnation",
          "[pending-writes]") {
  PendingWrite deletion = wroteAt("");
  deletion.deletedUid = "uid-1";
  const CachedObject same("ns/cm", "uid-1", "100", "{}");
  const CachedObject anew("ns/cm", "uid-2", "105", "{}");
  CHECK_FALSE(ownWriteCaughtUp(deletion, &same, "200"));
  CHECK(ownWriteCaughtUp(deletion, &anew, "105"));
  CHECK(ownWriteCaughtUp(deletion, nullptr, ""));
}

// A Binding answers with a Status, not the Pod: the cache has seen it at any version after the
// one the Pod was bound at (the CI flake of issue 16: a Pod bound twice, 409 "already assigned").
TEST_CASE("a binding is seen once the cache holds a later version of the Pod", "[pending-writes]") {
  std::unordered_map<std::string, PendingWrite> pending;
  recordPendingBinding(pending, "ns/pod", "100");
  const PendingWrite& binding = pending.at("ns/pod");
  const CachedObject unbound("ns/pod", "uid-1", "100", "{}");
  const CachedObject bound("ns/pod", "uid-1", "101", "{}");
  CHECK_FALSE(ownWriteCaughtUp(binding, &unbound, "100"));
  CHECK(ownWriteCaughtUp(binding, &bound, "101"));
  CHECK_FALSE(ownWriteCaughtUp(binding, nullptr, "100"));
  CHECK(ownWriteCaughtUp(binding, nullptr, "130"));  // deleted after its binding
}
