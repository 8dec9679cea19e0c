#include "tests/bench/pod_watch.hpp"

#include <stdexcept>
#include <string_view>
#include <utility>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/bench/sync_tracker.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/wait.hpp"

namespace bisync::bench {
namespace {

using namespace std::chrono_literals;

kube::ResourceInfo pods() { return {"", "v1", "pods", "Pod", true, true}; }

// The Pod's key on the virtual side: from the origin annotations of a daemon's copy, else its
// own.
std::string virtualKey(const kube::JsonValue& pod) {
  const kube::JsonValue* annotations = kube::at(pod, "/metadata/annotations");
  if (annotations != nullptr) {
    const std::string_view ns = kube::stringMember(*annotations, testing::kSourceNamespace);
    const std::string_view name = kube::stringMember(*annotations, testing::kSourceName);
    if (!ns.empty() && !name.empty()) return std::string(ns) + "/" + std::string(name);
  }
  return std::string(kube::namespaceOf(pod)) + "/" + std::string(kube::nameOf(pod));
}

bool runs(const kube::JsonValue& pod) {
  return kube::stringAt(pod, "/status/phase") == "Running" &&
         !kube::stringAt(pod, "/status/podIP").empty();
}

}  // namespace

PodWatch::PodWatch(testing::LoopThread& loop, kube::Client& client, const std::string& selector)
    : loop_(loop) {
  kube::InformerOptions options;
  options.labelSelector = selector;
  kube::InformerHandlers handlers{
      .onAdd = [this](const kube::CachedObjectPtr& o) { changed(o); },
      .onUpdate = [this](const kube::CachedObjectPtr&,
                         const kube::CachedObjectPtr& o) { changed(o); },
      .onDelete = [this](const kube::CachedObjectPtr& o) { deleted(o); }};
  informer_ = startListed(loop_, client, pods(), options, std::move(handlers), "the Pod watch");
}

PodWatch::~PodWatch() { stopAndDestroy(loop_, informer_); }

void PodWatch::changed(const kube::CachedObjectPtr& object) {
  const auto now = Clock::now();
  const kube::Json pod = object->parse();
  const auto [at, added] = times_.try_emplace(virtualKey(pod), Times{.seen = now});
  Times& times = at->second;
  if (added || !times.present) {
    times = Times{.seen = now};
    lastSeenAt_ = now;
    ++present_;
  }
  if (times.running == Clock::time_point{} && runs(pod)) {
    times.running = now;
    lastRunningAt_ = now;
    ++running_;
  }
}

void PodWatch::deleted(const kube::CachedObjectPtr& object) {
  const auto found = times_.find(virtualKey(object->parse()));
  if (found == times_.end() || !found->second.present) return;
  found->second.present = false;
  --present_;
}

PodWatch::Clock::time_point PodWatch::waitForRunning(std::size_t count,
                                                     std::chrono::seconds timeout,
                                                     const std::function<std::string()>& healthy) {
  const auto seen = testing::waitFor(
      std::to_string(count) + " Pods Running", timeout,
      [&](std::string& what) {
        const auto [running, present] =
            loop_.call([this] { return std::pair(running_, present_); });
        what = std::to_string(running) + " Running of " + std::to_string(present) + " seen";
        if (const std::string problem = healthy(); !problem.empty()) {
          throw std::runtime_error(problem);
        }
        return running >= count;
      },
      20ms);
  if (!seen) throw std::runtime_error(seen.what + ": not met; " + seen.lastSeen);
  return loop_.call([this] { return lastRunningAt_; });
}

PodWatch::Clock::time_point PodWatch::waitForPresent(std::size_t count,
                                                     std::chrono::seconds timeout) {
  const auto there = testing::waitFor(
      std::to_string(count) + " benchmark Pods", timeout,
      [&](std::string& what) {
        const std::size_t present = loop_.call([this] { return present_; });
        what = std::to_string(present) + " there";
        return present == count;
      },
      20ms);
  if (!there) throw std::runtime_error(there.what + ": not met; " + there.lastSeen);
  return loop_.call([this] { return lastSeenAt_; });
}

std::map<std::string, PodWatch::Times> PodWatch::times() const {
  return loop_.call([this] { return times_; });
}

std::vector<std::string> PodWatch::presentKeys() const {
  return loop_.call([this] {
    std::vector<std::string> keys;
    for (const auto& [key, times] : times_) {
      if (times.present) keys.push_back(key);
    }
    return keys;
  });
}

std::vector<double> latenciesMs(const std::map<std::string, PodWatch::Times>& fromSide,
                                bool fromRunning,
                                const std::map<std::string, PodWatch::Times>& toSide,
                                bool toRunning) {
  std::vector<double> result;
  for (const auto& [key, from] : fromSide) {
    const auto to = toSide.find(key);
    if (to == toSide.end()) continue;
    const auto start = fromRunning ? from.running : from.seen;
    const auto end = toRunning ? to->second.running : to->second.seen;
    if (start == PodWatch::Clock::time_point{} || end == PodWatch::Clock::time_point{}) continue;
    result.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  return result;
}

}  // namespace bisync::bench
