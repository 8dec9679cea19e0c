// LeaderElector: leader election through a coordination.k8s.io/v1 Lease on the target, as
// client-go's tools/leaderelection does it (the decisions are LeaseElection's, lease.hpp).
//
// Every retry period it reads the Lease and creates, takes over or renews it (update with the
// read resourceVersion as precondition, never apply: two candidates racing for an expired Lease
// must not both win), or waits while another holder's Lease has not expired. It calls
// onStartedLeading once it holds the Lease, and onStoppedLeading when it led and lost it (the
// renew deadline passed without a successful renewal, or another replica holds the Lease): the
// daemon then exits, as controller-runtime does. writesAllowed() is the daemon's write gate,
// judged on the local monotonic clock only, so it closes on time even when the process was
// paused and has not talked to any server since.
//
// It uses a Client of its own (not gated by writesAllowed, so that it can renew and release).
// Loop-affine: call everything on the Client's io_context thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/resource.hpp"
#include "syncer/leader/lease.hpp"

namespace bisync::leader {

struct ElectorConfig {
  std::string ns;        // --leader-elect-namespace
  std::string name;      // --leader-elect-id
  std::string identity;  // hostname_<random hex>
  ElectionOptions options;
};

struct ElectorCallbacks {
  std::function<void()> onStartedLeading;
  std::function<void(const std::string& why)> onStoppedLeading;
};

// The resource of coordination.k8s.io/v1 Leases.
kube::ResourceInfo leasesResource();
// "<hostname>_<16 random hex digits>": unique per process, so a restarted replica never mistakes
// its predecessor's Lease for its own.
std::string newIdentity();

class LeaderElector {
 public:
  LeaderElector(kube::Client& client, ElectorConfig config, ElectorCallbacks callbacks);

  // Runs until stop() or until it led and lost the Lease.
  boost::asio::awaitable<void> run();
  // Stops the loop (waits for a round in flight), then gives the Lease up if we hold it, so that
  // another replica takes over at once (client-go's ReleaseOnCancel).
  boost::asio::awaitable<void> stopAndRelease();

  bool leading() const { return election_.leading(); }
  bool writesAllowed() const { return election_.writesAllowed(Clock::now()); }
  // The holder of the Lease as last read ("" when none).
  const std::string& holder() const { return election_.observedHolder(); }
  const std::string& identity() const { return election_.identity(); }
  std::string describe() const;  // "kube-system/kube-bisync-x"

 private:
  boost::asio::awaitable<void> tryAcquireOrRenew();
  boost::asio::awaitable<bool> write(const LeaseDecision& decision, Clock::time_point sentAt);
  void stepDown(const std::string& why);

  kube::Client& client_;
  ElectorConfig config_;
  ElectorCallbacks callbacks_;
  LeaseElection election_;
  kube::ResourceInfo leases_;
  boost::asio::steady_timer timer_;
  bool stopping_ = false;
  bool running_ = false;
  bool lost_ = false;
  std::string lastHolderLogged_;  // the holder the last "not leading" line named
};

}  // namespace bisync::leader
