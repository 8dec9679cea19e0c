// The chaos checker's seeded random workload: creates, updates (data, labels, annotations),
// deletes and delete-then-recreates of ConfigMaps, Secrets and Widgets on the source; edits of
// the target-owned and shared fields of Widget copies on the target; edits of ConfigMap and
// Secret copies on the target (drift the syncer must undo); and Widgets made on the target with
// the create-on-source opt-in, edited and deleted there. Each operation that succeeds is
// recorded in the Model; one whose outcome is unknown marks its key for reading back.
//
// Runs on the loop of its two clients (the driver's own, straight to the servers, not through
// the daemon's proxies), as `workers` coroutines that never work on the same key at once.
// The seed fixes the sequence of choices; how they interleave with the servers' answers
// (and so what a replay does) depends on timing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "tests/chaos/model.hpp"
#include "tests/chaos/observe.hpp"

namespace bisync::chaos {

struct WorkloadOptions {
  std::uint64_t seed = 1;
  int workers = 4;
  double opsPerSecond = 8;
  int namesPerKind = 6;  // per namespace: cm-0.., sec-0.., w-0.., and as many up-..
};

// How each operation ended: done, refused by the server (a definite failure, nothing changed),
// or unknown (timeout, broken connection, server unavailable: it may have happened).
struct OpCount {
  std::size_t ok = 0;
  std::size_t refused = 0;
  std::size_t unknown = 0;
};
using OpCounts = std::map<std::string, OpCount>;  // by operation name

// True when `error` is the server's definite refusal (a 4xx but timeouts and throttling): the
// operation changed nothing. Any other failure leaves its outcome unknown.
bool refusedByServer(const kube::Error& error);

class Workload {
 public:
  Workload(kube::Client& source, kube::Client& target, Scope scope, WorkloadOptions options);

  // Runs the workers until `until`; on the clients' loop.
  boost::asio::awaitable<void> run(std::chrono::steady_clock::time_point until);
  // Reads every key whose outcome is unknown back from its side; returns how many are still
  // unknown (their side did not answer).
  boost::asio::awaitable<std::size_t> resolveUnknown();

  const Model& model() const { return model_; }
  const OpCounts& counts() const { return counts_; }
  // Operations that changed something the syncer must carry (the ones that succeeded but
  // reads and skips).
  std::size_t effectiveChanges() const { return effective_; }
  std::size_t operations() const;

 private:
  enum class Outcome { Ok, Refused, Unknown };

  boost::asio::awaitable<void> worker(std::chrono::steady_clock::time_point until);
  std::optional<Key> pickKey();
  boost::asio::awaitable<void> operate(const Key& key);
  boost::asio::awaitable<void> operateOnSourceObject(const Key& key, int dice);
  boost::asio::awaitable<void> operateOnTargetObject(const Key& key, int dice);

  // `op` names it in the counts ("create", "create-on-target", "recreate").
  boost::asio::awaitable<Outcome> create(const Key& key, bool onTarget, const std::string& op);
  boost::asio::awaitable<Outcome> patchHome(const Key& key, const std::string& op);
  boost::asio::awaitable<Outcome> remove(const Key& key);
  boost::asio::awaitable<void> recreate(const Key& key);
  boost::asio::awaitable<void> editCopy(const Key& key);
  boost::asio::awaitable<Outcome> refresh(const Key& key);
  boost::asio::awaitable<Outcome> refreshTargetFields(const Key& key);

  Outcome record(const std::string& op, const kube::Error* error);
  std::string value();
  kube::Client& home(const Key& key);
  std::string homeNamespace(const Key& key) const;

  kube::Client& source_;
  kube::Client& target_;
  Scope scope_;
  WorkloadOptions options_;
  std::mt19937_64 random_;
  Model model_;
  std::vector<Key> keys_;
  std::set<Key> busy_;
  // Source-made Widgets whose last target edit has an unknown outcome: their target fields are
  // read back from the target copy.
  std::set<Key> targetFieldsUnknown_;
  OpCounts counts_;
  std::size_t effective_ = 0;
};

}  // namespace bisync::chaos
