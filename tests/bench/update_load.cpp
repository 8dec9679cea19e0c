#include "tests/bench/update_load.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/bench/workload.hpp"

namespace bisync::bench {
namespace {

double millisecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::max(0.0, std::chrono::duration<double, std::milli>(to - from).count());
}

// {"data": {"seq": "<seq>"}}
std::string seqPatch(std::uint64_t seq) {
  kube::Json patch(rapidjson::kObjectType);
  auto& allocator = patch.GetAllocator();
  kube::JsonValue data(rapidjson::kObjectType);
  data.AddMember(kube::JsonValue(kSeqKey, allocator), kube::stringValue(seqText(seq), allocator),
                 allocator);
  patch.AddMember("data", data, allocator);
  return kube::toJson(patch);
}

}  // namespace

UpdateLoad::UpdateLoad(kube::Client& source, std::vector<std::string> keys, double rate,
                       std::chrono::milliseconds duration, std::uint64_t firstSeq)
    : source_(source), rate_(rate), firstSeq_(firstSeq) {
  const auto count =
      static_cast<std::size_t>(rate * static_cast<double>(duration.count()) / 1000.0);
  records_.resize(keys.empty() ? 0 : count);
  for (std::size_t i = 0; i < records_.size(); ++i) {
    records_[i].key = keys[i % keys.size()];
    records_[i].seq = firstSeq + i;
  }
}

asio::awaitable<void> UpdateLoad::run() {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const std::chrono::duration<double> period(1.0 / rate_);
  sendStart_ = Clock::now();
  for (std::size_t i = 0; i < records_.size(); ++i) {
    timer.expires_at(sendStart_ +
                     std::chrono::duration_cast<Clock::duration>(period * static_cast<double>(i)));
    co_await timer.async_wait(asio::use_awaitable);
    ++inFlight_;
    unseenByKey_[records_[i].key].push_back(i);
    asio::co_spawn(executor, updateOne(i), asio::detached);
  }
  sendEnd_ = Clock::now();
  while (inFlight_ > 0) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> UpdateLoad::updateOne(std::size_t index) {
  Record& record = records_[index];
  const std::size_t slash = record.key.find('/');
  const std::string ns = record.key.substr(0, slash);
  const std::string name = record.key.substr(slash + 1);
  const std::string body = seqPatch(record.seq);
  const kube::ResourceInfo resource = kube::resources::configMaps();
  kube::Result<kube::Json> patched =
      co_await source_.patch(resource, ns, name, kube::PatchType::Merge, body);
  record.answeredAt = Clock::now();
  record.answered = true;
  record.ok = patched.has_value();
  if (!patched && firstError_.empty()) firstError_ = patched.error().describe();
  --inFlight_;
}

UpdateLoad::Record* UpdateLoad::recordFor(const std::string& key, std::uint64_t seq) {
  if (seq < firstSeq_ || seq - firstSeq_ >= records_.size()) return nullptr;
  Record& record = records_[seq - firstSeq_];
  return record.key == key ? &record : nullptr;
}

void UpdateLoad::sourceSeen(const std::string& key, std::uint64_t seq, Clock::time_point at) {
  Record* record = recordFor(key, seq);
  if (record != nullptr && record->sourceSeenAt == Clock::time_point{}) record->sourceSeenAt = at;
}

void UpdateLoad::targetSeen(const std::string& key, std::uint64_t seq, Clock::time_point at) {
  const auto unseen = unseenByKey_.find(key);
  if (unseen == unseenByKey_.end()) return;
  std::vector<std::size_t>& indices = unseen->second;
  // The target shows `seq`: that update and every earlier one of this object have arrived.
  std::erase_if(indices, [&](std::size_t i) {
    if (records_[i].seq > seq) return false;
    records_[i].targetSeenAt = at;
    records_[i].folded = records_[i].seq < seq;
    return true;
  });
  if (indices.empty()) unseenByKey_.erase(unseen);
}

std::size_t UpdateLoad::succeeded() const {
  return static_cast<std::size_t>(
      std::count_if(records_.begin(), records_.end(), [](const Record& r) { return r.ok; }));
}

std::size_t UpdateLoad::failed() const {
  return static_cast<std::size_t>(std::count_if(
      records_.begin(), records_.end(), [](const Record& r) { return r.answered && !r.ok; }));
}

std::size_t UpdateLoad::folded() const {
  return static_cast<std::size_t>(std::count_if(records_.begin(), records_.end(),
                                                [](const Record& r) { return r.ok && r.folded; }));
}

std::size_t UpdateLoad::targetPending() const {
  return static_cast<std::size_t>(
      std::count_if(records_.begin(), records_.end(),
                    [](const Record& r) { return r.ok && r.targetSeenAt == Clock::time_point{}; }));
}

std::size_t UpdateLoad::sourcePending() const {
  return static_cast<std::size_t>(
      std::count_if(records_.begin(), records_.end(),
                    [](const Record& r) { return r.ok && r.sourceSeenAt == Clock::time_point{}; }));
}

std::vector<double> UpdateLoad::targetLatenciesMs() const {
  std::vector<double> latencies;
  for (const Record& r : records_) {
    if (r.ok && r.targetSeenAt != Clock::time_point{}) {
      latencies.push_back(millisecondsBetween(r.answeredAt, r.targetSeenAt));
    }
  }
  return latencies;
}

std::vector<double> UpdateLoad::sourceLatenciesMs() const {
  std::vector<double> latencies;
  for (const Record& r : records_) {
    if (r.ok && r.sourceSeenAt != Clock::time_point{}) {
      latencies.push_back(millisecondsBetween(r.answeredAt, r.sourceSeenAt));
    }
  }
  return latencies;
}

double UpdateLoad::achievedRate() const {
  const double seconds = std::chrono::duration<double>(sendEnd_ - sendStart_).count();
  return seconds > 0 ? static_cast<double>(records_.size()) / seconds : 0;
}

double UpdateLoad::arrivalRate() const {
  Clock::time_point last = sendStart_;
  std::size_t seen = 0;
  for (const Record& r : records_) {
    if (r.ok && r.targetSeenAt != Clock::time_point{}) {
      last = std::max(last, r.targetSeenAt);
      ++seen;
    }
  }
  const double seconds = std::chrono::duration<double>(last - sendStart_).count();
  return seconds > 0 ? static_cast<double>(seen) / seconds : 0;
}

ApplyProbe::ApplyProbe(kube::Client& target, std::string ns, std::chrono::milliseconds interval,
                       std::size_t payloadBytes)
    : target_(target), ns_(std::move(ns)), interval_(interval), payloadBytes_(payloadBytes) {}

asio::awaitable<void> ApplyProbe::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const BenchKind kind = configMapKind();
  const kube::ResourceInfo& resource = kind.resource;
  kube::ApplyOptions options;
  options.fieldManager = "kube-bisync-bench";
  options.force = true;
  for (std::uint64_t i = 1; !stopped_; ++i) {
    const std::string name = "probe-" + std::to_string(i % 8);
    kube::Json object = benchObject(kind, ns_, name, i % 8, payloadBytes_);
    object["data"][kSeqKey].SetString(seqText(i), object.GetAllocator());
    const Clock::time_point sent = Clock::now();
    kube::Result<kube::Json> applied = co_await target_.apply(resource, ns_, name, object, options);
    if (applied) {
      latenciesMs_.push_back(millisecondsBetween(sent, Clock::now()));
    } else {
      ++failures_;
      if (firstError_.empty()) firstError_ = applied.error().describe();
    }
    timer.expires_after(interval_);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace bisync::bench
