// Fight detection: a key whose target copy someone else keeps rewriting (each time the syncer
// restores it) is backed off and reported instead of rewritten for ever. See docs/sync-engine.md
// ("Fights").
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::JsonValue;

asio::awaitable<bool> holdForFight(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                   const JsonValue& source, bool rewritten,
                                   const std::string& what) {
  const std::string sourceKey = kube::objectKey(key.ns, key.name);
  auto it = sync.fights.find(sourceKey);
  if (it == sync.fights.end() && !rewritten) co_return false;
  if (it == sync.fights.end()) it = sync.fights.emplace(sourceKey, FightState{}).first;
  const FightOptions options{state.options.fightWindow, state.options.fightThreshold,
                             state.options.fightBackoff, state.options.fightBackoffMax};
  const FightVerdict verdict =
      judgeFight(it->second, std::chrono::steady_clock::now(), rewritten, options);
  if (verdict.forget) sync.fights.erase(it);
  if (!verdict.hold) co_return false;
  if (verdict.started) {
    ++state.stats.fights;
    const std::string message =
        what + " was rewritten " + std::to_string(verdict.rewrites) +
        " time(s) since kube-bisync restored it (" +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options.window).count()) +
        " s window, fight " + std::to_string(it->second.level) + "); not restoring it for " +
        std::to_string(verdict.delay.count()) + " ms";
    co_await report(state, sync, source, kReasonSyncFight, message);
    co_await setSyncStatus(state, sync, source, kStatusFight, message);
  }
  state.queue.addAfter(key.str(), verdict.wait);
  co_return true;
}

}  // namespace bisync::engine::internal
