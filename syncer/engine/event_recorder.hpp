// EventRecorder: reports problems where users look, as core/v1 Events on the *source* object
// (`kubectl describe` shows them). Like client-go's recorder it rate-limits itself: the same
// (object, reason, message) is recorded at most once per `repeatAfter`, so an object retried
// with backoff does not flood the API server with Events.
//
// Loop-affine: call only on the io_context thread of the Client it writes with.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"

namespace bisync::engine {

enum class EventType { Normal, Warning };

// Event reasons the engine records.
inline constexpr std::string_view kReasonNameClash = "NameClash";
// A source CRD of a kind under `crd: fromTarget` that the syncer did not create: left alone.
inline constexpr std::string_view kReasonForeignCrd = "ForeignCustomResourceDefinition";
inline constexpr std::string_view kReasonSyncFailed = "SyncFailed";
// Both sides changed an `owner: both` field, or the syncer took a field over from another
// field manager.
inline constexpr std::string_view kReasonSyncConflict = "SyncConflict";
// A write was refused (by the API server, or by the policy: a field left to another manager).
inline constexpr std::string_view kReasonSyncRejected = "SyncRejected";
// An API server refused a write with 403 Forbidden (RBAC): the message names the side, the verb
// and the resource. Retried with backoff until the permission is back.
inline constexpr std::string_view kReasonForbidden = "Forbidden";
// Someone keeps rewriting a field the syncer restores: it backs off.
inline constexpr std::string_view kReasonSyncFight = "SyncFight";
// The target refused a change because a field of the copy is immutable (policy onImmutable:
// report): not retried until the source changes.
inline constexpr std::string_view kReasonImmutableField = "ImmutableField";
// (Normal) The copy was deleted and created anew because the target refused to change an
// immutable field of it in place (policy onImmutable: recreate).
inline constexpr std::string_view kReasonCopyRecreated = "CopyRecreated";
// An annotation the syncer reads (merge-base, sync-status) does not parse: it counts as absent.
inline constexpr std::string_view kReasonMalformedAnnotation = "MalformedAnnotation";
// On a target namespace of ours that the syncer would delete, but that holds objects it does
// not manage: it is kept.
inline constexpr std::string_view kReasonNamespaceKept = "NamespaceKept";
// A source object is not copied yet because its target namespace is terminating: it is copied
// once the namespace has gone and been made again.
inline constexpr std::string_view kReasonSyncWaiting = "SyncWaiting";
// A source object being deleted whose target copy cannot be deleted (403, a webhook, the target
// down): our finalizer keeps it until the copy is gone.
inline constexpr std::string_view kReasonCleanupFailed = "CleanupFailed";

// A source Pod that ran on the host is removed because its host Pod was deleted or evicted
// there: its controller (a ReplicaSet) makes a new one.
inline constexpr std::string_view kReasonHostPodGone = "HostPodGone";

class EventRecorder {
 public:
  EventRecorder(kube::Client& client, std::string component, std::string instance,
                std::chrono::seconds repeatAfter = std::chrono::minutes(10));

  // Records an Event about `involved`, a source object of type `resource` as read from the
  // cache (list items carry no apiVersion and kind, so the resource supplies them). Failures to
  // record are logged, never returned: reporting must not stop syncing. Returns true when an Event
  // was written.
  boost::asio::awaitable<bool> record(const kube::ResourceInfo& resource,
                                      const kube::JsonValue& involved, EventType type,
                                      std::string_view reason, std::string_view message);

  std::uint64_t recorded() const { return recorded_; }

 private:
  bool recentlyRecorded(const std::string& fingerprint);

  kube::Client& client_;
  std::string component_;
  std::string instance_;
  std::chrono::seconds repeatAfter_;
  std::map<std::string, std::chrono::steady_clock::time_point> lastRecorded_;
  std::uint64_t recorded_ = 0;
};

// "2026-11-23T10:00:00Z": metav1.Time's format.
std::string rfc3339Now();

}  // namespace bisync::engine
