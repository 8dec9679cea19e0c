// Pending writes (internal/pending_write.hpp).
#include "syncer/engine/internal/pending_write.hpp"

#include <charconv>
#include <cstdint>

namespace bisync::engine::internal {

bool versionAtLeast(std::string_view version, std::string_view written) {
  if (version == written) return true;
  std::uint64_t have = 0;
  std::uint64_t wrote = 0;
  const auto parse = [](std::string_view text, std::uint64_t& out) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  return parse(version, have) && parse(written, wrote) && have >= wrote;
}

void recordPendingWrite(std::unordered_map<std::string, PendingWrite>& pending,
                        const std::string& key, std::string_view resourceVersion) {
  pending[key] = PendingWrite{std::string(resourceVersion), std::chrono::steady_clock::now()};
}

void recordPendingDeletion(std::unordered_map<std::string, PendingWrite>& pending,
                           const std::string& key, std::string_view uid) {
  pending[key] = PendingWrite{.resourceVersion = "",
                              .at = std::chrono::steady_clock::now(),
                              .deletedUid = std::string(uid)};
}

void recordPendingBinding(std::unordered_map<std::string, PendingWrite>& pending,
                          const std::string& key, std::string_view boundVersion) {
  pending[key] = PendingWrite{.resourceVersion = std::string(boundVersion),
                              .at = std::chrono::steady_clock::now(),
                              .beyond = true};
}

bool ownWriteCaughtUp(const PendingWrite& write, const kube::CachedObject* cached,
                      std::string_view cacheVersion) {
  if (!write.deletedUid.empty()) return cached == nullptr || cached->uid != write.deletedUid;
  std::string_view seen = cacheVersion;
  if (cached != nullptr) {
    seen = cached->resourceVersion;
  } else if (cacheVersion.empty()) {
    return false;  // not listed yet
  }
  if (!versionAtLeast(seen, write.resourceVersion)) return false;
  return !write.beyond || seen != write.resourceVersion;
}

// A pending write whose event has not come within this long is forgotten (a lost event, say
// across a relist that skipped it), so that the key is never stalled.
constexpr auto kPendingWriteExpiry = std::chrono::seconds(30);

std::optional<std::chrono::steady_clock::duration> waitForOwnWrite(
    std::unordered_map<std::string, PendingWrite>& pending, const std::string& key,
    const kube::CachedObjectPtr& cached, const kube::Informer* informer) {
  const auto it = pending.find(key);
  if (it == pending.end()) return std::nullopt;
  // (Not a conditional expression: with "" for one branch it would make a temporary string.)
  std::string_view cacheVersion;
  if (informer != nullptr && informer->hasSynced()) cacheVersion = informer->lastResourceVersion();
  const bool seen = ownWriteCaughtUp(it->second, cached.get(), cacheVersion);
  const auto age = std::chrono::steady_clock::now() - it->second.at;
  if (seen || age > kPendingWriteExpiry) {
    pending.erase(it);
    return std::nullopt;
  }
  it->second.deferred = true;
  return kPendingWriteExpiry - age;
}

}  // namespace bisync::engine::internal
