#include "tests/bench/sync_tracker.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/wait.hpp"

namespace bisync::bench {
namespace {

using namespace std::chrono_literals;

std::size_t hashContent(const kube::JsonValue& object, std::string_view content) {
  const kube::JsonValue* value = kube::member(object, content);
  // The server writes map keys sorted, so equal content serialises to equal text.
  return value == nullptr ? 0 : std::hash<std::string>{}(kube::toJson(*value));
}

std::uint64_t seqOf(const kube::JsonValue& object, std::string_view content) {
  const kube::JsonValue* value = kube::member(object, content);
  const std::string_view text =
      value == nullptr ? std::string_view() : kube::stringMember(*value, kSeqKey);
  std::uint64_t seq = 0;
  std::from_chars(text.data(), text.data() + text.size(), seq);
  return seq;
}

std::string annotation(const kube::JsonValue& object, std::string_view name) {
  const kube::JsonValue* annotations = kube::at(object, "/metadata/annotations");
  return annotations == nullptr ? std::string()
                                : std::string(kube::stringMember(*annotations, name));
}

}  // namespace

SyncTracker::SyncTracker(kube::Client& source, kube::Client& target, const BenchKind& kind,
                         const std::string& sourceSelector, const std::string& cluster)
    : content_(kind.content) {
  kube::InformerOptions sourceOptions;
  sourceOptions.labelSelector = sourceSelector;
  source_ = std::make_unique<kube::Informer>(
      source, kind.resource, sourceOptions,
      kube::InformerHandlers{
          .onAdd = [this](const kube::CachedObjectPtr& o) { sourceChanged(o); },
          .onUpdate = [this](const kube::CachedObjectPtr&,
                             const kube::CachedObjectPtr& o) { sourceChanged(o); },
          .onDelete = [this](const kube::CachedObjectPtr& o) { sourceDeleted(o); }});
  kube::InformerOptions targetOptions;
  targetOptions.labelSelector = std::string(testing::kManagedBy) + "=" + cluster;
  target_ = std::make_unique<kube::Informer>(
      target, kind.resource, targetOptions,
      kube::InformerHandlers{
          .onAdd = [this](const kube::CachedObjectPtr& o) { targetChanged(o); },
          .onUpdate = [this](const kube::CachedObjectPtr&,
                             const kube::CachedObjectPtr& o) { targetChanged(o); },
          .onDelete = [this](const kube::CachedObjectPtr& o) { targetDeleted(o); }});
}

SyncTracker::~SyncTracker() = default;

void SyncTracker::start() {
  source_->start();
  target_->start();
}

void SyncTracker::stop() {
  source_->stop();
  target_->stop();
}

bool SyncTracker::running() const { return source_->running() || target_->running(); }

bool SyncTracker::synced() const { return source_->hasSynced() && target_->hasSynced(); }

std::vector<std::string> SyncTracker::sourceKeys() const {
  std::vector<std::string> keys;
  keys.reserve(sources_.size());
  for (const auto& entry : sources_) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string SyncTracker::describeProblems(std::size_t max) const {
  std::string problems;
  std::size_t listed = 0;
  for (const std::string& key : sourceKeys()) {
    if (listed >= max) break;
    if (correct_.contains(key)) continue;
    ++listed;
    const auto copy = copyOf_.find(key);
    if (copy == copyOf_.end()) {
      problems += "[" + key + ": no copy] ";
      continue;
    }
    const TargetState& target = targets_.at(copy->second);
    const SourceState& source = sources_.at(key);
    problems +=
        "[" + key + " -> " + copy->second + ": " +
        (target.sourceUid != source.uid ? "source-uid " + target.sourceUid + " != " + source.uid
                                        : content_ + " differs") +
        "] ";
  }
  return problems;
}

void SyncTracker::sourceChanged(const kube::CachedObjectPtr& object) {
  const Clock::time_point now = Clock::now();
  const kube::Json parsed = object->parse();
  const std::string key(object->key);
  sources_[key] = SourceState{std::string(object->uid), hashContent(parsed, content_)};
  recheck(key);
  if (sourceHook_) sourceHook_(key, seqOf(parsed, content_), now);
}

void SyncTracker::sourceDeleted(const kube::CachedObjectPtr& object) {
  const std::string key(object->key);
  sources_.erase(key);
  recheck(key);
}

void SyncTracker::targetChanged(const kube::CachedObjectPtr& object) {
  const Clock::time_point now = Clock::now();
  ++targetEvents_;
  const kube::Json parsed = object->parse();
  const std::string sourceKey = kube::objectKey(annotation(parsed, testing::kSourceNamespace),
                                                annotation(parsed, testing::kSourceName));
  TargetState& state = targets_[std::string(object->key)];
  if (!state.sourceKey.empty() && state.sourceKey != sourceKey) {
    copyOf_.erase(state.sourceKey);
    recheck(state.sourceKey);
  }
  state = TargetState{sourceKey, annotation(parsed, testing::kSourceUid),
                      hashContent(parsed, content_)};
  copyOf_[sourceKey] = object->key;
  recheck(sourceKey);
  if (targetHook_) targetHook_(sourceKey, seqOf(parsed, content_), now);
}

void SyncTracker::targetDeleted(const kube::CachedObjectPtr& object) {
  ++targetEvents_;
  const auto state = targets_.find(std::string(object->key));
  if (state == targets_.end()) return;
  const std::string sourceKey = state->second.sourceKey;
  targets_.erase(state);
  if (const auto copy = copyOf_.find(sourceKey);
      copy != copyOf_.end() && copy->second == object->key) {
    copyOf_.erase(copy);
  }
  recheck(sourceKey);
}

void SyncTracker::recheck(const std::string& sourceKey) {
  bool correct = false;
  const auto source = sources_.find(sourceKey);
  const auto copy = copyOf_.find(sourceKey);
  if (source != sources_.end() && copy != copyOf_.end()) {
    const TargetState& target = targets_.at(copy->second);
    correct =
        target.sourceUid == source->second.uid && target.contentHash == source->second.contentHash;
  }
  if (!correct) {
    correct_.erase(sourceKey);
  } else if (correct_.insert(sourceKey).second) {
    lastCorrectAt_ = Clock::now();
  }
}

std::unique_ptr<kube::Informer> startListed(testing::LoopThread& loop, kube::Client& client,
                                            const kube::ResourceInfo& resource,
                                            const kube::InformerOptions& options,
                                            kube::InformerHandlers handlers,
                                            const std::string& what) {
  std::unique_ptr<kube::Informer> informer = loop.call([&] {
    auto created = std::make_unique<kube::Informer>(client, resource, options, std::move(handlers));
    created->start();
    return created;
  });
  const auto synced = testing::waitFor(what + " has listed", 60s, [&](std::string&) {
    return loop.call([&] { return informer->hasSynced(); });
  });
  if (!synced) {
    // Its handlers point into the caller's object, which the exception ends.
    stopAndDestroy(loop, informer);
    throw std::runtime_error(what + " (" + options.labelSelector + ") did not list");
  }
  return informer;
}

void stopAndDestroy(testing::LoopThread& loop, std::unique_ptr<kube::Informer>& informer) {
  loop.call([&] { informer->stop(); });
  testing::waitFor("the informer has stopped", 60s,
                   [&](std::string&) { return !loop.call([&] { return informer->running(); }); });
  loop.call([&] { informer.reset(); });
}

CopyWatch::CopyWatch(testing::LoopThread& loop, kube::Client& target,
                     const kube::ResourceInfo& resource, const std::string& selector)
    : loop_(loop) {
  kube::InformerOptions options;
  options.labelSelector = selector;
  kube::InformerHandlers handlers;
  handlers.onAdd = [this](const kube::CachedObjectPtr&) {
    ++seen_;
    lastAt_ = Clock::now();
  };
  informer_ = startListed(loop_, target, resource, options, std::move(handlers), "the copy watch");
}

CopyWatch::~CopyWatch() { stopAndDestroy(loop_, informer_); }

Clock::time_point CopyWatch::waitFor(std::size_t count, std::chrono::seconds timeout) {
  const auto seen = testing::waitFor(
      std::to_string(count) + " copies in the copy watch", timeout,
      [&](std::string& what) {
        const std::size_t have = loop_.call([this] { return seen_; });
        what = std::to_string(have);
        return have >= count;
      },
      5ms);
  if (!seen) throw std::runtime_error(seen.what + ": saw " + seen.lastSeen);
  return loop_.call([this] { return lastAt_; });
}

}  // namespace bisync::bench
