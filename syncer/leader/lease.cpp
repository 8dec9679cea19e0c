#include "syncer/leader/lease.hpp"

#include <cstdio>
#include <ctime>
#include <utility>

namespace bisync::leader {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::int64_t wholeSeconds(milliseconds duration) {
  return duration_cast<seconds>(duration).count();
}

}  // namespace

std::optional<std::string> invalidOptions(const ElectionOptions& options) {
  if (options.leaseDuration < seconds(1)) return "the lease duration must be at least 1 s";
  if (options.retryPeriod <= milliseconds(0)) return "the retry period must be positive";
  if (options.renewDeadline >= options.leaseDuration) {
    return "the renew deadline must be shorter than the lease duration (a leader must stop "
           "writing before the others may take over)";
  }
  if (options.retryPeriod >= options.renewDeadline) {
    return "the retry period must be shorter than the renew deadline (a leader must get at least "
           "one more try to renew before it gives up)";
  }
  return std::nullopt;
}

std::string_view toString(LeaseAction action) {
  switch (action) {
    case LeaseAction::Create: return "create";
    case LeaseAction::Acquire: return "acquire";
    case LeaseAction::Renew: return "renew";
    case LeaseAction::Wait: return "wait";
    case LeaseAction::StepDown: return "step down";
  }
  return "unknown";
}

LeaseElection::LeaseElection(std::string identity, ElectionOptions options)
    : identity_(std::move(identity)), options_(options) {}

void LeaseElection::observe(const LeaseRecord& record, Clock::time_point now) {
  // Any change, the resourceVersion included, restarts the expiry: client-go compares the raw
  // record the same way.
  if (observedRecord_ && *observedRecord_ == record) return;
  observedRecord_ = record;
  observed_ = record;
  observedTime_ = now;
}

LeaseDecision LeaseElection::take(const LeaseRecord& current, std::string_view wallNow,
                                  LeaseAction action) {
  LeaseRecord desired;
  desired.holderIdentity = identity_;
  desired.leaseDurationSeconds = wholeSeconds(options_.leaseDuration);
  desired.renewTime = std::string(wallNow);
  desired.resourceVersion = current.resourceVersion;
  if (action == LeaseAction::Renew) {
    desired.acquireTime = current.acquireTime;
    desired.leaseTransitions = current.leaseTransitions;
  } else {
    desired.acquireTime = std::string(wallNow);
    desired.leaseTransitions = current.leaseTransitions + 1;
  }
  return {action, std::move(desired), ""};
}

LeaseDecision LeaseElection::decide(const std::optional<LeaseRecord>& current,
                                    Clock::time_point now, std::string_view wallNow) {
  if (renewDeadlinePassed(now)) {
    return stepDown("the renew deadline passed without a successful renewal");
  }
  if (!current) {
    LeaseDecision create = take(LeaseRecord{}, wallNow, LeaseAction::Acquire);
    create.action = LeaseAction::Create;
    create.desired.leaseTransitions = 0;
    create.why = "no Lease yet";
    return create;
  }
  observe(*current, now);
  const std::string& holder = current->holderIdentity;
  if (!holder.empty() && holder != identity_) {
    if (leading_) return stepDown("the Lease is held by " + holder + " now");
    // Measured from when WE saw this record appear, never from its renewTime.
    const auto expires = observedTime_ + seconds(current->leaseDurationSeconds);
    if (now < expires) {
      const auto left = duration_cast<milliseconds>(expires - now).count();
      return {LeaseAction::Wait,
              {},
              "held by " + holder + ", expires in " + std::to_string(left) + " ms unless renewed"};
    }
    LeaseDecision acquire = take(*current, wallNow, LeaseAction::Acquire);
    acquire.why = "the Lease of " + holder + " expired";
    return acquire;
  }
  if (holder == identity_) {
    LeaseDecision renew = take(*current, wallNow, LeaseAction::Renew);
    renew.why = "ours";
    return renew;
  }
  LeaseDecision acquire = take(*current, wallNow, LeaseAction::Acquire);
  acquire.why = "the Lease is free";
  return acquire;
}

LeaseDecision LeaseElection::stepDown(std::string why) {
  leading_ = false;  // closes the write gate at once
  return {LeaseAction::StepDown, {}, std::move(why)};
}

void LeaseElection::succeeded(const LeaseRecord& written, Clock::time_point sentAt) {
  observedRecord_ = written;
  observed_ = written;
  observedTime_ = sentAt;
  lastRenew_ = sentAt;
  leading_ = written.holderIdentity == identity_;
}

void LeaseElection::failed(bool conflict) {
  // The Lease changed under us: forget what we saw, so that the next read starts its expiry
  // anew and says who holds it. Leading or not is then decided from that read (and the renew
  // deadline), as in client-go.
  if (conflict) observedRecord_.reset();
}

std::optional<LeaseRecord> LeaseElection::releaseRecord(std::string_view wallNow) const {
  if (!leading_) return std::nullopt;
  LeaseRecord release;
  release.leaseDurationSeconds = 1;
  release.acquireTime = std::string(wallNow);
  release.renewTime = std::string(wallNow);
  release.leaseTransitions = observed_.leaseTransitions;
  release.resourceVersion = observed_.resourceVersion;
  return release;
}

void LeaseElection::released() { leading_ = false; }

bool LeaseElection::writesAllowed(Clock::time_point now) const {
  return leading_ && now < lastRenew_ + options_.renewDeadline;
}

bool LeaseElection::renewDeadlinePassed(Clock::time_point now) const {
  return leading_ && now >= lastRenew_ + options_.renewDeadline;
}

LeaseRecord leaseRecordOf(const kube::JsonValue& lease) {
  LeaseRecord record;
  record.resourceVersion = std::string(kube::resourceVersionOf(lease));
  const kube::JsonValue* spec = kube::member(lease, "spec");
  if (spec == nullptr) return record;
  record.holderIdentity = std::string(kube::stringMember(*spec, "holderIdentity"));
  record.leaseDurationSeconds = kube::intMember(*spec, "leaseDurationSeconds").value_or(0);
  record.acquireTime = std::string(kube::stringMember(*spec, "acquireTime"));
  record.renewTime = std::string(kube::stringMember(*spec, "renewTime"));
  record.leaseTransitions = kube::intMember(*spec, "leaseTransitions").value_or(0);
  return record;
}

kube::Json leaseObject(std::string_view ns, std::string_view name, const LeaseRecord& record) {
  kube::Json lease(rapidjson::kObjectType);
  auto& allocator = lease.GetAllocator();
  const auto text = [&allocator](std::string_view value) {
    return kube::stringValue(value, allocator);
  };
  kube::JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", text(name), allocator);
  metadata.AddMember("namespace", text(ns), allocator);
  if (!record.resourceVersion.empty()) {
    metadata.AddMember("resourceVersion", text(record.resourceVersion), allocator);
  }
  kube::JsonValue spec(rapidjson::kObjectType);
  spec.AddMember("holderIdentity", text(record.holderIdentity), allocator);
  spec.AddMember("leaseDurationSeconds", record.leaseDurationSeconds, allocator);
  if (!record.acquireTime.empty())
    spec.AddMember("acquireTime", text(record.acquireTime), allocator);
  if (!record.renewTime.empty()) spec.AddMember("renewTime", text(record.renewTime), allocator);
  spec.AddMember("leaseTransitions", record.leaseTransitions, allocator);
  lease.AddMember("apiVersion", "coordination.k8s.io/v1", allocator);
  lease.AddMember("kind", "Lease", allocator);
  lease.AddMember("metadata", metadata, allocator);
  lease.AddMember("spec", spec, allocator);
  return lease;
}

std::string microTime(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::time_t secondsSinceEpoch = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&secondsSinceEpoch, &utc);
  char text[40];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return std::string(text, length) + fraction;
}

}  // namespace bisync::leader
