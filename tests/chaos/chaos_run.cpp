#include "tests/chaos/chaos_run.hpp"

#include <cstdio>
#include <future>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "tests/chaos/faults.hpp"
#include "tests/chaos/observe.hpp"
#include "tests/chaos/replicas.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::chaos {

namespace {

namespace asio = boost::asio;
using testing::Side;
using Clock = std::chrono::steady_clock;

constexpr auto kCheckInterval = std::chrono::seconds(1);
// How long the quiet window waits for the daemon to finish the reconciles it has in hand.
constexpr auto kIdleWait = std::chrono::seconds(10);
constexpr auto kIdlePoll = std::chrono::milliseconds(100);

std::string seconds(Clock::duration duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(duration).count());
  return text;
}

void say(const std::string& line) { std::cout << "chaos: " << line << std::endl; }

// The driver's clients: straight to the servers, no retries (each operation's outcome is its
// one answer), a short timeout (a paused server must not stall the workload for long).
kube::ClientOptions driverOptions(const char* side) {
  kube::ClientOptions options;
  options.qps = 0;
  options.maxRetries = 0;
  options.requestTimeout = std::chrono::seconds(5);
  options.side = side;
  // Its writes must not pass for the daemon's (whose field manager starts with kube-bisync).
  options.userAgent = "chaos-workload";
  return options;
}

std::string crdManifest() {
  const std::string group(kWidgetGroup);
  return "apiVersion: apiextensions.k8s.io/v1\n"
         "kind: CustomResourceDefinition\n"
         "metadata: {name: widgets." +
         group +
         "}\n"
         "spec:\n"
         "  group: " +
         group +
         "\n"
         "  scope: Namespaced\n"
         "  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}\n"
         "  versions:\n"
         "    - name: v1\n"
         "      served: true\n"
         "      storage: true\n"
         "      schema:\n"
         "        openAPIV3Schema:\n"
         "          type: object\n"
         "          properties:\n"
         "            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}\n";
}

void mustRun(const testing::CommandResult& result, const std::string& what) {
  if (!result.ok()) throw std::runtime_error(what + ": " + result.summary());
}

// The source namespaces and the Widget CRD on both sides; returns the policy folder.
std::filesystem::path prepare(testing::Testbed& testbed, const Scope& scope) {
  for (const std::string& ns : scope.namespaces) {
    mustRun(testbed.kubectl(Side::Source, {"create", "namespace", ns}), "create namespace " + ns);
  }
  // The virtual cluster's admission needs it before it takes a Pod.
  for (const std::string& ns : scope.namespaces) {
    testbed.waitForDefaultServiceAccount(Side::Source, ns, std::chrono::seconds(60));
  }
  const std::filesystem::path crd = testbed.dir() / "chaos-widgets-crd.yaml";
  testing::writeFile(crd, crdManifest());
  for (const Side side : {Side::Source, Side::Target}) {
    mustRun(testbed.kubectl(side, {"apply", "-f", crd.string()}), "install the Widget CRD");
    mustRun(testbed.kubectl(side,
                            {"wait", "--for=condition=established", "--timeout=60s",
                             "crd/widgets." + std::string(kWidgetGroup)},
                            std::chrono::seconds(70)),
            "wait for the Widget CRD");
  }
  const std::filesystem::path policies = testbed.dir() / "chaos-policies";
  std::filesystem::create_directories(policies);
  testing::writeFile(policies / "widgets.yaml", widgetPolicy());
  return policies;
}

std::vector<std::string> daemonArgs(const Scope& scope, const std::filesystem::path& policies) {
  std::string namespaces;
  for (const std::string& ns : scope.namespaces) namespaces += (namespaces.empty() ? "" : ",") + ns;
  return {"--cluster-name", scope.cluster, "--namespaces", namespaces, "--resources",
          "configmaps,secrets,pods", "--policies", policies.string(),
          // As a virtual cluster runs it (docs/workloads.md); the addresses are never dialled.
          "--virtual-dns-server", "10.96.0.10", "--virtual-apiserver-address", "10.96.0.1",
          // Shorter than the pauses, so that paused servers time requests out.
          "--request-timeout", "3",
          // Short enough that a failover fits in a smoke run.
          "--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "4s",
          "--leader-elect-retry-period", "1s",
          // Every write in the log, for post-mortems.
          "-v", "2"};
}

struct Sides {
  Snapshot source;
  Snapshot target;
  PodSnapshot pods;
};

class Run {
 public:
  Run(const ChaosOptions& options, testing::Testbed& testbed)
      : options_(options),
        testbed_(testbed),
        source_(loop_, testbed.restConfig(Side::Source), driverOptions("chaos-source")),
        target_(loop_, testbed.restConfig(Side::Target), driverOptions("chaos-target")) {
    scope_.cluster = "chaos";
    for (int i = 0; i < options.namespaces; ++i)
      scope_.namespaces.push_back("chaos-" + std::to_string(i));
  }

  Report run() {
    report_.seed = options_.seed;
    report_.replay = options_.replay;
    try {
      setUp();
      for (int round = 1; round <= options_.rounds; ++round) {
        if (!playRound(round)) break;
      }
    } catch (const std::exception& error) {
      report_.failure = error.what();
    }
    finish();
    return std::move(report_);
  }

 private:
  void setUp() {
    const std::filesystem::path policies = prepare(testbed_, scope_);
    replicas_.emplace(testbed_, options_.daemonBinary, daemonArgs(scope_, policies));
    if (!replicas_->waitForLeader(std::chrono::seconds(60))) {
      throw std::runtime_error("no replica became leader within 60 s");
    }
    faults_.emplace(testbed_, *replicas_, options_.seed ^ 0x9e3779b97f4a7c15ULL, FaultTimings{});
    workload_.emplace(*source_, *target_, scope_, options_.workload);
    pods_.emplace(testbed_, loop_, *source_, *target_, scope_, options_.pods);
    pods_->start();
  }

  // The workload for a round's length, with every fault kind once at even intervals; then
  // convergence and the quiet window. False when the run must stop.
  bool playRound(int round) {
    const Clock::time_point start = Clock::now();
    say("round " + std::to_string(round) + ": workload and faults for " +
        seconds(options_.roundLength));
    std::future<void> workload =
        asio::co_spawn(loop_.io(), workload_->run(start + options_.roundLength), asio::use_future);
    std::future<void> pods =
        std::async(std::launch::async, [this, start] { pods_->run(start + options_.roundLength); });
    Clock::time_point lastFault = Clock::now();
    std::string faultFailure;
    try {
      lastFault = injectFaults(start);
      supervisedUntil(start + options_.roundLength);
    } catch (const std::exception& error) {
      faultFailure = error.what();  // the workload is still to be waited for: it uses this object
    }
    workload.get();
    pods.get();
    if (!faultFailure.empty()) throw std::runtime_error(faultFailure);
    RoundResult result = settle(lastFault);
    report_.rounds.push_back(std::move(result));
    return report_.rounds.back().converged && report_.crashes.empty() &&
           replicas_->crashes().empty();
  }

  // Every fault kind once, in the seed's order, at even intervals of the round; returns when
  // the last one ended.
  Clock::time_point injectFaults(Clock::time_point start) {
    const std::vector<Fault> schedule = faults_->shuffledRound();
    const auto slot = options_.roundLength / static_cast<int>(schedule.size() + 1);
    for (std::size_t i = 0; i < schedule.size(); ++i) {
      supervisedUntil(start + slot * static_cast<int>(i + 1));
      const Clock::time_point begun = Clock::now();
      faults_->inject(schedule[i]);
      say("  fault " + std::string(toString(schedule[i])) + " (" + seconds(Clock::now() - begun) +
          ")");
    }
    return Clock::now();
  }

  // Supervises the replicas until `when`, scraping their write counters every second (what a
  // run writes after its last scrape is not counted).
  void supervisedUntil(Clock::time_point when) {
    Clock::time_point nextScrape = Clock::now();
    while (Clock::now() < when) {
      replicas_->supervise();
      if (Clock::now() >= nextScrape) {
        replicas_->writes();
        nextScrape = Clock::now() + std::chrono::seconds(1);
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(std::chrono::milliseconds(250), when - Clock::now()));
    }
  }

  std::optional<Sides> readSides() {
    kube::Result<Snapshot> source = loop_.run(readSnapshot(*source_, false, scope_));
    kube::Result<Snapshot> target = loop_.run(readSnapshot(*target_, true, scope_));
    std::optional<PodSnapshot> pods = pods_->read();
    if (!source || !target || !pods) return std::nullopt;
    return Sides{std::move(*source), std::move(*target), std::move(*pods)};
  }

  Verdict check(const Sides& sides) const {
    Verdict verdict = verify(workload_->model(), sides.source, sides.target);
    verifyPods(pods_->model(), sides.pods, verdict);
    return verdict;
  }

  bool outcomesKnown() {
    return loop_.run(workload_->resolveUnknown()) == 0 && pods_->resolveUnknown() == 0;
  }

  // Waits until both sides match the model, then holds a quiet window.
  RoundResult settle(Clock::time_point lastFault) {
    RoundResult result;
    const Clock::time_point deadline = Clock::now() + options_.convergeTimeout;
    std::optional<Sides> sides;
    while (true) {
      replicas_->supervise();
      if (outcomesKnown() && (sides = readSides())) {
        result.verdict = check(*sides);
        if (result.verdict.ok()) break;
      }
      if (Clock::now() > deadline) {
        say("did not converge within " + seconds(options_.convergeTimeout));
        return result;
      }
      std::this_thread::sleep_for(kCheckInterval);
    }
    result.converged = true;
    result.convergeTime =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - lastFault);
    say("converged " + seconds(Clock::now() - lastFault) + " after the last fault (" +
        summary(sides->pods) + "); quiet window " + seconds(options_.quietWindow));
    holdQuiet(result);
    return result;
  }

  // Whether, within kIdleWait, the leading replica has no key in flight or waiting for a worker
  // (a follower's keys wait for leadership and write nothing: Replicas::pendingKeys). A
  // reconcile still running when the servers showed convergence counts its last write in the
  // metrics a moment after the server applied it: a window begun before that would count it as a
  // quiet write although no object changes in the window.
  bool waitIdle() {
    const Clock::time_point giveUp = Clock::now() + kIdleWait;
    while (Clock::now() < giveUp) {
      replicas_->supervise();
      const std::optional<double> pending = replicas_->pendingKeys();
      if (pending && *pending == 0) return true;
      std::this_thread::sleep_for(kIdlePoll);
    }
    return false;
  }

  // The quiet window: no operation, no fault; the daemon must not write. Counted twice: by its
  // own metrics, and by the servers (any object of the workload's namespaces whose
  // resourceVersion changed, that appeared or went). It starts once the daemon is idle; a
  // daemon that never is (endless rewriting) is not waited for, and its writes count.
  void holdQuiet(RoundResult& result) {
    if (!waitIdle()) {
      say("the daemon still had keys to reconcile " + seconds(kIdleWait) +
          " after convergence; the quiet window starts anyway");
    }
    const double writesBefore = replicas_->writes();
    const std::size_t restartsBefore = replicas_->restarts();
    const std::optional<Sides> before = readSides();
    supervisedUntil(Clock::now() + options_.quietWindow);
    result.quietWrites = replicas_->writes() - writesBefore;
    if (replicas_->restarts() != restartsBefore) {
      report_.failure = "a replica ended during the quiet window";
    }
    const std::optional<Sides> after = readSides();
    if (!before || !after) {
      report_.failure = "the servers could not be read around the quiet window";
      return;
    }
    result.quietChanges = changedEntries(before->source, after->source) +
                          changedEntries(before->target, after->target) +
                          changedObjects(before->pods, after->pods);
    result.verdict = check(*after);
    say("quiet window: " + std::to_string(static_cast<long>(result.quietWrites)) +
        " daemon writes, " + std::to_string(result.quietChanges) + " objects changed");
  }

  void finish() {
    if (workload_) {
      report_.operations = workload_->counts();
      report_.effectiveChanges = workload_->effectiveChanges();
    }
    if (pods_) {
      report_.operations.insert(pods_->counts().begin(), pods_->counts().end());
      report_.effectiveChanges += pods_->effectiveChanges();
    }
    if (faults_) {
      for (const auto& [fault, count] : faults_->counts())
        report_.faults[std::string(toString(fault))] = count;
    }
    if (replicas_) {
      report_.daemonWrites = replicas_->writes();
      report_.daemonRestarts = replicas_->restarts();
      report_.stepDowns = replicas_->stepDowns();
      report_.crashes = replicas_->crashes();
      if (!report_.passed()) report_.logTails = replicas_->describe(40);
    }
  }

  const ChaosOptions& options_;
  testing::Testbed& testbed_;
  testing::LoopThread loop_;  // before the clients: they are destroyed (on it) first
  testing::LoopClient source_;
  testing::LoopClient target_;
  Scope scope_;
  std::optional<Replicas> replicas_;
  std::optional<FaultInjector> faults_;
  std::optional<Workload> workload_;
  std::optional<PodWorkload> pods_;
  Report report_;
};

}  // namespace

Report runChaos(const ChaosOptions& options) {
  testing::TestbedOptions testbedOptions = testing::TestbedOptions::fromEnvironment();
  // Watches served by etcd: a compaction then answers every resumption from before it with
  // 410 Gone (a watch cache could still serve it from memory).
  testbedOptions.watchCache = false;
  // The virtual cluster of the main deployment: Deployments make Pods on the source, the host
  // schedules them onto simulated nodes (the Pod workload).
  testbedOptions.scheduler = true;
  testbedOptions.virtualClusterControllers = true;
  testing::Testbed testbed(testbedOptions);
  Run run(options, testbed);
  return run.run();
}

}  // namespace bisync::chaos
