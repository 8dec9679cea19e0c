// The driver's own view of both clusters, to see when the daemon's copies are correct and
// when each change reaches either side. Two informers of the project's client for one kind of
// benchmark object (bench_kind.hpp): the source's benchmark objects (by label) and the target's
// objects managed by the daemon instance (label kube-bisync.io/managed-by). A target object maps
// back to its source through its origin annotations (never by parsing its name), and is a
// correct copy when its content (a ConfigMap's data, a Widget's spec) equals the source's and
// its source-uid annotation names the source's uid.
//
// Each benchmark object carries a sequence number in its content's seq; every source and target
// event is passed to the hooks with it, at the time the driver's informer delivered it.
//
// Loop-affine: created, used and destroyed on one io_context's thread (the LoopThread's).
//
// Also here: CopyWatch, and the start and stop of an informer that main-thread code (CopyWatch,
// PodWatch) keeps on a LoopThread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "syncer/kube/client.hpp"
#include "syncer/kube/informer.hpp"
#include "tests/bench/bench_kind.hpp"
#include "tests/support/loop_thread.hpp"

namespace bisync::bench {

using Clock = std::chrono::steady_clock;

// The member of a benchmark object's content that carries its sequence number.
inline constexpr const char* kSeqKey = "seq";

class SyncTracker {
 public:
  using ChangeHook =
      std::function<void(const std::string& sourceKey, std::uint64_t seq, Clock::time_point at)>;

  // `sourceSelector` selects the benchmark's source objects of `kind`; `cluster` is the
  // daemon's --cluster-name.
  SyncTracker(kube::Client& source, kube::Client& target, const BenchKind& kind,
              const std::string& sourceSelector, const std::string& cluster);
  ~SyncTracker();
  SyncTracker(const SyncTracker&) = delete;
  SyncTracker& operator=(const SyncTracker&) = delete;

  void start();
  void stop();
  bool running() const;  // until both informers' loops have returned
  bool synced() const;   // both informers have listed

  std::size_t sourceCount() const { return sources_.size(); }
  std::size_t targetCount() const { return targets_.size(); }
  std::size_t correctCount() const { return correct_.size(); }
  // When correctCount() last grew.
  Clock::time_point lastCorrectAt() const { return lastCorrectAt_; }
  // Adds, updates and deletes of the daemon's target objects seen so far: each is a new
  // resourceVersion, so this counts the target writes that changed something.
  std::uint64_t targetEvents() const { return targetEvents_; }
  std::vector<std::string> sourceKeys() const;  // sorted
  // The first `max` source keys without a correct copy, each with why.
  std::string describeProblems(std::size_t max) const;

  void setSourceHook(ChangeHook hook) { sourceHook_ = std::move(hook); }
  void setTargetHook(ChangeHook hook) { targetHook_ = std::move(hook); }

 private:
  struct SourceState {
    std::string uid;
    std::size_t contentHash = 0;
  };
  struct TargetState {
    std::string sourceKey;
    std::string sourceUid;
    std::size_t contentHash = 0;
  };

  void sourceChanged(const kube::CachedObjectPtr& object);
  void sourceDeleted(const kube::CachedObjectPtr& object);
  void targetChanged(const kube::CachedObjectPtr& object);
  void targetDeleted(const kube::CachedObjectPtr& object);
  void recheck(const std::string& sourceKey);

  std::string content_;  // the kind's content member
  std::unique_ptr<kube::Informer> source_;
  std::unique_ptr<kube::Informer> target_;
  std::unordered_map<std::string, SourceState> sources_;  // by source key
  std::unordered_map<std::string, TargetState> targets_;  // by target key
  std::unordered_map<std::string, std::string> copyOf_;   // source key -> target key
  std::unordered_set<std::string> correct_;               // source keys
  Clock::time_point lastCorrectAt_{};
  std::uint64_t targetEvents_ = 0;
  ChangeHook sourceHook_;
  ChangeHook targetHook_;
};

// Creates an informer on `loop`, starts it there and returns it once it has listed. After 60 s
// without a list it stops it (stopAndDestroy) and throws std::runtime_error naming `what` ("the
// copy watch") and the selector.
std::unique_ptr<kube::Informer> startListed(testing::LoopThread& loop, kube::Client& client,
                                            const kube::ResourceInfo& resource,
                                            const kube::InformerOptions& options,
                                            kube::InformerHandlers handlers,
                                            const std::string& what);
// Stops `informer` on `loop`, waits (up to 60 s) until its loop coroutine has returned, and
// destroys it there: after this no handler of it runs.
void stopAndDestroy(testing::LoopThread& loop, std::unique_ptr<kube::Informer>& informer);

// The target objects of `resource` matching a label selector as the driver's watch sees them
// arrive, and when the last one did: the baseline's copies, timed the way the daemon's are. Used
// from the main thread; its informer lives on `loop`.
class CopyWatch {
 public:
  CopyWatch(testing::LoopThread& loop, kube::Client& target, const kube::ResourceInfo& resource,
            const std::string& selector);
  ~CopyWatch();  // stops the informer and waits until its loop has returned
  CopyWatch(const CopyWatch&) = delete;
  CopyWatch& operator=(const CopyWatch&) = delete;

  // When the watch had shown `count` objects; throws std::runtime_error after `timeout`.
  Clock::time_point waitFor(std::size_t count, std::chrono::seconds timeout);

 private:
  testing::LoopThread& loop_;
  std::unique_ptr<kube::Informer> informer_;
  std::size_t seen_ = 0;  // loop-affine, like the informer
  Clock::time_point lastAt_{};
};

}  // namespace bisync::bench
