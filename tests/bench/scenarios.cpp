// The scenarios of issue 5, in the order Bench::run() calls them. Every figure is taken from
// what the daemon does observably: objects in the target, its log at -v 2, /proc.
#include <algorithm>
#include <functional>
#include <future>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/update_load.hpp"
#include "tests/bench/workload.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/wait.hpp"

namespace bisync::bench {
namespace {

using namespace std::chrono_literals;

constexpr const char* kInitial = "1 initial sync";
constexpr const char* kLatency = "2 latency";
constexpr const char* kMemory = "3 memory";
constexpr const char* kRestart = "4 restart";
constexpr const char* kWrites = "5 write amplification";
constexpr const char* kCpu = "6 CPU";
constexpr const char* kCustom = "7 custom objects";
// The managed-by values of the baselines' copies: not the daemon's, so it never touches them.
constexpr const char* kBaselineOwner = "bench-baseline";
constexpr const char* kBaselineApplyOwner = "bench-baseline-apply";

double secondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double perThousand(double cpuSeconds, std::size_t count) {
  return count == 0 ? 0 : cpuSeconds * 1000.0 / static_cast<double>(count);
}

std::string count(std::size_t n) { return std::to_string(n); }

// Runs `undo` when the scope ends, also by an exception.
class ScopeExit {
 public:
  explicit ScopeExit(std::function<void()> undo) : undo_(std::move(undo)) {}
  ~ScopeExit() { undo_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  std::function<void()> undo_;
};

}  // namespace

void Bench::measureIdleDaemon(Workload& workload) {
  const std::string which = "idle daemon for " + workload.kind.plural;
  progress(which + ": started against a source without benchmark objects");
  startDaemon(workload);
  waitForReady();
  requireServed(workload);
  settle();
  workload.idleRssBytes = sampleDaemon().rssBytes;
  progress(which + ": " + formatNumber(static_cast<double>(workload.idleRssBytes) / 1048576.0) +
           " MiB resident");
  stopDaemon();
}

Bench::BaselineCopy Bench::copyAsBaseline(const Workload& workload, const std::string& scenario,
                                          const std::string& prefix, const std::string& owner,
                                          bool apply) {
  const char* verb = apply ? "server-side apply" : "create";
  const kube::ResourceInfo& resource = workload.kind.resource;
  const std::size_t sources = loop_.call([&] { return workload.tracker->sourceCount(); });
  progress(scenario + ": baseline (list + " + verb + " " + count(sources) + " " +
           workload.kind.plural + " with " + count(options_.workers) + " workers, qps " +
           formatNumber(options_.qps) + ")");
  const std::string selector = std::string(testing::kManagedBy) + "=" + owner;
  auto watch = std::make_unique<CopyWatch>(loop_, **target_, resource, selector);
  const double cpuBefore = ownCpuSeconds();
  const double serverBefore = targetServerCpu();
  const auto start = Clock::now();
  auto pages =
      baselineSource_->run(listPages(baselineSource_->client(), resource, "", kBenchSelector, 500));
  if (!pages) throw std::runtime_error("baseline list: " + pages.error().describe());
  std::vector<const kube::JsonValue*> items;
  for (const kube::ListResult& page : *pages) {
    for (const kube::JsonValue& item : page.items().GetArray()) items.push_back(&item);
  }
  std::set<std::string> sourceNamespaces;
  for (const kube::JsonValue* item : items) sourceNamespaces.emplace(kube::namespaceOf(*item));
  for (const std::string& ns : sourceNamespaces) {
    const kube::Json object = testing::namespaceObject(prefix + ns);
    const std::string failure = baselineTarget_->run(
        createObject(baselineTarget_->client(), kube::resources::namespaces(), object));
    if (!failure.empty()) throw std::runtime_error("baseline: " + failure);
  }
  // Outside the coroutine call: g++ 12 destroys a conditional's temporary there twice.
  const std::string applyManager = apply ? owner : std::string();
  const BenchKind& kind = workload.kind;
  const std::string failure = runJobs(
      loop_, items.size(), options_.workers, [&](std::size_t i) -> asio::awaitable<std::string> {
        const kube::Json copy = baselineCopy(
            kind, *items[i], prefix + std::string(kube::namespaceOf(*items[i])), owner);
        co_return co_await createObject(baselineTarget_->client(), resource, copy, applyManager);
      });
  if (!failure.empty()) throw std::runtime_error("baseline: " + failure);
  const Clock::time_point done = watch->waitFor(items.size(), options_.timeout);
  watch.reset();
  BaselineCopy result;
  result.rate = static_cast<double>(items.size()) / secondsBetween(start, done);
  result.driverCpuPerThousand = perThousand(ownCpuSeconds() - cpuBefore, items.size());
  result.serverCpuPerThousand = perThousand(targetServerCpu() - serverBefore, items.size());
  progress(scenario + ": baseline " + formatNumber(result.rate) + " objects/s (" + verb + ")");
  // The daemon caches every target object of the kind: the baseline's copies must not be
  // counted in its lists and memory. Their namespaces stay (empty), for the next baseline with
  // the same prefix.
  std::vector<std::string> copies;
  for (const kube::JsonValue* item : items) {
    copies.push_back(
        kube::objectKey(prefix + std::string(kube::namespaceOf(*item)), kube::nameOf(*item)));
  }
  removeTargetObjects(resource, copies, selector);
  return result;
}

void Bench::scenarioCustomObjects() {
  const std::size_t n = options_.customObjects;
  if (n == 0) return;
  installCustomKind();
  startTracker(custom_);
  // Its own idle daemon: one with the policy also watches the custom kind on both sides.
  measureIdleDaemon(custom_);
  seed(custom_, 0, n);
  measureInitialSync(custom_, n, {kCustom, kCustom, kCustom, kCustom, false});
  stopDaemon();
  // The objects and their copies stay: the daemon of the other scenarios does not sync the
  // kind, and the driver stops watching it.
  stopTracker(custom_);
}

void Bench::scenarioInitialSync() {
  measureInitialSync(configMaps_, options_.objects, {kInitial, kMemory, kWrites, kCpu, true});
}

void Bench::measureInitialSync(Workload& workload, std::size_t n, const Placement& at) {
  // Baseline: the driver lists the source and creates the same objects in target namespaces of
  // its own (baseline-<ns>), with the daemon's worker count and client limits. Its copies are
  // timed as the daemon's are, by when the driver's watch shows the last of them, so that the
  // same watch load is on the target server in both runs. A second run writes them as the
  // daemon does, by server-side apply: it shows how much of the gap is the API server's cost of
  // an apply.
  const BaselineCopy created =
      copyAsBaseline(workload, at.initial, "baseline-", kBaselineOwner, false);
  const BaselineCopy applied =
      copyAsBaseline(workload, at.initial, "baseline-apply-", kBaselineApplyOwner, true);

  progress(at.initial + ": daemon");
  const double serverBeforeDaemon = targetServerCpu();
  startDaemon(workload);
  const Clock::time_point done = waitForCopies(workload, n);
  const ProcessSample atDone = sampleDaemon();
  const double daemonServerCpu = targetServerCpu() - serverBeforeDaemon;
  const double syncSeconds = secondsBetween(daemonStarted_, done);
  waitForReady();
  const double daemonRate = static_cast<double>(n) / syncSeconds;
  progress(at.initial + ": daemon " + formatNumber(daemonRate) + " objects/s");
  report_.add(Figure(at.initial, "throughput", "objects/s", daemonRate)
                  .withBaseline(created.rate,
                                "driver lists the source and creates the copies, same workers "
                                "and client limits")
                  .withTarget(at.withTargets ? Target::ratioAtLeast(0.9) : Target::none())
                  .withNote("daemon: start to the last correct copy in " +
                            formatNumber(syncSeconds) + " s"));
  report_.add(Figure(at.initial, "throughput against apply", "objects/s", daemonRate)
                  .withBaseline(applied.rate,
                                "the same baseline, writing by server-side apply as the daemon "
                                "does")
                  .withNote("no target: the part of the gap above that is not the daemon's"));
  report_.add(Figure(at.cpu, "daemon CPU per 1,000 objects, initial sync", "s",
                     perThousand(atDone.cpuSeconds, n))
                  .withBaseline(created.driverCpuPerThousand,
                                "the driver's own CPU for the baseline copy"));

  if (targetServer_) {
    report_.add(Figure(at.cpu, "target API server CPU per 1,000 objects, initial sync", "s",
                       perThousand(daemonServerCpu, n))
                    .withBaseline(created.serverCpuPerThousand, "the same for the baseline copy"));
    report_.add(Figure(at.cpu, "target API server CPU per 1,000 applies, baseline", "s",
                       applied.serverCpuPerThousand)
                    .withBaseline(created.serverCpuPerThousand,
                                  "the same per 1,000 creates: what an apply costs the server"));
  }

  settle();
  const WriteCounts writes = pollWrites();
  report_.add(Figure(at.writes, "writes per object, initial sync", "writes/object",
                     static_cast<double>(writes.total()) / static_cast<double>(n))
                  .withDecimals(2)
                  .withNote(count(writes.targetApplies) + " applies, " + count(writes.namespaces) +
                            " namespaces, " + count(writes.targetOther + writes.source) +
                            " other writes"));
  addMemoryFigure(workload, at.memory, n, sampleDaemon(), false);
}

void Bench::addMemoryFigure(Workload& workload, const std::string& scenario, std::size_t objects,
                            const ProcessSample& sample, bool withTarget) {
  const double meanJson = meanObjectJsonBytes(workload);
  const double perObject =
      (static_cast<double>(sample.rssBytes) - static_cast<double>(workload.idleRssBytes)) /
      static_cast<double>(objects);
  // Where it goes: the stored object text of each cache, from the daemon's metrics.
  std::string cacheText;
  for (const char* side : {"source", "target"}) {
    std::string seen;
    const std::string series = std::string("kube_bisync_cache_bytes{side=\"") + side +
                               "\",resource=\"" + workload.kind.resourceKey() + "\"}";
    const std::optional<double> bytes = daemon_->metric(series, seen);
    cacheText += std::string(cacheText.empty() ? "; cached text per object: " : ", ") + side + " " +
                 (bytes ? formatNumber(*bytes / static_cast<double>(objects)) : "?");
  }
  std::string seen;
  if (const auto heap = daemon_->metric("kube_bisync_heap_in_use_bytes", seen)) {
    cacheText += "; heap in use " + formatNumber(*heap / 1048576.0) + " MiB";
  }
  progress(scenario + " at " + count(objects) + ": " + formatNumber(perObject) +
           " bytes per object, mean object JSON " + formatNumber(meanJson) + " bytes");
  report_.add(
      Figure(scenario, "RSS per object at " + count(objects), "bytes", perObject)
          .withBaseline(meanJson, "mean JSON size of one source object as the server returns it")
          .withTarget(withTarget ? Target::ratioAtMost(1.5) : Target::none())
          .withDecimals(0)
          .withNote("RSS " + formatNumber(static_cast<double>(sample.rssBytes) / 1048576.0) +
                    " MiB (peak " +
                    formatNumber(static_cast<double>(sample.peakRssBytes) / 1048576.0) +
                    " MiB), idle daemon " +
                    formatNumber(static_cast<double>(workload.idleRssBytes) / 1048576.0) + " MiB" +
                    cacheText));
}

void Bench::scenarioLatency() {
  SyncTracker& tracker = *configMaps_.tracker;
  std::vector<std::string> keys = loop_.call([&] { return tracker.sourceKeys(); });
  std::mt19937 random(5);
  std::shuffle(keys.begin(), keys.end(), random);
  const auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(options_.duration);
  UpdateLoad load(source_->client(), std::move(keys), options_.rate, duration, 1);
  ApplyProbe probe(target_->client(), "bench-probe", options_.probeInterval, options_.objectBytes);
  const kube::Json probeNamespace = testing::namespaceObject("bench-probe");
  const std::string failure =
      target_->run(createObject(target_->client(), kube::resources::namespaces(), probeNamespace));
  if (!failure.empty()) throw std::runtime_error(failure);

  progress("2 latency: " + count(load.total()) + " updates at " + formatNumber(options_.rate) +
           "/s for " + std::to_string(options_.duration.count()) + " s");
  loop_.call([&] {
    tracker.setSourceHook([&](const std::string& key, std::uint64_t seq, Clock::time_point at) {
      load.sourceSeen(key, seq, at);
    });
    tracker.setTargetHook([&](const std::string& key, std::uint64_t seq, Clock::time_point at) {
      load.targetSeen(key, seq, at);
    });
  });
  auto probing = asio::co_spawn(loop_.io(), probe.run(), asio::use_future);
  // The hooks and the probe use `load` and `probe`: both end before they do.
  const ScopeExit unhook([&] {
    loop_.call([&] {
      probe.stop();
      tracker.setSourceHook(nullptr);
      tracker.setTargetHook(nullptr);
    });
    probing.wait();
  });
  const WriteCounts writesBefore = pollWrites();
  const std::uint64_t eventsBefore = targetEvents();
  const double cpuBefore = sampleDaemon().cpuSeconds;
  std::string scrapeProblem;
  const auto reconcilesBefore =
      scrapeHistogram(*daemon_, "kube_bisync_reconcile_seconds", scrapeProblem);
  const auto waitsBefore =
      scrapeHistogram(*daemon_, "kube_bisync_queue_wait_seconds", scrapeProblem);
  loop_.run(load.run());
  const auto drained =
      testing::waitFor("every update seen in the target", options_.timeout, [&](std::string& seen) {
        const std::size_t pending = loop_.call([&] { return load.targetPending(); });
        seen = count(pending) + " not seen yet";
        return pending == 0;
      });
  const double cpu = sampleDaemon().cpuSeconds - cpuBefore;
  const auto reconcilesAfter =
      scrapeHistogram(*daemon_, "kube_bisync_reconcile_seconds", scrapeProblem);
  const auto waitsAfter =
      scrapeHistogram(*daemon_, "kube_bisync_queue_wait_seconds", scrapeProblem);
  loop_.call([&] { probe.stop(); });
  probing.wait();
  settle();
  const WriteCounts writes = pollWrites() - writesBefore;
  const std::uint64_t events = targetEvents() - eventsBefore;

  const auto [targetMs, sourceMs, succeeded, failed, folded, pending, achieved, arrived,
              firstError] = loop_.call([&] {
    return std::tuple(load.targetLatenciesMs(), load.sourceLatenciesMs(), load.succeeded(),
                      load.failed(), load.folded(), load.targetPending(), load.achievedRate(),
                      load.arrivalRate(), load.firstError());
  });
  if (succeeded == 0) throw std::runtime_error("no update succeeded: " + firstError);
  const std::vector<double> applyMs = loop_.call([&] { return probe.latenciesMs(); });
  const double applyMedian = percentile(applyMs, 50);
  const std::string seen =
      count(targetMs.size()) + " of " + count(succeeded) + " updates seen in the target" +
      (drained ? "" : " (" + count(pending) + " never arrived)") + "; " + count(failed) +
      " updates failed" + (failed == 0 ? "" : " (" + firstError + ")") + "; sent at " +
      formatNumber(achieved) + "/s";
  // Where the time goes: the daemon's own queue wait and reconcile (apply included), from its
  // histograms (bucket bounds, so upper estimates), and the target's apply tail on its own.
  std::string breakdown = "target apply alone: p50 " + formatNumber(applyMedian) + " ms, p99 " +
                          formatNumber(percentile(applyMs, 99)) + " ms";
  const auto quantiles = [](const std::optional<HistogramSnapshot>& before,
                            const std::optional<HistogramSnapshot>& after) {
    if (!before || !after) return std::string("?");
    const auto p50 = after->quantileMs(0.5, *before);
    const auto p99 = after->quantileMs(0.99, *before);
    return "p50 <= " + (p50 ? formatNumber(*p50) : "?") +
           " ms, p99 <= " + (p99 ? formatNumber(*p99) : "?") + " ms";
  };
  breakdown += "; daemon queue wait " + quantiles(waitsBefore, waitsAfter) + ", reconcile " +
               quantiles(reconcilesBefore, reconcilesAfter);
  progress("2 latency: " + seen);
  progress("2 latency: " + breakdown);
  const std::string baselineWhat =
      "source watch latency of the same write + median target apply (" + formatNumber(applyMedian) +
      " ms over " + count(applyMs.size()) + " applies)";
  for (const auto& [name, p] :
       {std::pair("p50", 50.0), std::pair("p99", 99.0), std::pair("max", 100.0)}) {
    report_.add(
        Figure(kLatency, name, "ms", percentile(targetMs, p))
            .withBaseline(percentile(sourceMs, p) + applyMedian, baselineWhat)
            .withTarget(std::string(name) == "p99" ? Target::ratioAtMost(2.0) : Target::none())
            .withNote(seen + "; " + breakdown));
  }
  report_.add(Figure(kLatency, "changes reaching the target", "changes/s", arrived)
                  .withBaseline(achieved, "source updates sent a second")
                  .withNote("below the rate sent, a backlog builds up and latency grows with it"));
  // An update the daemon folded into a later one of the same object (it was behind) is not an
  // effective change: the target never had to show it.
  const std::size_t effective = succeeded - folded;
  const std::string changes = count(effective) + " effective changes (" + count(succeeded) +
                              " source updates, " + count(folded) + " folded into later ones)";
  report_.add(Figure(kWrites, "writes per change (daemon metrics)", "writes/change",
                     static_cast<double>(writes.total()) / static_cast<double>(effective))
                  .withTarget(Target::valueExactly(1.0))
                  .withDecimals(2)
                  .withNote(count(writes.total()) + " writes for " + changes));
  report_.add(Figure(kWrites, "target versions per change (watch)", "writes/change",
                     static_cast<double>(events) / static_cast<double>(effective))
                  .withTarget(Target::valueExactly(1.0))
                  .withDecimals(2)
                  .withNote(count(events) + " new target resourceVersions for " + changes));
  report_.add(
      Figure(kCpu, "daemon CPU per 1,000 updates, steady state", "s", perThousand(cpu, succeeded)));
  if (!drained) {
    throw std::runtime_error("2 latency: " + seen + "\n" + daemon_->describe());
  }
}

void Bench::scenarioIdleWrites() {
  progress("5 write amplification: " + std::to_string(options_.idle.count()) + " s idle");
  const WriteCounts before = pollWrites();
  const std::uint64_t eventsBefore = targetEvents();
  std::this_thread::sleep_for(options_.idle);
  const WriteCounts writes = pollWrites() - before;
  const std::uint64_t events = targetEvents() - eventsBefore;
  const std::string idle = std::to_string(options_.idle.count()) + " s idle";
  report_.add(Figure(kWrites, "writes in " + idle + " (daemon metrics)", "writes",
                     static_cast<double>(writes.total()))
                  .withTarget(Target::valueExactly(0))
                  .withDecimals(0));
  report_.add(Figure(kWrites, "target versions in " + idle + " (watch)", "writes",
                     static_cast<double>(events))
                  .withTarget(Target::valueExactly(0))
                  .withDecimals(0));
}

void Bench::scenarioRestart() {
  // Baseline: the driver lists both sides' ConfigMaps (what the daemon caches) at once, with
  // the daemon's client limits; the median of three.
  std::vector<double> listSeconds;
  const kube::ResourceInfo configMaps = kube::resources::configMaps();
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    auto sourceList =
        asio::co_spawn(loop_.io(), listPages(baselineSource_->client(), configMaps, "", "", 500),
                       asio::use_future);
    auto targetList =
        asio::co_spawn(loop_.io(), listPages(baselineTarget_->client(), configMaps, "", "", 500),
                       asio::use_future);
    const auto sourcePages = sourceList.get();
    const auto targetPages = targetList.get();
    listSeconds.push_back(secondsBetween(start, Clock::now()));
    if (!sourcePages || !targetPages) {
      throw std::runtime_error(
          "restart baseline list: " +
          (sourcePages ? targetPages.error() : sourcePages.error()).describe());
    }
  }
  const double baseline = percentile(listSeconds, 50);

  progress("4 restart: SIGTERM, then start again");
  stopDaemon();
  const std::uint64_t eventsBefore = targetEvents();
  startDaemon(configMaps_);
  const double ready = waitForReady();
  settle();
  const WriteCounts writes = pollWrites();
  const std::uint64_t events = targetEvents() - eventsBefore;
  progress("4 restart: ready in " + formatNumber(ready) + " s, " + count(writes.total()) +
           " writes");
  // Where the time went, by the daemon's own clock (which starts when its informers do).
  if (const auto times = reportedStartTimes(daemon_->log())) {
    progress("4 restart: the daemon's caches synced " +
             formatNumber(static_cast<double>(times->cachesSyncedMs) / 1000) +
             " s after its informers started, initial sync complete " +
             formatNumber(static_cast<double>(times->readyMs) / 1000) + " s after; so " +
             formatNumber(ready - static_cast<double>(times->readyMs) / 1000) +
             " s before the informers started (process start, kubeconfigs, discovery)");
  }
  report_.add(Figure(kRestart, "time to ready", "s", ready)
                  .withBaseline(baseline, "driver lists both sides' objects at once (median of 3)")
                  .withTarget(Target::ratioAtMost(1.5)));
  report_.add(Figure(kRestart, "writes after restart (daemon metrics)", "writes",
                     static_cast<double>(writes.total()))
                  .withTarget(Target::valueExactly(0))
                  .withDecimals(0));
  report_.add(Figure(kRestart, "target versions after restart (watch)", "writes",
                     static_cast<double>(events))
                  .withTarget(Target::valueExactly(0))
                  .withDecimals(0));
}

void Bench::scenarioMemoryAtScale() {
  const std::size_t m = options_.memoryObjects;
  if (m <= options_.objects) return;
  stopDaemon();
  seed(configMaps_, options_.objects, m);
  progress("3 memory: daemon syncs " + count(m) + " objects");
  startDaemon(configMaps_);
  waitForCopies(configMaps_, m);
  waitForReady();
  settle();
  addMemoryFigure(configMaps_, kMemory, m, sampleDaemon(), true);
}

}  // namespace bisync::bench
