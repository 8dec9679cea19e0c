#include "tests/bench/bench.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/bench/workload.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/sync_scene.hpp"

namespace bisync::bench {
namespace {

using namespace std::chrono_literals;

std::string seconds(double value) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << value << " s";
  return out.str();
}

// The shortest text of a rate: "1000", "50", "0.5".
std::string qpsText(double qps) {
  std::ostringstream out;
  out << qps;
  return out.str();
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::map<std::string, std::string> BenchOptions::describe() const {
  return {{"objects", std::to_string(objects)},
          {"memory-objects", std::to_string(memoryObjects)},
          {"custom-objects", std::to_string(customObjects)},
          {"namespaces", std::to_string(namespaces)},
          {"object-bytes", std::to_string(objectBytes)},
          {"rate", qpsText(rate)},
          {"duration", std::to_string(duration.count()) + "s"},
          {"idle", std::to_string(idle.count()) + "s"},
          {"settle", std::to_string(settle.count()) + "s"},
          {"workers", std::to_string(workers)},
          {"qps", qpsText(qps)},
          {"burst", std::to_string(burst)},
          {"seed-concurrency", std::to_string(seedConcurrency)},
          {"probe-interval", std::to_string(probeInterval.count()) + "ms"}};
}

Bench::Bench(testing::Testbed& testbed, BenchOptions options)
    : testbed_(testbed), options_(std::move(options)), started_(Clock::now()) {
  configMaps_.kind = configMapKind();
  custom_.kind = widgetKind();
  const kube::ClientOptions unthrottled = driverClientOptions();
  source_ = std::make_unique<testing::LoopClient>(loop_, testbed_.restConfig(testing::Side::Source),
                                                  unthrottled);
  target_ = std::make_unique<testing::LoopClient>(loop_, testbed_.restConfig(testing::Side::Target),
                                                  unthrottled);
  const kube::ClientOptions daemonLike = baselineClientOptions(options_.qps, options_.burst);
  baselineSource_ = std::make_unique<testing::LoopClient>(
      loop_, testbed_.restConfig(testing::Side::Source), daemonLike);
  baselineTarget_ = std::make_unique<testing::LoopClient>(
      loop_, testbed_.restConfig(testing::Side::Target), daemonLike);
  const testing::ApiServerInfo& target = testbed_.server(testing::Side::Target);
  targetServer_ = findProcess(
      {"--etcd-prefix=" + target.etcdPrefix, "--secure-port=" + std::to_string(target.port)});
}

Bench::~Bench() {
  daemon_.reset();  // SIGKILL, if still running
  for (Workload* workload : {&configMaps_, &custom_}) {
    if (workload->tracker) stopTracker(*workload);
  }
}

void Bench::run() {
  startTracker(configMaps_);
  createSourceNamespaces();
  measureIdleDaemon(configMaps_);
  // Before any ConfigMap is seeded: the daemon of scenario 7 syncs ConfigMaps too, and must
  // list none of the benchmark's.
  scenarioCustomObjects();
  seed(configMaps_, 0, options_.objects);
  scenarioInitialSync();
  scenarioLatency();
  scenarioIdleWrites();
  scenarioRestart();
  scenarioMemoryAtScale();
  stopDaemon();
  progress("done");
}

void Bench::progress(const std::string& message) const {
  std::fprintf(stderr, "[bench %7.1f s] %s\n", secondsSince(started_), message.c_str());
}

void Bench::startTracker(Workload& workload) {
  workload.tracker = loop_.call([&] {
    auto tracker = std::make_unique<SyncTracker>(**source_, **target_, workload.kind,
                                                 kBenchSelector, options_.cluster);
    tracker->start();
    return tracker;
  });
  SyncTracker& tracker = *workload.tracker;
  const auto synced =
      testing::waitFor("the driver's informers have listed", 60s,
                       [&](std::string&) { return loop_.call([&] { return tracker.synced(); }); });
  if (!synced) {
    throw std::runtime_error("the driver's informers of " + workload.kind.plural +
                             " did not list within 60 s");
  }
}

void Bench::stopTracker(Workload& workload) {
  SyncTracker& tracker = *workload.tracker;
  loop_.call([&] { tracker.stop(); });
  testing::waitFor("the driver's informers have stopped", 60s,
                   [&](std::string&) { return !loop_.call([&] { return tracker.running(); }); });
  loop_.call([&] { workload.tracker.reset(); });
}

void Bench::createSourceNamespaces() {
  for (std::size_t i = 0; i < options_.namespaces; ++i) {
    const kube::Json object = testing::namespaceObject(sourceNamespace(i));
    auto created =
        source_->run(source_->client().create(kube::resources::namespaces(), "", object));
    if (!created && !created.error().isAlreadyExists()) {
      throw std::runtime_error("create namespace " + sourceNamespace(i) + ": " +
                               created.error().describe());
    }
  }
}

void Bench::installCustomKind() {
  const std::string crdName = custom_.kind.resourceKey();  // a CRD is named <plural>.<group>
  progress("7 custom objects: installing the CRD " + crdName + " on both servers");
  customDir_ = testing::TempDir(std::filesystem::temp_directory_path(), "kube-bisync-bench-");
  const std::filesystem::path crd = customDir_.path() / "widget-crd.yaml";
  std::ofstream(crd) << widgetCrdYaml();
  const std::filesystem::path policies = customDir_.path() / "policies";
  std::filesystem::create_directory(policies);
  std::ofstream(policies / "widgets.yaml") << widgetPolicyYaml();
  const auto kubectl = [&](testing::Side side, const std::vector<std::string>& args) {
    const testing::CommandResult result = testbed_.kubectl(side, args, 70s);
    if (!result.ok()) {
      throw std::runtime_error("kubectl " + args.front() + " of the CRD " + crdName + " on the " +
                               (side == testing::Side::Source ? "source" : "target") + ": " +
                               result.summary());
    }
  };
  // Both applies first: the two servers establish their CRDs at the same time.
  for (const testing::Side side : {testing::Side::Source, testing::Side::Target}) {
    kubectl(side, {"apply", "-f", crd.string()});
  }
  for (const testing::Side side : {testing::Side::Source, testing::Side::Target}) {
    kubectl(side, {"wait", "--for=condition=Established", "crd/" + crdName, "--timeout=60s"});
  }
  custom_.daemonArgs = {"--policies", policies.string()};
}

void Bench::seed(Workload& workload, std::size_t from, std::size_t to) {
  progress("seeding " + std::to_string(to - from) + " " + workload.kind.plural + " of " +
           std::to_string(options_.objectBytes) + " bytes in the source");
  const auto start = Clock::now();
  const BenchKind& kind = workload.kind;
  const kube::ResourceInfo& resource = kind.resource;
  const std::string failure = runJobs(
      loop_, to - from, options_.seedConcurrency,
      [&](std::size_t job) -> asio::awaitable<std::string> {
        const std::size_t i = from + job;
        const kube::Json object = benchObject(kind, sourceNamespace(i % options_.namespaces),
                                              objectName(kind, i), i, options_.objectBytes);
        co_return co_await createObject(source_->client(), resource, object);
      });
  if (!failure.empty()) throw std::runtime_error("seeding the source: " + failure);
  waitForSourceCount(workload, to);
  const double took = secondsSince(start);
  progress("seeded in " + seconds(took) + " (" +
           formatNumber(static_cast<double>(to - from) / took) + " objects/s)");
}

void Bench::removeTargetObjects(const kube::ResourceInfo& resource,
                                const std::vector<std::string>& keys, const std::string& selector) {
  const std::string failure =
      runJobs(loop_, keys.size(), options_.seedConcurrency,
              [&](std::size_t i) -> asio::awaitable<std::string> {
                const std::string& key = keys[i];
                const std::string ns = key.substr(0, key.find('/'));
                const std::string name = key.substr(key.find('/') + 1);
                const auto removed = co_await target_->client().remove(resource, ns, name);
                if (removed || removed.error().isNotFound()) co_return std::string();
                co_return "delete " + key + ": " + removed.error().describe();
              });
  if (!failure.empty()) throw std::runtime_error(failure);
  // Without finalizers, an object is gone once its delete is answered; a list makes sure.
  const auto left = target_->run(listPages(target_->client(), resource, "", selector, 500));
  if (!left) throw std::runtime_error("list " + selector + ": " + left.error().describe());
  if (const std::size_t count = countItems(*left); count != 0) {
    throw std::runtime_error(std::to_string(count) + " objects labelled " + selector +
                             " are left after deleting them");
  }
}

void Bench::waitForSourceCount(Workload& workload, std::size_t count) {
  SyncTracker& tracker = *workload.tracker;
  const auto seen = testing::waitFor(
      "the driver's source informer holds " + std::to_string(count) + " " + workload.kind.plural,
      120s, [&](std::string& what) {
        const std::size_t have = loop_.call([&] { return tracker.sourceCount(); });
        what = std::to_string(have);
        return have == count;
      });
  if (!seen) throw std::runtime_error(seen.what + "; saw " + seen.lastSeen);
}

void Bench::startDaemon(const Workload& workload) {
  // Other flags: a new process (the old one has stopped; a DaemonProcess keeps its arguments).
  if (daemon_ && daemonArgs_ != workload.daemonArgs) daemon_.reset();
  if (!daemon_) {
    testing::DaemonOptions options;
    options.binary = options_.daemonBinary;
    options.args = {
        "--cluster-name", options_.cluster,      "--workers", std::to_string(options_.workers),
        "--qps",          qpsText(options_.qps), "--burst",   std::to_string(options_.burst)};
    options.args.insert(options.args.end(), workload.daemonArgs.begin(), workload.daemonArgs.end());
    daemonArgs_ = workload.daemonArgs;
    daemonStarted_ = Clock::now();
    daemon_ = std::make_unique<testing::DaemonProcess>(testbed_, options);
  } else {
    daemonStarted_ = Clock::now();
    daemon_->start();
  }
  lastWrites_ = {};
}

void Bench::stopDaemon() {
  if (!daemon_ || !daemon_->running()) return;
  const std::uint64_t scraped = pollWrites().total();
  const std::string status = daemon_->terminate(60s);
  if (status != "exited with status 0") {
    throw std::runtime_error("the daemon did not stop cleanly: " + status + "\n" +
                             daemon_->describe());
  }
  // The last scrape and the daemon's own final count agree unless it wrote in between.
  if (const auto reported = reportedWrites(daemon_->log()); reported && *reported != scraped) {
    progress("note: the daemon reports " + std::to_string(*reported) + " writes at exit, " +
             std::to_string(scraped) + " in its last scrape");
  }
}

double Bench::waitForReady() {
  const auto deadline = Clock::now() + options_.timeout;
  while (true) {
    if (!daemon_->opsUrl().empty()) {
      testing::ProbeRequest request;
      request.url = daemon_->opsUrl() + "/readyz";
      if (testing::httpGet(request).status == 200) return secondsSince(daemonStarted_);
    }
    if (!daemon_->running()) {
      throw std::runtime_error("the daemon exited before it was ready\n" + daemon_->describe());
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error("the daemon was not ready after " +
                               std::to_string(options_.timeout.count()) + " s\n" +
                               daemon_->describe());
    }
    std::this_thread::sleep_for(10ms);
  }
}

void Bench::requireServed(const Workload& workload) {
  for (const char* side : {"source", "target"}) {
    const std::string series = std::string("kube_bisync_resource_ready{side=\"") + side +
                               "\",resource=\"" + workload.kind.resourceKey() + "\"}";
    std::string seen;
    const std::optional<double> ready = daemon_->metric(series, seen);
    if (ready != 1.0) {
      throw std::runtime_error("the daemon does not sync " + workload.kind.resourceKey() + ": " +
                               series + " is " + (ready ? formatNumber(*ready) : seen) + "\n" +
                               daemon_->describe());
    }
  }
}

Clock::time_point Bench::waitForCopies(Workload& workload, std::size_t count) {
  SyncTracker& tracker = *workload.tracker;
  std::size_t lastLogged = 0;
  auto lastProgress = Clock::now();
  const auto seen = testing::waitFor(
      std::to_string(count) + " correct copies of " + workload.kind.plural + " in the target",
      options_.timeout,
      [&](std::string& what) {
        const auto [correct, sources] =
            loop_.call([&] { return std::pair(tracker.correctCount(), tracker.sourceCount()); });
        what = std::to_string(correct) + " correct of " + std::to_string(sources);
        if (Clock::now() - lastProgress > 10s && correct != lastLogged) {
          progress("  " + what);
          lastProgress = Clock::now();
          lastLogged = correct;
        }
        if (!daemon_->running())
          throw std::runtime_error("the daemon exited\n" + daemon_->describe());
        return correct == count && sources == count;
      },
      20ms);
  if (!seen) {
    const std::string problems = loop_.call([&] { return tracker.describeProblems(5); });
    throw std::runtime_error(seen.what + ": not met; " + seen.lastSeen + "; " + problems + "\n" +
                             daemon_->describe());
  }
  return loop_.call([&] { return tracker.lastCorrectAt(); });
}

ProcessSample Bench::sampleDaemon() {
  const auto sample = sampleProcess(daemon_->pid());
  if (!sample) throw std::runtime_error("cannot read /proc of the daemon\n" + daemon_->describe());
  return *sample;
}

double Bench::targetServerCpu() const {
  if (!targetServer_) return 0;
  const auto sample = sampleProcess(*targetServer_);
  return sample ? sample->cpuSeconds : 0;
}

WriteCounts Bench::pollWrites() {
  if (!daemon_ || !daemon_->running()) return lastWrites_;
  std::string seen;
  const std::optional<WriteCounts> counts = scrapeWrites(*daemon_, seen);
  if (!counts)
    throw std::runtime_error("the daemon's metrics: " + seen + "\n" + daemon_->describe());
  lastWrites_ = *counts;
  return lastWrites_;
}

std::uint64_t Bench::targetEvents() {
  return loop_.call([this] { return configMaps_.tracker->targetEvents(); });
}

double Bench::meanObjectJsonBytes(Workload& workload) {
  // A spread sample of single GETs: the object as the server returns it, managedFields and
  // all.
  const std::vector<std::string> keys = loop_.call([&] { return workload.tracker->sourceKeys(); });
  const std::size_t samples = std::min<std::size_t>(keys.size(), 200);
  double total = 0;
  const kube::ResourceInfo& resource = workload.kind.resource;
  for (std::size_t s = 0; s < samples; ++s) {
    const std::string& key = keys[s * keys.size() / samples];
    const std::string ns = key.substr(0, key.find('/'));
    const std::string name = key.substr(key.find('/') + 1);
    auto object = source_->run(source_->client().get(resource, ns, name));
    if (!object) throw std::runtime_error("get " + key + ": " + object.error().describe());
    total += static_cast<double>(kube::toJson(*object).size());
  }
  return samples == 0 ? 0 : total / static_cast<double>(samples);
}

void Bench::settle() { std::this_thread::sleep_for(options_.settle); }

}  // namespace bisync::bench
