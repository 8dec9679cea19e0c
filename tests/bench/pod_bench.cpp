#include "tests/bench/pod_bench.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/bench/daemon_meter.hpp"
#include "tests/bench/pod_watch.hpp"
#include "tests/bench/workload.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/node_simulator.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/wait.hpp"

namespace bisync::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kScenario = "8 pods";
// Every benchmark Pod (virtual, host copy, or created directly on the host) carries it.
constexpr const char* kPodLabel = "kube-bisync-bench/pod";
const std::string kPodSelector = std::string(kPodLabel) + "=true";
constexpr const char* kImage = "registry.k8s.io/pause:3.9";

kube::ResourceInfo pods() { return {"", "v1", "pods", "Pod", true, true}; }
kube::ResourceInfo deployments() { return {"apps", "v1", "deployments", "Deployment", true, true}; }

std::string virtualNamespace(std::size_t i) { return "pods-" + padded(i, 2); }
std::string directNamespace(std::size_t i) { return "direct-pods-" + padded(i, 2); }
std::string deploymentName(std::size_t j) { return "web-" + padded(j, 3); }

double secondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

kube::Json parsed(const std::string& text) {
  auto json = kube::parseJson(text, "benchmark Pod object");
  if (!json) throw std::logic_error(json.error().describe());
  return std::move(*json);
}

// The labels and spec every benchmark Pod has, whichever way it is made.
std::string podLabels(const std::string& app) {
  return R"({"app":")" + app + R"(",")" + kPodLabel + R"(":"true"})";
}
std::string podSpec() {
  return R"({"containers":[{"name":"app","image":")" + std::string(kImage) + R"("}]})";
}

kube::Json deployment(const std::string& ns, const std::string& name) {
  return parsed(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
                R"(","namespace":")" + ns +
                R"("},"spec":{"replicas":0,"selector":{"matchLabels":)" + podLabels(name) +
                R"(},"template":{"metadata":{"labels":)" + podLabels(name) + R"(},"spec":)" +
                podSpec() + "}}}");
}

// What the host Pod of a virtual one looks like as far as the scheduler and the kubelet go: the
// same container, no service-account token of the host's.
kube::Json directPod(const std::string& ns, const std::string& name, const std::string& app) {
  return parsed(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                R"(","namespace":")" + ns + R"(","labels":)" + podLabels(app) +
                R"(},"spec":{"automountServiceAccountToken":false,"containers":[{"name":"app",)"
                R"("image":")" +
                kImage + R"("}]}})");
}

// Writes of the daemon's that kube_bisync_writes_total does not count: Event copies, virtual
// Nodes and its own Events (docs/operations.md, metrics).
std::optional<std::uint64_t> hostViewWrites(const testing::DaemonProcess& daemon,
                                            std::string& seen) {
  const std::optional<std::string> text = daemon.scrapeMetrics(seen);
  if (!text) return std::nullopt;
  std::uint64_t total = 0;
  for (const std::string series :
       {"kube_bisync_event_copies_total{operation=\"create\"}",
        "kube_bisync_event_copies_total{operation=\"update\"}",
        "kube_bisync_node_writes_total{operation=\"create\"}",
        "kube_bisync_node_writes_total{operation=\"restore\"}",
        "kube_bisync_node_writes_total{operation=\"status\"}",
        "kube_bisync_node_writes_total{operation=\"delete\"}", "kube_bisync_events_total"}) {
    if (!addSample(*text, series, total, seen)) return std::nullopt;
  }
  return total;
}

// "p50 <bound> ms, p99 <bound> ms" of a histogram's observations between two scrapes; each a
// bucket's upper bound (beyond the last finite one, 1 s, only "more" is known).
std::string histogramQuantiles(const std::optional<HistogramSnapshot>& earlier,
                               const std::optional<HistogramSnapshot>& later) {
  if (!earlier || !later) return "?";
  const auto bound = [](const std::optional<double>& ms) {
    if (!ms) return std::string("?");
    return std::isinf(*ms) ? std::string("> 1000") : "<= " + formatNumber(*ms);
  };
  return "p50 " + bound(later->quantileMs(0.5, *earlier)) + " ms, p99 " +
         bound(later->quantileMs(0.99, *earlier)) + " ms";
}

std::string quantiles(const std::vector<double>& ms) {
  return "p50 " + formatNumber(percentile(ms, 50)) + " ms, p99 " +
         formatNumber(percentile(ms, 99)) + " ms";
}

// Where each Pod's time went, from the two sides' watches (keyed alike).
std::string describeRun(Clock::time_point start,
                        const std::map<std::string, PodWatch::Times>& virtualTimes,
                        const std::map<std::string, PodWatch::Times>& hostTimes) {
  Clock::time_point lastCreated{};
  for (const auto& [key, times] : virtualTimes) lastCreated = std::max(lastCreated, times.seen);
  return "the virtual controllers had made the last Pod " +
         formatNumber(secondsBetween(start, lastCreated)) + " s after kubectl scale started; " +
         "virtual Pod seen to host Pod seen " +
         quantiles(latenciesMs(virtualTimes, false, hostTimes, false)) +
         "; host Pod seen to host Pod Running " +
         quantiles(latenciesMs(hostTimes, false, hostTimes, true)) +
         "; host Pod Running to virtual Pod Running " +
         quantiles(latenciesMs(hostTimes, true, virtualTimes, true));
}

}  // namespace

PodBench::PodBench(testing::Testbed& testbed, PodBenchOptions options, Report& report)
    : testbed_(testbed), options_(std::move(options)), report_(report), started_(Clock::now()) {
  const kube::ClientOptions unthrottled = driverClientOptions();
  source_ = std::make_unique<testing::LoopClient>(loop_, testbed_.restConfig(testing::Side::Source),
                                                  unthrottled);
  target_ = std::make_unique<testing::LoopClient>(loop_, testbed_.restConfig(testing::Side::Target),
                                                  unthrottled);
  baselineTarget_ =
      std::make_unique<testing::LoopClient>(loop_, testbed_.restConfig(testing::Side::Target),
                                            baselineClientOptions(options_.qps, options_.burst));
}

PodBench::~PodBench() { daemon_.reset(); }

void PodBench::progress(const std::string& message) const {
  std::fprintf(stderr, "[bench pods %6.1f s] %s\n", secondsBetween(started_, Clock::now()),
               message.c_str());
}

void PodBench::run() {
  if (options_.replicas == 0 || options_.pods % options_.replicas != 0) {
    throw std::runtime_error("8 pods: --pods must be a multiple of the replicas per Deployment");
  }
  // Room for every Pod of one run on the nodes, with the kubelet's default headroom.
  const std::size_t perNode = options_.pods / options_.nodes + 110;
  testing::NodeSimulator nodes(testbed_, {.nodes = static_cast<int>(options_.nodes),
                                          .pods = std::to_string(perNode),
                                          .gracePeriodCap = 0ms});
  nodes.start();
  progress(std::to_string(options_.nodes) + " simulated host nodes registered");
  createNamespaces();
  createDeployments();
  const Run direct = runDirectly();
  controllersAloneSeconds_ = runControllersAlone();
  const Run synced = runThroughDaemon();
  addFigures(direct, synced);
  stopDaemon();
}

void PodBench::createNamespaces() {
  for (std::size_t i = 0; i < options_.namespaces; ++i) {
    for (auto [client, ns] : {std::pair(source_.get(), virtualNamespace(i)),
                              std::pair(target_.get(), directNamespace(i))}) {
      const std::string failure = client->run(createObject(
          client->client(), kube::resources::namespaces(), testing::namespaceObject(ns)));
      if (!failure.empty()) throw std::runtime_error("8 pods: " + failure);
    }
  }
  // The virtual cluster's ServiceAccount admission refuses Pods until "default" exists.
  for (std::size_t i = 0; i < options_.namespaces; ++i) {
    testbed_.waitForDefaultServiceAccount(testing::Side::Source, virtualNamespace(i), 60s);
  }
}

void PodBench::createDeployments() {
  const std::size_t count = options_.pods / options_.replicas;
  progress("creating " + std::to_string(count) +
           " Deployments of 0 replicas in the virtual cluster");
  const std::string failure =
      runJobs(loop_, count, options_.workers, [&](std::size_t j) -> asio::awaitable<std::string> {
        const kube::Json object =
            deployment(virtualNamespace(j % options_.namespaces), deploymentName(j));
        co_return co_await createObject(source_->client(), deployments(), object);
      });
  if (!failure.empty()) throw std::runtime_error("8 pods: " + failure);
}

void PodBench::scaleDeployments(std::size_t replicas) {
  // One kubectl per namespace, all at once: a single kubectl scaling every Deployment would be
  // the bottleneck, at its client's 5 requests a second.
  std::vector<std::future<testing::CommandResult>> scaling;
  for (std::size_t i = 0; i < options_.namespaces; ++i) {
    scaling.push_back(std::async(std::launch::async, [this, i, replicas] {
      return testbed_.kubectl(testing::Side::Source,
                              {"scale", "deployment", "--all",
                               "--replicas=" + std::to_string(replicas), "-n", virtualNamespace(i)},
                              300s);
    }));
  }
  for (auto& scaled : scaling) {
    const testing::CommandResult result = scaled.get();
    if (!result.ok()) throw std::runtime_error("8 pods: kubectl scale: " + result.summary());
  }
}

double PodBench::runControllersAlone() {
  progress("the virtual controllers alone: kubectl scale with no daemon running");
  PodWatch watch(loop_, source_->client(), kPodSelector);
  const auto start = Clock::now();
  scaleDeployments(options_.replicas);
  const double seconds =
      secondsBetween(start, watch.waitForPresent(options_.pods, options_.timeout));
  // No node is set on them: the server deletes them at once.
  scaleDeployments(0);
  watch.waitForPresent(0, options_.timeout);
  progress("the virtual controllers made " + std::to_string(options_.pods) + " Pods in " +
           formatNumber(seconds) + " s");
  return seconds;
}

PodBench::Run PodBench::runDirectly() {
  progress("baseline: creating " + std::to_string(options_.pods) + " Pods directly on the host");
  Run run;
  {
    PodWatch watch(loop_, target_->client(), kPodSelector);
    const auto start = Clock::now();
    const std::string failure = runJobs(
        loop_, options_.pods, options_.workers, [&](std::size_t i) -> asio::awaitable<std::string> {
          const std::size_t j = i / options_.replicas;  // the Deployment it stands for
          const kube::Json object = directPod(
              directNamespace(j % options_.namespaces),
              deploymentName(j) + "-" + std::to_string(i % options_.replicas), deploymentName(j));
          co_return co_await createObject(baselineTarget_->client(), pods(), object);
        });
    if (!failure.empty()) throw std::runtime_error("8 pods baseline: " + failure);
    const auto last = watch.waitForRunning(options_.pods, options_.timeout, [] { return ""; });
    run.seconds = secondsBetween(start, last);
    const auto times = watch.times();
    run.latenciesMs = latenciesMs(times, false, times, true);
    progress("baseline: all Running in " + formatNumber(run.seconds) + " s; deleting them");
    const std::vector<std::string> keys = watch.presentKeys();
    const std::string removed = runJobs(
        loop_, keys.size(), options_.workers, [&](std::size_t i) -> asio::awaitable<std::string> {
          const std::string& key = keys[i];
          const auto slash = key.find('/');
          const auto result = co_await target_->client().remove(pods(), key.substr(0, slash),
                                                                key.substr(slash + 1));
          if (result || result.error().isNotFound()) co_return std::string();
          co_return "delete pod " + key + ": " + result.error().describe();
        });
    if (!removed.empty()) throw std::runtime_error("8 pods baseline: " + removed);
    // The simulator removes each (grace 0) once it sees the deletion.
    watch.waitForPresent(0, options_.timeout);
  }
  return run;
}

void PodBench::startDaemon() {
  testing::DaemonOptions options;
  options.binary = options_.daemonBinary;
  options.args = {"--cluster-name",
                  options_.cluster,
                  "--workers",
                  std::to_string(options_.workers),
                  "--qps",
                  formatNumber(options_.qps, 0),
                  "--burst",
                  std::to_string(options_.burst),
                  "--resources",
                  "pods,configmaps,secrets",
                  "--virtual-dns-server",
                  "10.96.0.10",
                  "--virtual-apiserver-address",
                  "10.96.0.1"};
  options.args.insert(options.args.end(), options_.extraDaemonArgs.begin(),
                      options_.extraDaemonArgs.end());
  daemon_ = std::make_unique<testing::DaemonProcess>(testbed_, options);
  const auto ready =
      testing::waitFor("the daemon answers /readyz", options_.timeout, [&](std::string&) {
        if (!daemon_->running())
          throw std::runtime_error("the daemon exited\n" + daemon_->describe());
        if (daemon_->opsUrl().empty()) return false;
        testing::ProbeRequest request;
        request.url = daemon_->opsUrl() + "/readyz";
        return testing::httpGet(request).status == 200;
      });
  if (!ready) throw std::runtime_error("8 pods: the daemon was not ready\n" + daemon_->describe());
}

void PodBench::stopDaemon() {
  if (!daemon_ || !daemon_->running()) return;
  const std::string status = daemon_->terminate(60s);
  if (status != "exited with status 0") {
    throw std::runtime_error("8 pods: the daemon did not stop cleanly: " + status + "\n" +
                             daemon_->describe());
  }
}

std::uint64_t PodBench::rssBytes() {
  const auto sample = sampleProcess(daemon_->pid());
  if (!sample) throw std::runtime_error("cannot read /proc of the daemon\n" + daemon_->describe());
  return sample->rssBytes;
}

std::string PodBench::describeCounters(const DaemonCounters& before, const DaemonCounters& after) {
  return "queue wait " + histogramQuantiles(before.queueWaits, after.queueWaits) + ", reconcile " +
         histogramQuantiles(before.reconciles, after.reconciles) + ", CPU " +
         formatNumber(after.cpuSeconds - before.cpuSeconds) + " s";
}

PodBench::DaemonCounters PodBench::readCounters() {
  DaemonCounters counters;
  std::string seen;
  const auto writes = scrapeWrites(*daemon_, seen);
  const auto hostView = hostViewWrites(*daemon_, seen);
  if (!writes || !hostView) throw std::runtime_error("8 pods: the daemon's metrics: " + seen);
  counters.writes = *writes;
  counters.hostViewWrites = *hostView;
  counters.queueWaits = scrapeHistogram(*daemon_, "kube_bisync_queue_wait_seconds", seen);
  counters.reconciles = scrapeHistogram(*daemon_, "kube_bisync_reconcile_seconds", seen);
  counters.cpuSeconds = sampleProcess(daemon_->pid()).value_or(ProcessSample{}).cpuSeconds;
  return counters;
}

PodBench::Run PodBench::runThroughDaemon() {
  startDaemon();
  std::this_thread::sleep_for(options_.settle);  // its start's writes (namespaces) end
  idleRssBytes_ = rssBytes();
  idleMemoryNote_ = memoryBreakdown();
  const DaemonCounters before = readCounters();

  PodWatch virtualPods(loop_, source_->client(), kPodSelector);
  PodWatch hostPods(loop_, target_->client(), kPodSelector);
  progress("kubectl scale: " + std::to_string(options_.pods / options_.replicas) +
           " Deployments to " + std::to_string(options_.replicas) + " replicas");
  Run run;
  const auto start = Clock::now();
  scaleDeployments(options_.replicas);
  const auto last = virtualPods.waitForRunning(options_.pods, options_.timeout, [&] {
    return daemon_->running() ? std::string() : "the daemon exited\n" + daemon_->describe();
  });
  run.seconds = secondsBetween(start, last);
  const auto virtualTimes = virtualPods.times();
  run.latenciesMs = latenciesMs(virtualTimes, false, virtualTimes, true);
  run.note = describeRun(start, virtualTimes, hostPods.times()) + "; the daemon's " +
             describeCounters(before, readCounters());
  progress("all " + std::to_string(options_.pods) + " virtual Pods Running in " +
           formatNumber(run.seconds) + " s; " + run.note);

  std::this_thread::sleep_for(options_.settle);  // late writes are counted too
  const DaemonCounters after = readCounters();
  writes_ = after.writes - before.writes;
  hostViewWrites_ = after.hostViewWrites - before.hostViewWrites;
  rssBytes_ = rssBytes();
  memoryNote_ = memoryBreakdown();
  meanPodJson_ = meanPodJsonBytes(virtualPods.presentKeys());
  // For a closer look at where the time went: the daemon's whole /metrics at this point.
  if (const char* path = std::getenv("KUBE_BISYNC_BENCH_POD_METRICS"); path != nullptr) {
    std::string seen;
    std::ofstream(path) << daemon_->scrapeMetrics(seen).value_or(seen);
  }
  return run;
}

std::string PodBench::memoryBreakdown() {
  std::string seen;
  const std::optional<std::string> text = daemon_->scrapeMetrics(seen);
  if (!text) return "metrics: " + seen;
  const auto mib = [&](const std::string& series) {
    const std::optional<double> bytes = testing::metricSample(*text, series);
    return bytes ? formatNumber(*bytes / 1048576.0) : std::string("?");
  };
  std::string note = "heap in use " + mib("kube_bisync_heap_in_use_bytes") + " MiB, cached text";
  for (const auto& [side, resource] :
       {std::pair("source", "pods"), std::pair("target", "pods"), std::pair("target", "events"),
        std::pair("target", "secrets")}) {
    note += std::string(" ") + side + " " + resource + " " +
            mib(std::string("kube_bisync_cache_bytes{side=\"") + side + "\",resource=\"" +
                resource + "\"}");
  }
  return note + " MiB";
}

double PodBench::meanPodJsonBytes(const std::vector<std::string>& keys) {
  // A spread sample of single GETs of virtual Pods: as the server returns them, managedFields,
  // status and all.
  const std::size_t samples = std::min<std::size_t>(keys.size(), 200);
  double total = 0;
  for (std::size_t s = 0; s < samples; ++s) {
    const std::string& key = keys[s * keys.size() / samples];
    const auto slash = key.find('/');
    auto pod =
        source_->run(source_->client().get(pods(), key.substr(0, slash), key.substr(slash + 1)));
    if (!pod) throw std::runtime_error("8 pods: get pod " + key + ": " + pod.error().describe());
    total += static_cast<double>(kube::toJson(*pod).size());
  }
  return samples == 0 ? 0 : total / static_cast<double>(samples);
}

void PodBench::addFigures(const Run& direct, const Run& synced) {
  const auto pods = static_cast<double>(options_.pods);
  report_.add(Figure(kScenario, "Pods Running a second", "Pods/s", pods / synced.seconds)
                  .withBaseline(pods / direct.seconds,
                                "the same Pods created on the host by the driver (" +
                                    std::to_string(options_.workers) +
                                    " at a time), scheduled and run by the same simulator")
                  .withTarget(Target::ratioAtLeast(0.8))
                  .withNote("kubectl scale to the last virtual Pod Running: " +
                            formatNumber(synced.seconds) +
                            " s; direct: " + formatNumber(direct.seconds) + " s"));
  report_.add(Figure(kScenario, "Pods the virtual controllers make a second, no daemon", "Pods/s",
                     pods / controllersAloneSeconds_)
                  .withBaseline(pods / direct.seconds, "the direct run's Pods Running a second")
                  .withNote("kubectl scale to the last virtual Pod made, with no daemon running: " +
                            formatNumber(controllersAloneSeconds_) +
                            " s; the pace the daemon's run cannot beat"));
  const std::string latencyWhat =
      "a Pod created on the host directly: its creation to Running, both seen by a watch";
  for (const auto& [name, p] : {std::pair("p50 Pod created to Running", 50.0),
                                std::pair("p99 Pod created to Running", 99.0)}) {
    report_.add(Figure(kScenario, name, "ms", percentile(synced.latenciesMs, p))
                    .withBaseline(percentile(direct.latenciesMs, p), latencyWhat)
                    .withTarget(p == 99.0 ? Target::ratioAtMost(2.0) : Target::none())
                    .withNote("virtual Pod: its creation by the ReplicaSet controller to Running, "
                              "both seen by a watch of the virtual cluster; " +
                              synced.note));
  }
  const double perPod =
      (static_cast<double>(rssBytes_) - static_cast<double>(idleRssBytes_)) / pods;
  report_.add(
      Figure(kScenario, "RSS per Pod at " + std::to_string(options_.pods), "bytes", perPod)
          .withBaseline(meanPodJson_, "mean JSON size of one virtual Pod as the server returns it")
          .withTarget(Target::ratioAtMost(1.5))
          .withDecimals(0)
          .withNote("RSS " + formatNumber(static_cast<double>(rssBytes_) / 1048576.0) +
                    " MiB, idle daemon (namespaces synced, no Pod) " +
                    formatNumber(static_cast<double>(idleRssBytes_) / 1048576.0) +
                    " MiB; idle: " + idleMemoryNote_ + "; with the Pods: " + memoryNote_));
  const auto per = [pods](std::uint64_t n) {
    return formatNumber(static_cast<double>(n) / pods, 2);
  };
  report_.add(Figure(kScenario, "daemon writes per Pod", "writes/Pod",
                     static_cast<double>(writes_.total() + hostViewWrites_) / pods)
                  .withDecimals(2)
                  .withNote("from kubectl scale until " + std::to_string(options_.settle.count()) +
                            " s after the last Pod ran, per Pod: " + per(writes_.targetApplies) +
                            " target applies, " + per(writes_.targetOther) +
                            " other target writes, " + per(writes_.source) + " source writes, " +
                            per(hostViewWrites_) +
                            " Event copies, virtual Node and Event writes; " +
                            std::to_string(writes_.namespaces) + " namespaces"));
}

}  // namespace bisync::bench
