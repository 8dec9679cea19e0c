// The leader-election state machine, client-go's tools/leaderelection semantics, as pure code:
// no I/O, no clock of its own. The elector (elector.hpp) reads the coordination.k8s.io/v1
// Lease, asks decide() what to do, writes what it says and reports the answer back.
//
// Time: a record's renewTime is the holder's wall clock and is never trusted. A record has
// expired when it has not changed for its leaseDurationSeconds as measured on OUR monotonic
// clock since we first saw it in its current form (client-go's observedTime). So any clock skew
// between replicas is tolerated; only a difference in clock *rate* is not, and the gap between
// the lease duration and the renew deadline absorbs it.
//
// Writes: a leader may write only while now < last successful renew + renew deadline, judged by
// the local monotonic clock (writesAllowed). The renew is timed from when its request was SENT:
// the other replicas can only have seen it later, so their expiry comes later than ours.
//
// Not thread-safe; the elector keeps it on the loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "syncer/kube/json.hpp"

namespace bisync::leader {

using Clock = std::chrono::steady_clock;

// The spec of a Lease, and the resourceVersion it was read at.
struct LeaseRecord {
  std::string holderIdentity;
  std::int64_t leaseDurationSeconds = 0;
  std::string acquireTime;  // MicroTime, RFC 3339 with microseconds
  std::string renewTime;
  std::int64_t leaseTransitions = 0;
  std::string resourceVersion;
  bool operator==(const LeaseRecord&) const = default;
};

struct ElectionOptions {
  std::chrono::milliseconds leaseDuration{15000};
  std::chrono::milliseconds renewDeadline{10000};
  std::chrono::milliseconds retryPeriod{2000};
};

// Why the options cannot work (client-go's checks: renew deadline < lease duration, retry period
// < renew deadline, all positive); nullopt when they can.
std::optional<std::string> invalidOptions(const ElectionOptions& options);

enum class LeaseAction {
  Create,    // no Lease yet: create it, holding it
  Acquire,   // free or expired: take it over (update at the read resourceVersion)
  Renew,     // ours: renew it (update at the read resourceVersion)
  Wait,      // someone else holds it and it has not expired
  StepDown,  // we led and lost it (renew deadline passed, or another holder): stop writing
};
std::string_view toString(LeaseAction action);

struct LeaseDecision {
  LeaseAction action = LeaseAction::Wait;
  LeaseRecord desired;  // what to write (Create, Acquire, Renew)
  std::string why;      // for logs: "held by x, expires in 3 s"
};

class LeaseElection {
 public:
  LeaseElection(std::string identity, ElectionOptions options);

  // `current` is the Lease as read now (nullopt: absent); `now` the local monotonic time of the
  // read; `wallNow` the MicroTime to write in renewTime/acquireTime.
  LeaseDecision decide(const std::optional<LeaseRecord>& current, Clock::time_point now,
                       std::string_view wallNow);
  // The write of decide()'s `desired`, sent at `sentAt`, succeeded; `written` is the record as
  // the server answered (its new resourceVersion).
  void succeeded(const LeaseRecord& written, Clock::time_point sentAt);
  // The write failed. A conflict (409) means someone else changed the Lease since we read it:
  // whoever it was, we do not hold it now; until a renewal succeeds, the renew deadline runs.
  void failed(bool conflict);
  // The record that gives the Lease up (client-go's ReleaseOnCancel): no holder, a 1 s duration,
  // renewTime now, so that the next candidate takes it at once. nullopt when we do not lead.
  std::optional<LeaseRecord> releaseRecord(std::string_view wallNow) const;
  void released();

  bool leading() const { return leading_; }
  // True while we lead and the renew deadline since the last successful renew has not passed.
  bool writesAllowed(Clock::time_point now) const;
  // Leading, but the renew deadline has passed: we must stop.
  bool renewDeadlinePassed(Clock::time_point now) const;
  // The holder of the last record seen ("" when none or absent).
  const std::string& observedHolder() const { return observed_.holderIdentity; }
  const std::string& identity() const { return identity_; }
  const ElectionOptions& options() const { return options_; }

 private:
  void observe(const LeaseRecord& record, Clock::time_point now);
  LeaseDecision stepDown(std::string why);
  LeaseDecision take(const LeaseRecord& current, std::string_view wallNow, LeaseAction action);

  std::string identity_;
  ElectionOptions options_;
  std::optional<LeaseRecord> observedRecord_;  // the record as last read or written
  LeaseRecord observed_;
  Clock::time_point observedTime_{};  // when observed_ last changed, on our clock
  bool leading_ = false;
  Clock::time_point lastRenew_{};  // when the last successful renew (or acquire) was sent
};

// Lease JSON <-> LeaseRecord.
LeaseRecord leaseRecordOf(const kube::JsonValue& lease);
// A Lease `namespace`/`name` holding `record` (with metadata.resourceVersion when it has one).
kube::Json leaseObject(std::string_view ns, std::string_view name, const LeaseRecord& record);
// `time` as a Kubernetes MicroTime: 2006-01-02T15:04:05.000000Z.
std::string microTime(std::chrono::system_clock::time_point time);

}  // namespace bisync::leader
