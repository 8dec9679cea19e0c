// Host Events copied up (docs/sync-engine.md, "Events and Nodes from the host"): which host Event
// becomes which virtual Event, what it holds, and when it is written. A host Event whose involved
// object is a synced copy of ours is recreated in the source cluster against the source object,
// once per host Event (a deterministic name), and updated only when the host Event's count,
// timestamps or message change: never one create per watch event, and a restart finds its own
// copies again by name.
//
// Pure functions of objects, no I/O (the I/O is event_copies.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "syncer/kube/json.hpp"

namespace bisync::engine {

// On a virtual Event the syncer made: the uid of the host Event it copies. With the managed-by
// label and the involved object's uid it says the Event is a copy of ours (an Event a tenant made
// at that name first is left alone).
inline constexpr std::string_view kHostEventAnnotation = "kube-bisync.io/host-event-uid";

// What the host Event informers keep of an Event: its identity and the members a copy is made of
// (involved object, reason, message, type, count and timestamps, series, source, reporting
// controller and instance). Host Events are many; managedFields, `related`, `action` and the rest
// of metadata are dropped.
void compactHostEvent(kube::Json& event);

// The involvedObject of an Event.
struct InvolvedObject {
  std::string apiVersion;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
  std::string fieldPath;  // "spec.containers{app}": kept on the copy
};
// Its involved object; nullopt when it names no namespaced object with a uid (only those can be
// copies of ours).
std::optional<InvolvedObject> involvedObjectOf(const kube::JsonValue& event);
// "apps" of "apps/v1", "" of "v1".
std::string_view groupOfApiVersion(std::string_view apiVersion);

// The source object a virtual Event is about.
struct EventSubject {
  std::string apiVersion;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
};

// What a copy carries of an Event and is updated for. An events.k8s.io Event read through the core
// API has `series` and `eventTime` instead of count and first/lastTimestamp: they are read as
// those (count 1 without either, timestamps cut to seconds, as metav1.Time holds them).
struct EventFacts {
  std::int64_t count = 1;
  std::string firstTimestamp;
  std::string lastTimestamp;
  std::string message;
  bool operator==(const EventFacts&) const = default;
};
EventFacts factsOf(const kube::JsonValue& event);

// The name of the copy of host Event `hostEventUid` about source object `sourceName`:
// `<sourceName>.<16 hex digits of a hash of the host Event's uid>`, at most 253 characters (a
// long source name is cut; the hash keeps it unique). The same on every run, so a restart finds
// the copy it made before instead of making another.
std::string virtualEventName(std::string_view sourceName, std::string_view hostEventUid);

// The virtual Event for `hostEvent` about `subject`, made by instance `instance`: the host's
// reason, message, type, count, timestamps, source (component and host), reporting controller
// and instance, and the involved object's fieldPath; involvedObject names the source object.
kube::Json virtualEventOf(const kube::JsonValue& hostEvent, const EventSubject& subject,
                          std::string_view instance);

enum class EventWrite {
  None,    // the copy holds what the host Event says
  Create,  // no copy is known: create it (AlreadyExists: a restart; see isOurEventCopy)
  Update,  // count, timestamps or message changed: patch them
};
// `written`: what the copy held after our last write (nullopt: no copy known).
EventWrite decideEventWrite(const std::optional<EventFacts>& written, const EventFacts& wanted);

// The merge patch of an update: count, firstTimestamp, lastTimestamp and message, with the copy's
// uid as precondition (the server answers 409 when the Event at that name is another one).
std::string eventUpdatePatch(const EventFacts& wanted, std::string_view virtualUid);

// Whether `existing`, the virtual Event found at a copy's name, is the copy this instance made of
// host Event `hostEventUid` about source object `subjectUid`.
bool isOurEventCopy(const kube::JsonValue& existing, std::string_view instance,
                    std::string_view hostEventUid, std::string_view subjectUid);

}  // namespace bisync::engine
