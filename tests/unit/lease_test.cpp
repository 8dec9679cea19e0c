#include "syncer/leader/lease.hpp"

#include <chrono>
#include <optional>
#include <string>

#include "syncer/kube/json.hpp"
#include "tests/support/catch.hpp"

namespace {

using bisync::leader::Clock;
using bisync::leader::ElectionOptions;
using bisync::leader::LeaseAction;
using bisync::leader::LeaseDecision;
using bisync::leader::LeaseElection;
using bisync::leader::LeaseRecord;
using namespace std::chrono_literals;

constexpr const char* kWall = "2026-12-05T06:00:00.000000Z";

// The monotonic clock of a test: a fixed start and offsets from it.
const Clock::time_point kStart = Clock::time_point{} + 1000h;
Clock::time_point at(std::chrono::milliseconds offset) { return kStart + offset; }

LeaseRecord heldBy(const std::string& holder, const std::string& resourceVersion,
                   const std::string& renewTime = kWall, std::int64_t transitions = 3) {
  return {holder, 15, kWall, renewTime, transitions, resourceVersion};
}

// What the server answers to a successful write of `desired`: the same record, a new version.
LeaseRecord written(const LeaseDecision& decision, const std::string& resourceVersion) {
  LeaseRecord record = decision.desired;
  record.resourceVersion = resourceVersion;
  return record;
}

// `election` holds the Lease, acquired at kStart (resourceVersion 10).
LeaseRecord lead(LeaseElection& election) {
  const LeaseDecision decision = election.decide(std::nullopt, kStart, kWall);
  REQUIRE(decision.action == LeaseAction::Create);
  const LeaseRecord record = written(decision, "10");
  election.succeeded(record, kStart);
  REQUIRE(election.leading());
  return record;
}

}  // namespace

TEST_CASE("an absent Lease is created holding it, and an empty one is acquired", "[leader]") {
  LeaseElection election("me", ElectionOptions{});
  const LeaseDecision create = election.decide(std::nullopt, kStart, kWall);
  CHECK(create.action == LeaseAction::Create);
  CHECK(create.desired.holderIdentity == "me");
  CHECK(create.desired.leaseDurationSeconds == 15);
  CHECK(create.desired.acquireTime == kWall);
  CHECK(create.desired.renewTime == kWall);
  CHECK(create.desired.leaseTransitions == 0);
  CHECK_FALSE(election.leading());
  CHECK_FALSE(election.writesAllowed(kStart));

  LeaseElection other("other", ElectionOptions{});
  const LeaseDecision acquire = other.decide(heldBy("", "7"), kStart, kWall);
  CHECK(acquire.action == LeaseAction::Acquire);
  CHECK(acquire.desired.holderIdentity == "other");
  CHECK(acquire.desired.resourceVersion == "7");  // the update's precondition
  CHECK(acquire.desired.leaseTransitions == 4);
  other.succeeded(written(acquire, "8"), kStart);
  CHECK(other.leading());
  CHECK(other.writesAllowed(kStart + 1s));
}

TEST_CASE("the leader renews keeping acquireTime and transitions", "[leader]") {
  LeaseElection election("me", ElectionOptions{});
  const LeaseRecord current = lead(election);
  const LeaseDecision renew = election.decide(current, at(2s), "2026-12-05T06:00:02.000000Z");
  CHECK(renew.action == LeaseAction::Renew);
  CHECK(renew.desired.acquireTime == current.acquireTime);
  CHECK(renew.desired.renewTime == "2026-12-05T06:00:02.000000Z");
  CHECK(renew.desired.leaseTransitions == current.leaseTransitions);
  CHECK(renew.desired.resourceVersion == "10");
  election.succeeded(written(renew, "11"), at(2s));
  // The deadline now runs from the renewal (sent at 2 s): open until 12 s.
  CHECK(election.writesAllowed(at(11900ms)));
  CHECK_FALSE(election.writesAllowed(at(12s)));
}

TEST_CASE("another holder's unexpired Lease is waited for, an expired one taken over", "[leader]") {
  LeaseElection election("me", ElectionOptions{});
  const LeaseRecord other = heldBy("other", "20");
  CHECK(election.decide(other, kStart, kWall).action == LeaseAction::Wait);
  // Renewed by its holder (a new version): the expiry starts again from when we saw it.
  const LeaseRecord renewed = heldBy("other", "21");
  CHECK(election.decide(renewed, at(10s), kWall).action == LeaseAction::Wait);
  CHECK(election.decide(renewed, at(24900ms), kWall).action == LeaseAction::Wait);
  const LeaseDecision takeOver = election.decide(renewed, at(25s), kWall);
  REQUIRE(takeOver.action == LeaseAction::Acquire);
  CHECK(takeOver.desired.holderIdentity == "me");
  CHECK(takeOver.desired.leaseTransitions == renewed.leaseTransitions + 1);
  CHECK(takeOver.desired.acquireTime == kWall);
  CHECK(takeOver.desired.resourceVersion == "21");
  CHECK_FALSE(election.writesAllowed(at(25s)));  // not before the update succeeded
  election.succeeded(written(takeOver, "22"), at(25s));
  CHECK(election.writesAllowed(at(25s)));
}

TEST_CASE("a candidate that loses the race for a Lease on a conflict waits for the winner",
          "[leader]") {
  LeaseElection first("first", ElectionOptions{});
  LeaseElection second("second", ElectionOptions{});
  const LeaseRecord expired = heldBy("", "30");
  const LeaseDecision firstTry = first.decide(expired, kStart, kWall);
  const LeaseDecision secondTry = second.decide(expired, kStart, kWall);
  REQUIRE(firstTry.action == LeaseAction::Acquire);
  REQUIRE(secondTry.action == LeaseAction::Acquire);
  // The server takes the first update at version 30; the second gets 409.
  const LeaseRecord winner = written(firstTry, "31");
  first.succeeded(winner, kStart);
  second.failed(true);
  CHECK(first.leading());
  CHECK_FALSE(second.leading());
  CHECK_FALSE(second.writesAllowed(kStart));
  CHECK(second.decide(winner, at(100ms), kWall).action == LeaseAction::Wait);
  CHECK(second.observedHolder() == "first");
}

TEST_CASE("a leader whose renewal conflicts with another holder steps down", "[leader]") {
  LeaseElection election("me", ElectionOptions{});
  lead(election);
  election.failed(true);
  CHECK(election.writesAllowed(at(1s)));
  const LeaseDecision next = election.decide(heldBy("other", "40"), at(1s), kWall);
  CHECK(next.action == LeaseAction::StepDown);
  CHECK_FALSE(election.leading());
  CHECK_FALSE(election.writesAllowed(at(1s)));  // at once, not at the renew deadline
}

TEST_CASE("expiry is judged by the local time since the record changed, whatever its renewTime",
          "[leader]") {
  // A holder whose clock is a day behind, or a day ahead: its renewTime says nothing to us.
  for (const std::string renewTime :
       {"2026-12-04T06:00:00.000000Z", "2026-12-06T06:00:00.000000Z"}) {
    LeaseElection election("me", ElectionOptions{});
    const LeaseRecord skewed = heldBy("other", "50", renewTime);
    CHECK(election.decide(skewed, kStart, kWall).action == LeaseAction::Wait);
    CHECK(election.decide(skewed, at(14s), kWall).action == LeaseAction::Wait);
    CHECK(election.decide(skewed, at(15s), kWall).action == LeaseAction::Acquire);
  }
  // The same record seen again is not a renewal; a new version is, even with an older renewTime.
  LeaseElection election("me", ElectionOptions{});
  CHECK(election.decide(heldBy("other", "60"), kStart, kWall).action == LeaseAction::Wait);
  const LeaseRecord older = heldBy("other", "61", "2000-01-01T00:00:00.000000Z");
  CHECK(election.decide(older, at(10s), kWall).action == LeaseAction::Wait);
  CHECK(election.decide(older, at(20s), kWall).action == LeaseAction::Wait);
  CHECK(election.decide(older, at(25s), kWall).action == LeaseAction::Acquire);
}

TEST_CASE("a leader past its renew deadline steps down and may not write", "[leader]") {
  LeaseElection election("me", ElectionOptions{});
  const LeaseRecord current = lead(election);
  election.failed(false);  // a renewal that timed out
  CHECK(election.writesAllowed(at(9999ms)));
  CHECK_FALSE(election.writesAllowed(at(10s)));
  CHECK(election.renewDeadlinePassed(at(10s)));
  // Even though the Lease still names us (a process paused past its deadline, then resumed).
  const LeaseDecision next = election.decide(current, at(30s), kWall);
  CHECK(next.action == LeaseAction::StepDown);
}

TEST_CASE("releasing a Lease frees it for the next candidate at once", "[leader]") {
  LeaseElection election("me", ElectionOptions{});
  const LeaseRecord current = lead(election);
  const std::optional<LeaseRecord> release = election.releaseRecord("2026-12-05T06:00:05.000000Z");
  REQUIRE(release);
  CHECK(release->holderIdentity.empty());
  CHECK(release->leaseDurationSeconds == 1);
  CHECK(release->renewTime == "2026-12-05T06:00:05.000000Z");
  CHECK(release->leaseTransitions == current.leaseTransitions);
  CHECK(release->resourceVersion == "10");
  election.released();
  CHECK_FALSE(election.writesAllowed(at(1s)));

  LeaseElection next("next", ElectionOptions{});
  LeaseRecord released = *release;
  released.resourceVersion = "11";
  const LeaseDecision take = next.decide(released, at(1s), kWall);
  CHECK(take.action == LeaseAction::Acquire);
  CHECK(take.desired.leaseTransitions == current.leaseTransitions + 1);

  LeaseElection follower("follower", ElectionOptions{});
  CHECK_FALSE(follower.releaseRecord(kWall));
}

TEST_CASE("election options must leave a leader time to stop before others take over", "[leader]") {
  using bisync::leader::invalidOptions;
  CHECK_FALSE(invalidOptions(ElectionOptions{}));
  CHECK(invalidOptions({15s, 15s, 2s}));
  CHECK(invalidOptions({15s, 10s, 10s}));
  CHECK(invalidOptions({15s, 10s, 0s}));
  CHECK_FALSE(invalidOptions({6s, 4s, 1s}));
}

TEST_CASE("a Lease round-trips through its JSON object", "[leader]") {
  const LeaseRecord record = heldBy("pod-a_0123", "77");
  const bisync::kube::Json object = bisync::leader::leaseObject("kube-system", "kb", record);
  CHECK(bisync::kube::stringAt(object, "/apiVersion") == "coordination.k8s.io/v1");
  CHECK(bisync::kube::stringAt(object, "/metadata/namespace") == "kube-system");
  CHECK(bisync::leader::leaseRecordOf(object) == record);
  CHECK(bisync::leader::microTime(std::chrono::system_clock::time_point{} + 1500ms) ==
        "1970-01-01T00:00:01.500000Z");
}
