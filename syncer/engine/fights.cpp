// Fight detection: a key whose target copy someone else keeps rewriting (each time the syncer
// restores it) is backed off and reported instead of rewritten for ever. See docs/sync-engine.md
// ("Fights").
#include "syncer/engine/internal/sync_state.hpp"
#include "syncer/kube/backoff.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::JsonValue;

asio::awaitable<bool> holdForFight(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                   const JsonValue& source, bool rewritten,
                                   const std::string& what) {
  const auto now = std::chrono::steady_clock::now();
  const std::string sourceKey = kube::objectKey(key.ns, key.name);
  auto it = sync.fights.find(sourceKey);
  if (it != sync.fights.end() && now < it->second.backoffUntil) {
    state.queue.addAfter(key.str(), it->second.backoffUntil - now);
    co_return true;
  }
  const auto window = state.options.fightWindow;
  if (!rewritten) {
    // A key quiet for a window after its last backoff and rewrite has no fight to remember.
    if (it != sync.fights.end() && now - it->second.backoffUntil > window &&
        (it->second.rewrites.empty() || now - it->second.rewrites.back() > window)) {
      sync.fights.erase(it);
    }
    co_return false;
  }
  FightState& fight = sync.fights[sourceKey];
  while (!fight.rewrites.empty() && now - fight.rewrites.front() > window) {
    fight.rewrites.pop_front();
  }
  fight.rewrites.push_back(now);
  // Right after a backoff one more rewrite continues the fight; otherwise it takes more than
  // fightThreshold within the window to start one.
  const bool continuing = fight.level > 0 && now - fight.backoffUntil < window;
  if (!continuing && fight.level > 0) fight.level = 0;
  if (!continuing && static_cast<int>(fight.rewrites.size()) <= state.options.fightThreshold) {
    co_return false;
  }
  ++fight.level;
  const kube::ExponentialBackoff backoff(
      {.base = state.options.fightBackoff, .max = state.options.fightBackoffMax});
  const auto delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(backoff.delay(fight.level - 1));
  fight.backoffUntil = now + delay;
  const std::size_t count = fight.rewrites.size();
  fight.rewrites.clear();
  ++state.stats.fights;
  const std::string message =
      what + " was rewritten " + std::to_string(count) +
      " time(s) since kube-bisync restored it (" +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(window).count()) +
      " s window, fight " + std::to_string(fight.level) + "); not restoring it for " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()) + " ms";
  co_await report(state, sync, source, kReasonSyncFight, message);
  co_await setSyncStatus(state, sync, source, kStatusFight, message);
  state.queue.addAfter(key.str(), delay);
  co_return true;
}

}  // namespace bisync::engine::internal
