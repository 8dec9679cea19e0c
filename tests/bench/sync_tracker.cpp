#include "tests/bench/sync_tracker.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/sync_scene.hpp"

namespace bisync::bench {
namespace {

std::size_t hashData(const kube::JsonValue& object) {
  const kube::JsonValue* data = kube::member(object, "data");
  // The server writes map keys sorted, so equal data serialises to equal text.
  return data == nullptr ? 0 : std::hash<std::string>{}(kube::toJson(*data));
}

std::uint64_t seqOf(const kube::JsonValue& object) {
  const kube::JsonValue* data = kube::member(object, "data");
  const std::string_view text =
      data == nullptr ? std::string_view() : kube::stringMember(*data, kSeqKey);
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

SyncTracker::SyncTracker(kube::Client& source, kube::Client& target,
                         const std::string& sourceSelector, const std::string& cluster) {
  kube::InformerOptions sourceOptions;
  sourceOptions.labelSelector = sourceSelector;
  source_ = std::make_unique<kube::Informer>(
      source, kube::resources::configMaps(), sourceOptions,
      kube::InformerHandlers{
          .onAdd = [this](const kube::CachedObjectPtr& o) { sourceChanged(o); },
          .onUpdate = [this](const kube::CachedObjectPtr&,
                             const kube::CachedObjectPtr& o) { sourceChanged(o); },
          .onDelete = [this](const kube::CachedObjectPtr& o) { sourceDeleted(o); }});
  kube::InformerOptions targetOptions;
  targetOptions.labelSelector = std::string(testing::kManagedBy) + "=" + cluster;
  target_ = std::make_unique<kube::Informer>(
      target, kube::resources::configMaps(), targetOptions,
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
                                        : std::string("data differs")) +
        "] ";
  }
  return problems;
}

void SyncTracker::sourceChanged(const kube::CachedObjectPtr& object) {
  const Clock::time_point now = Clock::now();
  const kube::Json parsed = object->parse();
  sources_[object->key] = SourceState{object->uid, hashData(parsed)};
  recheck(object->key);
  if (sourceHook_) sourceHook_(object->key, seqOf(parsed), now);
}

void SyncTracker::sourceDeleted(const kube::CachedObjectPtr& object) {
  sources_.erase(object->key);
  recheck(object->key);
}

void SyncTracker::targetChanged(const kube::CachedObjectPtr& object) {
  const Clock::time_point now = Clock::now();
  ++targetEvents_;
  const kube::Json parsed = object->parse();
  const std::string sourceKey = kube::objectKey(annotation(parsed, testing::kSourceNamespace),
                                                annotation(parsed, testing::kSourceName));
  TargetState& state = targets_[object->key];
  if (!state.sourceKey.empty() && state.sourceKey != sourceKey) {
    copyOf_.erase(state.sourceKey);
    recheck(state.sourceKey);
  }
  state = TargetState{sourceKey, annotation(parsed, testing::kSourceUid), hashData(parsed)};
  copyOf_[sourceKey] = object->key;
  recheck(sourceKey);
  if (targetHook_) targetHook_(sourceKey, seqOf(parsed), now);
}

void SyncTracker::targetDeleted(const kube::CachedObjectPtr& object) {
  ++targetEvents_;
  const auto state = targets_.find(object->key);
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
    correct = target.sourceUid == source->second.uid && target.dataHash == source->second.dataHash;
  }
  if (!correct) {
    correct_.erase(sourceKey);
  } else if (correct_.insert(sourceKey).second) {
    lastCorrectAt_ = Clock::now();
  }
}

}  // namespace bisync::bench
