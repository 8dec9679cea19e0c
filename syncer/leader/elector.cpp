#include "syncer/leader/elector.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <optional>
#include <random>
#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bisync::leader {

namespace asio = boost::asio;

namespace {

std::string wallNow() { return microTime(std::chrono::system_clock::now()); }

// Candidates spread their tries over [1, 1.2] retry periods (client-go jitters its acquire loop
// too), so that replicas started together do not keep colliding; a leader renews on the period.
std::chrono::milliseconds jittered(std::chrono::milliseconds period) {
  static std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> stretch(1.0, 1.2);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(period.count()) * stretch(random)));
}

}  // namespace

kube::ResourceInfo leasesResource() {
  return {"coordination.k8s.io",
          "v1",
          "leases",
          "Lease",
          true,
          false,
          {"create", "delete", "get", "list", "patch", "update", "watch"}};
}

std::string newIdentity() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host = {'k', 'u', 'b', 'e', '-', 'b'};
  std::random_device random;
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", random(), random());
  return std::string(host.data()) + "_" + suffix;
}

LeaderElector::LeaderElector(kube::Client& client, ElectorConfig config, ElectorCallbacks callbacks)
    : client_(client),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      election_(config_.identity, config_.options),
      leases_(leasesResource()),
      timer_(client.ioContext()) {}

std::string LeaderElector::describe() const { return config_.ns + "/" + config_.name; }

asio::awaitable<void> LeaderElector::run() {
  running_ = true;
  spdlog::info("leader election: attempting to acquire Lease {} as {}", describe(),
               election_.identity());
  while (!stopping_ && !lost_) {
    co_await tryAcquireOrRenew();
    if (stopping_ || lost_) break;
    const auto period = config_.options.retryPeriod;
    timer_.expires_after(election_.leading() ? period : jittered(period));
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  running_ = false;
}

void LeaderElector::stepDown(const std::string& why) {
  lost_ = true;
  spdlog::error("leader election lost: {} (Lease {}, identity {})", why, describe(),
                election_.identity());
  if (callbacks_.onStoppedLeading) callbacks_.onStoppedLeading(why);
}

asio::awaitable<void> LeaderElector::tryAcquireOrRenew() {
  // Before any request: a process resumed after a pause must see at once that it is too late.
  if (election_.renewDeadlinePassed(Clock::now())) {
    stepDown("the renew deadline passed without a successful renewal");
    co_return;
  }
  // Twice at most: after a conflict the Lease is read again at once, to learn who holds it.
  for (int attempt = 0; attempt < 2 && !stopping_; ++attempt) {
    const kube::Result<kube::Json> read = co_await client_.get(leases_, config_.ns, config_.name);
    if (!read && !read.error().isNotFound()) {
      spdlog::warn("leader election: reading Lease {}: {}", describe(), read.error().describe());
      co_return;
    }
    const std::optional<LeaseRecord> current =
        read ? std::optional(leaseRecordOf(*read)) : std::nullopt;
    const Clock::time_point now = Clock::now();
    const LeaseDecision decision = election_.decide(current, now, wallNow());
    if (decision.action == LeaseAction::StepDown) {
      stepDown(decision.why);
      co_return;
    }
    if (decision.action == LeaseAction::Wait) {
      // Once per holder: the line would otherwise repeat every retry period.
      if (election_.observedHolder() != lastHolderLogged_) {
        spdlog::info("leader election: not leading: {}", decision.why);
        lastHolderLogged_ = election_.observedHolder();
      }
      co_return;
    }
    if (co_await write(decision, now)) co_return;
  }
}

// Creates or updates the Lease as `decision` says; false after a conflict (read again).
asio::awaitable<bool> LeaderElector::write(const LeaseDecision& decision,
                                           Clock::time_point sentAt) {
  const bool wasLeading = election_.leading();
  const kube::Json body = leaseObject(config_.ns, config_.name, decision.desired);
  kube::Result<kube::Json> written;
  if (decision.action == LeaseAction::Create) {
    written = co_await client_.create(leases_, config_.ns, body);
  } else {
    written = co_await client_.update(leases_, config_.ns, body);
  }
  if (!written) {
    const bool conflict = written.error().isConflict() || written.error().isAlreadyExists();
    election_.failed(conflict);
    if (!conflict || wasLeading) {
      spdlog::warn("leader election: {} of Lease {} failed: {}", toString(decision.action),
                   describe(), written.error().describe());
    }
    co_return !conflict;
  }
  election_.succeeded(leaseRecordOf(*written), sentAt);
  if (!wasLeading && election_.leading()) {
    spdlog::info("leader election: became leader ({}; Lease {}, transitions {})", decision.why,
                 describe(), decision.desired.leaseTransitions);
    lastHolderLogged_.clear();
    if (callbacks_.onStartedLeading) callbacks_.onStartedLeading();
  }
  co_return true;
}

asio::awaitable<void> LeaderElector::stopAndRelease() {
  stopping_ = true;
  timer_.cancel();
  // A round in flight finishes first: its renewal must not land after the release.
  asio::steady_timer poll(client_.ioContext());
  while (running_) {
    poll.expires_after(std::chrono::milliseconds(10));
    co_await poll.async_wait(asio::use_awaitable);
  }
  const std::optional<LeaseRecord> release = election_.releaseRecord(wallNow());
  if (!release || lost_) co_return;
  const kube::Json body = leaseObject(config_.ns, config_.name, *release);
  const kube::Result<kube::Json> written = co_await client_.update(leases_, config_.ns, body);
  election_.released();
  if (!written) {
    spdlog::warn(
        "leader election: releasing Lease {} failed (the next leader waits for it to "
        "expire): {}",
        describe(), written.error().describe());
    co_return;
  }
  spdlog::info("leader election: released Lease {}", describe());
}

}  // namespace bisync::leader
