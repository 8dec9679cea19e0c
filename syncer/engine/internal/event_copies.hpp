// EventCopies: host Events about synced copies of ours, recreated in the source cluster against
// the source objects (event_copy_rules.hpp decides what and when; this file does the I/O). One
// Event informer per target namespace of ours, following the target informers of the synced kinds
// (watch/unwatch from ownership.cpp); a queue of its own keyed by host Event ("ns/name"), so that
// a burst of host Events never delays the reconciles of objects, and whose workers start only
// once the replica leads (nothing is written by a follower). docs/sync-engine.md, "Events and
// Nodes from the host".
//
// Loop-affine, like the Syncer: everything runs on the clients' io_context.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/engine/event_copy_rules.hpp"
#include "syncer/engine/work_queue.hpp"
#include "syncer/kube/informer.hpp"

namespace bisync::engine::internal {

struct SyncState;
struct ResourceSync;

struct EventCopyStats {
  std::uint64_t created = 0;  // virtual Events created
  std::uint64_t updated = 0;  // virtual Events patched (count, timestamps, message)
  std::uint64_t foreign = 0;  // an Event not ours was found at a copy's name: left alone
};

class EventCopies {
 public:
  explicit EventCopies(SyncState& state);
  ~EventCopies();
  EventCopies(const EventCopies&) = delete;
  EventCopies& operator=(const EventCopies&) = delete;

  // Starts the Event informer of target namespace `ns` (a namespace of ours), unless it runs.
  void watch(const std::string& ns);
  // Stops it and forgets the copies of its Events (the copies themselves stay: their server's
  // Event TTL removes them).
  void unwatch(std::string_view ns);
  // The replica leads: the workers start (events queued meanwhile are copied then).
  void start();
  // Stops the workers (in-flight writes finish) and the informers.
  boost::asio::awaitable<void> shutdown();
  std::vector<kube::Informer*> informers();
  const EventCopyStats& stats() const { return stats_; }

 private:
  // What the copy of one host Event held after our last write, or that the name is not ours.
  struct Written {
    std::string ns;
    std::string name;
    std::string uid;
    EventFacts facts;
    bool foreign = false;
  };
  boost::asio::awaitable<bool> handle(const std::string& key);
  // The source object the host Event `event` (cached under `key`) is about, when its involved
  // object is a synced copy of ours of that very incarnation; nullopt otherwise. `retry` is set
  // when the copy may only be missing from a cache that lags.
  std::optional<EventSubject> subjectOf(const kube::JsonValue& event, bool& retry) const;
  boost::asio::awaitable<bool> create(const std::string& key, const kube::JsonValue& event,
                                      const EventSubject& subject, const EventFacts& wanted);
  // The copy's name was taken (a restart, or someone else): ours is taken on, updated if needed.
  boost::asio::awaitable<bool> adopt(const std::string& key, const std::string& hostEventUid,
                                     const EventSubject& subject, const std::string& name,
                                     const EventFacts& wanted);
  boost::asio::awaitable<bool> update(const std::string& key, Written& written,
                                      const EventFacts& wanted);

  SyncState& state_;
  WorkQueue queue_;
  bool started_ = false;
  std::map<std::string, std::unique_ptr<kube::Informer>, std::less<>> informers_;
  std::unordered_map<std::string, Written> written_;  // by host Event key
  EventCopyStats stats_;
};

}  // namespace bisync::engine::internal
