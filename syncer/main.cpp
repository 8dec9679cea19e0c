// kube-bisync: the daemon's entry point. Parses flags, loads the SyncPolicies (`--policies DIR`
// and the built-in defaults) and both sides' connection settings (each given explicitly),
// refuses a source and target that are one cluster (by URL before connecting, by the kube-system
// namespace's uid after), and runs the Syncer (which looks every kind to sync up in both servers'
// discovery, and waits for the ones not served yet) until SIGTERM/SIGINT, then drains in-flight
// writes. With --leader-elect only the replica that holds the Lease syncs and writes (it exits 1
// when it loses it; on SIGTERM it releases it). Exit codes: 0 after a clean shutdown, 1 on a
// runtime failure or a lost leadership, 2 on bad flags, config or policies. `--validate-policies
// DIR` only checks policy files (0: valid, 2: problems) and connects nowhere.
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "policies/policy_loader.hpp"
#include "syncer/engine/finalizer.hpp"
#include "syncer/engine/syncer.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/kube/discovery.hpp"
#include "syncer/kube/kubeconfig.hpp"
#include "syncer/leader/elector.hpp"
#include "syncer/ops/http_endpoint.hpp"
#include "syncer/ops/syncer_metrics.hpp"
#include "syncer/remove_finalizers.hpp"
#include "syncer/startup_checks.hpp"
#include "syncer/startup_wait.hpp"
#include "translators/generic/generic_translator.hpp"
#include "translators/pod/pod_options.hpp"
#include "translators/translator.hpp"

namespace {

namespace asio = boost::asio;
using namespace bisync;
using kube::Result;

struct Flags {
  startup::SideFlags source{"source", "", false, ""};
  startup::SideFlags target{"target", "", false, ""};
  bool allowInsecureHttp = false;
  std::string clusterName;
  std::string stateNamespace;
  std::string validatePolicies;
  std::string policies;
  std::string namespaceMode = "prefix";
  std::string targetNamespace;
  std::vector<std::string> namespaces;
  bool allNamespaces = false;
  std::vector<std::string> resources{"configmaps", "secrets"};
  int discoveryIntervalSeconds = 10;
  std::size_t maxObjectsPerNamespace = 0;  // 0: no limit
  std::string podSecurityLevel;            // "": no Pod Security labels on target namespaces
  std::int64_t tokenExpirationSeconds = 3600;
  std::size_t workers = 4;
  double qps = 50;
  int burst = 100;
  double requestTimeoutSeconds = 30;
  // /metrics has no authentication and tells what is synced and how busy the tenant is: only
  // this host reaches it unless the operator decides otherwise. The kubelet probes the pod IP,
  // so the probes listen on every interface. docs/operations.md explains both.
  std::string metricsAddress = "127.0.0.1:8080";
  std::string healthAddress = ":8081";
  int verbosity = 0;
  bool leaderElect = false;
  std::string leaseDuration = "15s";
  std::string renewDeadline = "10s";
  std::string retryPeriod = "2s";
  std::string leaderElectNamespace;  // default: the state namespace
  std::string leaderElectId;         // default: kube-bisync-<cluster-name>
  bool finalizer = true;
  bool removeFinalizers = false;
  bool prune = false;
  bool syncEvents = true;
  // The Pod plugin's view of the virtual cluster (docs/workloads.md, "Flags").
  translators::PodOptions pods;
};

struct FlagOptions {
  CLI::Option* clusterName = nullptr;
  CLI::Option* stateNamespace = nullptr;
  CLI::Option* validatePolicies = nullptr;
  CLI::Option* policies = nullptr;
};

// --<side>-kubeconfig, --<side>-in-cluster and --<side>-context.
void defineSideFlags(CLI::App& app, startup::SideFlags& side, const std::string& cluster) {
  const std::string flag = "--" + side.side;
  app.add_option(flag + "-kubeconfig", side.kubeconfig,
                 "kubeconfig of the " + cluster + " cluster; this or " + flag +
                     "-in-cluster is required (KUBECONFIG and ~/.kube/config are not read)");
  app.add_flag(flag + "-in-cluster", side.inCluster,
               "the " + side.side + " is the cluster this pod runs in (its service account)");
  app.add_option(flag + "-context", side.context,
                 "context in the " + side.side + " kubeconfig (default: its current-context)");
}

// One --resources item: "" when it is well-formed and a kind kube-bisync may sync.
std::string resourceSpecCheck(const std::string& item) {
  const tl::expected<kube::ResourceSpec, std::string> spec = kube::parseResourceSpec(item);
  if (!spec) return spec.error();
  const std::optional<std::string> refused =
      spec->byKind() ? translators::genericRefusal({spec->group, spec->version, spec->kind})
                     : translators::genericRefusal(spec->group, spec->resource);
  return refused ? item + " cannot be synced: " + *refused : std::string();
}

// A duration flag's value: "15s", "1500ms", "1m", or a number of seconds; nullopt when it is
// none of these or not positive.
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text) {
  std::size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string unit = text.substr(end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  if (unit == "ms") scale = 1;
  if (unit == "m") scale = 60000;
  if (scale == 0 || !(value > 0) || value * scale > 86400000.0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

std::string durationCheck(const std::string& text) {
  return parseDuration(text) ? std::string()
                             : "'" + text + "' is not a duration (15s, 1500ms, 1m) of at most 24 h";
}

// --leader-elect and its settings (docs/operations.md, "Leader election").
void defineLeaderFlags(CLI::App& app, Flags& flags) {
  app.add_flag("--leader-elect", flags.leaderElect,
               "run as one of several replicas: only the holder of a coordination.k8s.io/v1 Lease "
               "on the target syncs and writes; the others keep their caches warm");
  app.add_option("--leader-elect-lease-duration", flags.leaseDuration,
                 "how long the others wait, from the last renewal they saw, before taking over")
      ->check(durationCheck)
      ->capture_default_str();
  app.add_option("--leader-elect-renew-deadline", flags.renewDeadline,
                 "how long the leader keeps writing without a successful renewal; shorter than "
                 "the lease duration")
      ->check(durationCheck)
      ->capture_default_str();
  app.add_option(
         "--leader-elect-retry-period", flags.retryPeriod,
         "time between tries to acquire or renew the Lease; shorter than the renew deadline")
      ->check(durationCheck)
      ->capture_default_str();
  app.add_option("--leader-elect-namespace", flags.leaderElectNamespace,
                 "target namespace of the Lease (default: the state namespace)");
  app.add_option("--leader-elect-id", flags.leaderElectId,
                 "name of the Lease (default: kube-bisync-<cluster-name>); replicas of one "
                 "instance share it");
}

// Why a policy's kind may not be synced.
std::optional<std::string> policyKindRefusal(const kube::GroupVersionKind& kind) {
  return translators::genericRefusal(kind);
}

// Who this instance is and what it syncs: --cluster-name, --state-namespace, the namespace mode
// and selection, --resources.
void defineInstanceFlags(CLI::App& app, Flags& flags, FlagOptions& options) {
  // Required unless validating policies; checked after parsing.
  options.clusterName = app.add_option(
      "--cluster-name", flags.clusterName,
      "name of this syncer instance: the target namespace prefix and the value of the "
      "kube-bisync.io/managed-by label (a DNS label of at most 40 characters); required");
  options.stateNamespace = app.add_option(
      "--state-namespace", flags.stateNamespace,
      "target namespace of this instance's ownership record (ConfigMap "
      "kube-bisync-ownership-<cluster-name>); only the syncer and host admins may write there "
      "(default: the namespace of the target's context, else default)");
  app.add_option("--namespace-mode", flags.namespaceMode,
                 "prefix: source namespace ns -> target namespace <cluster-name>-<ns>; single: "
                 "everything into --target-namespace as <name>-x-<ns>-x-<cluster-name>")
      ->check(CLI::IsMember({"prefix", "single"}))
      ->capture_default_str();
  app.add_option("--target-namespace", flags.targetNamespace,
                 "the one target namespace of --namespace-mode=single");
  auto* namespaces =
      app.add_option("--namespaces", flags.namespaces, "source namespaces to sync, comma-separated")
          ->delimiter(',');
  auto* all = app.add_flag("--all-namespaces", flags.allNamespaces,
                           "sync every source namespace except kube-system, kube-public and "
                           "kube-node-lease (the default when --namespaces is not given)");
  namespaces->excludes(all);
  app.add_option("--resources", flags.resources,
                 "kinds to sync, comma-separated: plural (core group), plural.group or "
                 "Kind.version.group; every kind a --policies file names is synced too")
      ->delimiter(',')
      ->check(resourceSpecCheck)
      ->capture_default_str();
}

// How hard it works: discovery interval, limits, workers, request rates and timeouts.
void defineTuningFlags(CLI::App& app, Flags& flags) {
  app.add_option("--discovery-interval", flags.discoveryIntervalSeconds,
                 "seconds between lookups of kinds not served by both API servers yet")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--max-objects-per-namespace", flags.maxObjectsPerNamespace,
                 "most objects of one kind copied per source namespace, for kinds whose policy "
                 "sets no limits.maxObjectsPerNamespace (0: no limit)")
      ->capture_default_str();
  app.add_option("--pod-security-level", flags.podSecurityLevel,
                 "Pod Security level the target namespaces the syncer creates enforce "
                 "(pod-security.kubernetes.io/enforce; hosts from Kubernetes 1.23 enforce it); "
                 "empty: no label")
      ->check(CLI::IsMember({"", "privileged", "baseline", "restricted"}));
  app.add_option("--token-expiration", flags.tokenExpirationSeconds,
                 "lifetime in seconds of the service-account tokens requested from the source "
                 "API server for synced Pods (refreshed at 80 %)")
      ->check(CLI::Range(std::int64_t{600}, std::int64_t{86400}))
      ->capture_default_str();
  app.add_option("--workers", flags.workers, "objects reconciled in parallel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--qps", flags.qps, "client-side request rate limit per API server")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--burst", flags.burst, "requests allowed above --qps in a burst")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--request-timeout", flags.requestTimeoutSeconds,
                 "seconds before a request (not a watch) without an answer fails and is retried")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
}

// The HTTP endpoints and the log level.
void defineOpsFlags(CLI::App& app, Flags& flags) {
  app.add_option("--metrics-bind-address", flags.metricsAddress,
                 "where /metrics (Prometheus text) is served: host:port, :port, or 0 for off")
      ->capture_default_str();
  app.add_option("--health-probe-bind-address", flags.healthAddress,
                 "where /healthz and /readyz are served: host:port, :port, or 0 for off")
      ->capture_default_str();
  app.add_option("-v,--v", flags.verbosity,
                 "log verbosity: 0 info, 1 debug, 2 also every write, 3 and up trace")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
}

// The finalizer and the clean-up of what the syncer leaves on the source.
void defineCleanupFlags(CLI::App& app, Flags& flags) {
  app.add_flag("--finalizer", flags.finalizer,
               "put the finalizer kube-bisync.io/cleanup on the source objects of kinds synced "
               "down, so that deleting one waits until its target copy is gone; "
               "--finalizer=false takes off the ones the syncer added")
      ->capture_default_str();
  app.add_flag("--prune", flags.prune,
               "once the initial sync is done, delete the copies of ours of kinds no longer "
               "synced (dropped from --resources and the policies) and take the finalizer off "
               "their source objects");
  app.add_flag("--remove-finalizers", flags.removeFinalizers,
               "one-shot, for an uninstall: take kube-bisync.io/cleanup off every source object of "
               "the kinds to sync (connects to the source only), print how many, exit");
  app.add_flag("--sync-events", flags.syncEvents,
               "copy host Events about synced copies to their source objects (kubectl describe "
               "in the virtual cluster shows them); --sync-events=false turns it off")
      ->capture_default_str();
}

// Where host Pods find the virtual cluster, and whom they run as on the host (docs/workloads.md).
void defineWorkloadFlags(CLI::App& app, Flags& flags) {
  translators::PodOptions& pods = flags.pods;
  app.add_option("--virtual-dns-server", pods.virtualDnsServer,
                 "IP address of the virtual cluster's DNS server, the nameserver of every host "
                 "Pod (unset: host Pods keep their DNS policy and the host's DNS answers them)");
  app.add_option("--virtual-apiserver-address", pods.virtualApiServerAddress,
                 "IP address host Pods reach the virtual API server at (port 443): "
                 "kubernetes.default(.svc) in their hostAliases and KUBERNETES_SERVICE_HOST in "
                 "their containers' env name it (unset: neither)");
  app.add_option("--cluster-domain", pods.clusterDomain,
                 "the virtual cluster's DNS domain, for the host Pods' DNS search path")
      ->capture_default_str();
  app.add_option("--host-service-account", pods.hostServiceAccount,
                 "the service account every host Pod runs under (without its token)")
      ->capture_default_str();
  app.add_option("--token-audiences", pods.tokenAudiences,
                 "audiences of the tokens requested from the virtual API server for synced "
                 "Pods, comma-separated (unset: the virtual API server's default audience)")
      ->delimiter(',');
}

FlagOptions defineFlags(CLI::App& app, Flags& flags) {
  FlagOptions options;
  defineSideFlags(app, flags.source, "source (virtual)");
  defineSideFlags(app, flags.target, "target (host)");
  app.add_flag("--allow-insecure-http", flags.allowInsecureHttp,
               "allow http:// API server URLs (credentials and objects travel unencrypted); for "
               "local tests only");
  defineInstanceFlags(app, flags, options);
  defineTuningFlags(app, flags);
  defineOpsFlags(app, flags);
  defineCleanupFlags(app, flags);
  defineWorkloadFlags(app, flags);
  options.validatePolicies =
      app.add_option(
             "--validate-policies", flags.validatePolicies,
             "check the SyncPolicy files (*.yaml, *.yml) in this directory together with the "
             "built-in "
             "defaults, print every problem as file:line: reason and exit (0: valid, 2: problems); "
             "connects nowhere")
          ->type_name("DIR");
  options.policies =
      app.add_option("--policies", flags.policies,
                     "sync with the SyncPolicy files (*.yaml, *.yml) in this directory; kinds "
                     "without a file use their built-in policy. Any problem: printed as "
                     "file:line: reason, exit 2")
          ->type_name("DIR");
  defineLeaderFlags(app, flags);
  return options;
}

// Policy problems on stderr, one line each, as `file:line: reason`.
void printProblems(const std::vector<policies::PolicyProblem>& problems) {
  for (const policies::PolicyProblem& problem : problems) {
    std::fprintf(stderr, "%s\n", problem.describe().c_str());
  }
}

// --validate-policies: the directory, the defaults it does not override, and kinds that may be
// synced.
int validatePolicies(const std::string& dir) {
  const policies::LoadedPolicies loaded = startup::loadPolicies(dir, policyKindRefusal);
  printProblems(loaded.problems);
  if (!loaded.problems.empty()) return 2;
  std::printf("policies ok: %zu resource types (%s)\n", loaded.policies.size(),
              startup::describeSources(loaded.policies).c_str());
  return 0;
}

// A kind of the built-in plugins that `specs` names by its plural already ("configmaps" for a
// ConfigMap policy): the same kind, once is enough (and the log says it once).
bool namedByPlural(const std::vector<kube::ResourceSpec>& specs,
                   const translators::Registry& registry, const kube::GroupVersionKind& kind) {
  const translators::Translator* plugin = registry.findByKind(kind);
  if (plugin == nullptr) return false;
  const kube::ResourceInfo& resource = plugin->resource();
  return std::any_of(specs.begin(), specs.end(), [&](const kube::ResourceSpec& spec) {
    return !spec.byKind() && spec.group == resource.group && spec.resource == resource.resource;
  });
}

// The kinds to sync: those --resources names (checked by resourceSpecCheck), then the kind of
// every policy file (the built-in policies only say how a kind syncs, not that it does).
std::vector<kube::ResourceSpec> kindsToSync(const std::vector<std::string>& resources,
                                            const std::vector<policies::SyncPolicy>& policies,
                                            const translators::Registry& registry) {
  std::vector<kube::ResourceSpec> specs;
  for (const std::string& item : resources) specs.push_back(*kube::parseResourceSpec(item));
  for (const policies::SyncPolicy& policy : policies) {
    if (policy.file.starts_with("<built-in>/") || namedByPlural(specs, registry, policy.resource)) {
      continue;
    }
    std::string text = policy.resource.kind + "." + policy.resource.version;
    if (!policy.resource.group.empty()) text += "." + policy.resource.group;
    specs.push_back(
        {text, policy.resource.group, policy.resource.version, "", policy.resource.kind});
  }
  return specs;
}

// Only what the flags name (checkSideFlags): the explicit file, or the in-cluster service account.
Result<kube::RestConfig> loadSide(const startup::SideFlags& side) {
  if (side.inCluster) return kube::inClusterConfig();
  kube::KubeconfigLoadOptions options;
  options.explicitPath = side.kubeconfig;
  options.context = side.context;
  options.allowInCluster = false;
  return kube::loadRestConfig(options);
}

// What runs on the loop: both clients, and the Syncer once the start-up checks have passed.
struct Daemon {
  Daemon(asio::io_context& loop, kube::Client& sourceClient, kube::Client& targetClient,
         const translators::Registry& translators, mapping::IdentityMapper identityMapper,
         engine::SyncerOptions syncerOptions)
      : io(loop),
        source(sourceClient),
        target(targetClient),
        registry(translators),
        mapper(std::move(identityMapper)),
        options(std::move(syncerOptions)) {}

  asio::io_context& io;
  kube::Client& source;
  kube::Client& target;
  const translators::Registry& registry;
  std::optional<mapping::IdentityMapper> mapper;  // moved into the Syncer
  engine::SyncerOptions options;
  std::optional<engine::Syncer> syncer;
  leader::LeaderElector* elector = nullptr;  // --leader-elect
  int exitCode = 0;
};

void printReason(const std::string& message) {
  std::fprintf(stderr, "kube-bisync: %s\n", message.c_str());
}

// A start-up check failed after the loop started (the reasons are printed): exit code 2.
void refuseToStart(Daemon& daemon) {
  daemon.exitCode = 2;
  daemon.io.stop();
}

// A Config error when source and target turn out to be one cluster, or cannot be told apart.
asio::awaitable<Result<void>> distinctClusters(Daemon& daemon) {
  const std::string source = "source";
  const std::string target = "target";
  const Result<startup::ClusterIdentity> sourceCluster =
      co_await startup::clusterIdentity(daemon.source, source);
  if (!sourceCluster) co_return kube::fail(sourceCluster.error());
  const Result<startup::ClusterIdentity> targetCluster =
      co_await startup::clusterIdentity(daemon.target, target);
  if (!targetCluster) co_return kube::fail(targetCluster.error());
  Result<void> distinct = startup::checkDistinctClusters(*sourceCluster, *targetCluster);
  if (distinct) {
    spdlog::info("source and target are different clusters (kube-system uid {} and {})",
                 sourceCluster->kubeSystemUid, targetCluster->kubeSystemUid);
  }
  co_return distinct;
}

// Waits for both servers, refuses one cluster on both sides, then starts the Syncer (which
// looks the kinds to sync up itself, and waits for those not served yet).
asio::awaitable<void> startUp(Daemon& daemon) {
  const std::string source = "source";
  const std::string target = "target";
  co_await startup::waitReachable(daemon.source, source);
  co_await startup::waitReachable(daemon.target, target);
  const Result<void> distinct = co_await distinctClusters(daemon);
  if (!distinct) {
    printReason(distinct.error().describe());
    refuseToStart(daemon);
    co_return;
  }

  daemon.syncer.emplace(daemon.source, daemon.target, daemon.registry, std::move(*daemon.mapper),
                        std::move(daemon.options));
  daemon.syncer->start();
  if (daemon.elector != nullptr) {
    asio::co_spawn(daemon.io, daemon.elector->run(), asio::detached);
  }
}

// Leadership lost (leader election): the write gate is closed already, so nothing more is
// written. Exit at once, as controller-runtime does, without draining: Kubernetes restarts the
// replica, which comes back as a follower.
void leadershipLost(const Daemon& daemon, const std::string& why) {
  // The same sum /metrics gives (kube_bisync_writes_total, _namespace_writes_total,
  // _events_total, _event_copies_total but foreign, _node_writes_total), so that a replica that
  // lost the lease can be shown to have written nothing since its last scrape.
  const std::uint64_t writes = daemon.syncer ? daemon.syncer->stats().writes() +
                                                   daemon.syncer->eventsRecorded() +
                                                   daemon.syncer->hostViewStats().writes()
                                             : 0;
  spdlog::error(
      "leader election lost ({}): exiting with status 1 without further writes ({} writes made)",
      why, writes);
  spdlog::default_logger()->flush();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(1);
}

// After the drain, a leader gives the Lease up so that the next replica takes over at once.
asio::awaitable<void> shutDown(Daemon& daemon) {
  engine::Syncer& syncer = *daemon.syncer;
  co_await syncer.shutdown();
  if (daemon.elector != nullptr) co_await daemon.elector->stopAndRelease();
  const engine::SyncerStats& stats = syncer.stats();
  spdlog::info(
      "stopped: {} writes (target: {} applies, {} patches, {} deletes; source: {}; {} namespace "
      "writes), {} clashes",
      stats.writes(), stats.target.applies, stats.target.patches, stats.target.deletes,
      stats.source.total(), stats.namespaceWrites, stats.clashes);
  daemon.io.stop();
}

// One listening endpoint per distinct address (/metrics and the probes share one when their
// flags name the same address).
struct OpsEndpoint {
  ops::BindAddress address;
  std::unique_ptr<ops::HttpEndpoint> server;
  std::string paths;
};

// Who leads, for /readyz (only under --leader-elect: alone, a replica always leads).
std::string leaderLine(const Daemon& daemon) {
  if (daemon.elector == nullptr) return "";
  if (daemon.elector->writesAllowed()) {
    return "leader: yes (" + daemon.elector->identity() + ")\n";
  }
  const std::string& holder = daemon.elector->holder();
  return "leader: no (held by " + (holder.empty() ? std::string("nobody yet") : holder) + ")\n";
}

ops::HttpResponse readiness(const Daemon& daemon) {
  constexpr const char* kText = "text/plain; charset=utf-8";
  if (!daemon.syncer) return {503, kText, "waiting for the API servers\n"};
  const bool leading = daemon.elector == nullptr || daemon.elector->writesAllowed();
  // Kinds not served yet do not hold readiness up (the others sync); they are listed.
  std::string waiting;
  for (const engine::ResourceState& resource : daemon.syncer->resourceStates()) {
    if (!resource.syncing)
      waiting += "waiting for " + resource.resource + ": " + resource.waitingFor + "\n";
  }
  // Degraded is not unready: the rest syncs, and a restart would not bring the permission back.
  for (const auto& [side, client] :
       {std::pair{"source", &daemon.source}, {"target", &daemon.target}}) {
    for (const kube::VerbResource& pair : client->forbidden().forbidden()) {
      waiting += "degraded: the " + std::string(side) + " API server forbids " + pair.verb +
                 " on " + pair.resource + "\n";
    }
  }
  const engine::SyncerStats& stats = daemon.syncer->stats();
  const std::string progress = "initial sync: " + std::to_string(stats.initialDone) + "/" +
                               std::to_string(stats.initialTotal) + " keys\n";
  if (daemon.syncer->ready()) return {200, kText, "ok\n" + leaderLine(daemon) + waiting};
  // Replicas under leader election are ready once their caches are warm: a follower is ready to
  // take over, and a new leader's initial sync must not take the replica out of its Service.
  if (daemon.elector != nullptr && daemon.syncer->cachesSynced()) {
    return {200, kText, "ok\n" + leaderLine(daemon) + (leading ? progress : "") + waiting};
  }
  return {503, kText, progress + leaderLine(daemon) + waiting};
}

// Binds /metrics and /healthz + /readyz where the flags say; a bind failure is a start-up error.
Result<std::vector<OpsEndpoint>> startEndpoints(asio::io_context& io, const Daemon& daemon,
                                                const std::optional<ops::BindAddress>& metrics,
                                                const std::optional<ops::BindAddress>& health) {
  std::vector<OpsEndpoint> endpoints;
  const auto at = [&](const ops::BindAddress& address) -> OpsEndpoint& {
    for (OpsEndpoint& endpoint : endpoints) {
      if (endpoint.address.host == address.host && endpoint.address.port == address.port) {
        return endpoint;
      }
    }
    return endpoints.emplace_back(
        OpsEndpoint{address, std::make_unique<ops::HttpEndpoint>(io), ""});
  };
  const auto serve = [](OpsEndpoint& endpoint, std::string path, ops::HttpHandler handler) {
    endpoint.paths += (endpoint.paths.empty() ? "" : ", ") + path;
    endpoint.server->handle(std::move(path), std::move(handler));
  };
  // Every endpoint exists before /metrics is served: it reports on all of them.
  if (metrics) at(*metrics);
  if (health) at(*health);
  std::vector<const ops::HttpEndpoint*> servers;
  for (const OpsEndpoint& endpoint : endpoints) servers.push_back(endpoint.server.get());
  if (metrics) {
    serve(at(*metrics), "/metrics", [&daemon, servers] {
      const engine::Syncer* syncer = daemon.syncer ? &*daemon.syncer : nullptr;
      std::vector<ops::EndpointFigures> figures;
      for (const ops::HttpEndpoint* server : servers) {
        figures.push_back({server->address(), server->stats()});
      }
      std::vector<ops::MetricFamily> families =
          ops::daemonMetrics(syncer, daemon.source, daemon.target, figures);
      families.push_back(
          ops::leaderMetric(daemon.elector == nullptr || daemon.elector->writesAllowed()));
      return ops::HttpResponse{200, ops::kPrometheusContentType, ops::renderPrometheus(families)};
    });
  }
  if (health) {
    OpsEndpoint& endpoint = at(*health);
    // Answering at all shows that the loop runs.
    serve(endpoint, "/healthz", [] {
      return ops::HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    });
    serve(endpoint, "/readyz", [&daemon] { return readiness(daemon); });
  }
  for (OpsEndpoint& endpoint : endpoints) {
    if (Result<void> listening = endpoint.server->listen(endpoint.address); !listening) {
      return kube::fail(std::move(listening.error()));
    }
    endpoint.server->start();
    spdlog::info("serving {} on http://{}:{}", endpoint.paths, endpoint.address.host,
                 endpoint.server->port());
  }
  return endpoints;
}

int fail(const std::string& message) {
  printReason(message);
  return 2;
}

// The --leader-elect-* durations (each one checked alone by its flag's check).
leader::ElectionOptions electionOptions(const Flags& flags) {
  return {*parseDuration(flags.leaseDuration), *parseDuration(flags.renewDeadline),
          *parseDuration(flags.retryPeriod)};
}

// The elector's own client: its Lease requests are never gated by the write gate nor queued
// behind the sync's, and it does not retry inside a request (it tries every retry period).
kube::ClientOptions leaseClientOptions(kube::ClientOptions options,
                                       const leader::ElectionOptions& election) {
  options.maxRetries = 0;
  options.requestTimeout = election.renewDeadline / 2;
  return options;
}

// --remove-finalizers: the source's objects of `kinds` lose our finalizer; 0 when every one did.
int removeFinalizersAndExit(const Flags& flags, const kube::RestConfig& sourceConfig,
                            const std::vector<kube::ResourceSpec>& kinds) {
  int exitCode = 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  {
    asio::io_context io;
    kube::Client source(io, sourceConfig);
    engine::NamespaceSelection namespaces;
    namespaces.names = flags.namespaces;
    const std::string fieldManager = "kube-bisync/" + flags.clusterName;
    asio::co_spawn(
        io, startup::removeFinalizers(source, kinds, namespaces, fieldManager),
        [&exitCode](const std::exception_ptr& error, const startup::FinalizerRemoval& result) {
          if (error) std::rethrow_exception(error);
          std::printf("removed finalizer %s from %zu objects of %zu kinds (%zu failed)\n",
                      std::string(engine::kCleanupFinalizer).c_str(), result.removed, result.kinds,
                      result.failed);
          exitCode = result.failed == 0 ? 0 : 1;
        });
    io.run();
  }
  curl_global_cleanup();
  return exitCode;
}

}  // namespace

// The Pod flags' values (translators::validate), the problem naming the flag.
std::optional<std::string> podFlagProblem(const translators::PodOptions& pods) {
  const Result<void> valid = translators::validate(pods);
  if (valid) return std::nullopt;
  const std::pair<std::string_view, std::string_view> flagOf[] = {
      {"PodOptions.virtualDnsServer", "--virtual-dns-server"},
      {"PodOptions.virtualApiServerAddress", "--virtual-apiserver-address"},
      {"PodOptions.clusterDomain", "--cluster-domain"},
      {"PodOptions.hostServiceAccount", "--host-service-account"},
      {"PodOptions.tokenAudiences", "--token-audiences"}};
  std::string flag = valid.error().origin;
  for (const auto& [field, name] : flagOf) {
    if (flag == field) flag = name;
  }
  return flag + ": " + valid.error().message;
}

// The Pod plugin's options: the flags, and the host features the v1 Pod policy allows.
translators::PodOptions podOptions(const Flags& flags,
                                   const std::vector<policies::SyncPolicy>& loaded) {
  translators::PodOptions pods = flags.pods;
  for (const policies::SyncPolicy& policy : loaded) {
    if (!(policy.resource.group.empty() && policy.resource.kind == "Pod")) continue;
    for (const std::string& name : policy.allowedHostFeatures) {
      // The policy parser accepts only the names parseHostFeature knows.
      if (const auto feature = translators::parseHostFeature(name)) {
        pods.allowedHostFeatures.insert(*feature);
      }
    }
  }
  return pods;
}

// What is wrong with the values of the flags, each checked alone before any file is read; the
// checks run in the order a user fixes them.
std::optional<std::string> flagProblem(const Flags& flags, const FlagOptions& flagOptions) {
  if (flagOptions.clusterName->count() == 0) return "--cluster-name is required";
  if (const std::optional<std::string> invalid = leader::invalidOptions(electionOptions(flags))) {
    return "--leader-elect-lease-duration " + flags.leaseDuration +
           ", --leader-elect-renew-deadline " + flags.renewDeadline +
           ", --leader-elect-retry-period " + flags.retryPeriod + ": " + *invalid;
  }
  for (const auto& [flag, value] : {std::pair{"--metrics-bind-address", &flags.metricsAddress},
                                    {"--health-probe-bind-address", &flags.healthAddress}}) {
    if (const auto address = ops::parseBindAddress(*value, flag); !address) {
      return address.error().describe();
    }
  }
  return podFlagProblem(flags.pods);
}

// The identity mapper of --cluster-name, --namespace-mode and --target-namespace; its errors
// name the flag, not the struct field the mapper reports.
Result<mapping::IdentityMapper> makeMapper(const Flags& flags) {
  mapping::MapperConfig config;
  config.clusterName = flags.clusterName;
  config.mode = flags.namespaceMode == "single" ? mapping::NamespaceMode::Single
                                                : mapping::NamespaceMode::Prefix;
  config.targetNamespace = flags.targetNamespace;
  Result<mapping::IdentityMapper> mapper = mapping::IdentityMapper::create(config);
  if (!mapper) {
    kube::Error error = mapper.error();
    if (error.origin == "MapperConfig.clusterName") error.origin = "--cluster-name";
    if (error.origin == "MapperConfig.targetNamespace") error.origin = "--target-namespace";
    return tl::unexpected(std::move(error));
  }
  return mapper;
}

// Whether each side's connection flags choose exactly one way to connect (--remove-finalizers
// connects to the source only).
std::optional<std::string> sideFlagProblem(const Flags& flags) {
  for (const startup::SideFlags* side : {&flags.source, &flags.target}) {
    if (flags.removeFinalizers && side == &flags.target) continue;
    if (Result<void> chosen = startup::checkSideFlags(*side); !chosen) {
      return chosen.error().describe();
    }
  }
  return std::nullopt;
}

engine::SyncerOptions syncerOptions(const Flags& flags, const std::string& stateNamespace,
                                    policies::LoadedPolicies loaded,
                                    const translators::Registry& registry) {
  engine::SyncerOptions options;
  options.namespaces.names = flags.namespaces;
  options.resources = kindsToSync(flags.resources, loaded.policies, registry);
  options.discoveryInterval = std::chrono::seconds(flags.discoveryIntervalSeconds);
  options.workers = flags.workers;
  options.maxObjectsPerNamespace = flags.maxObjectsPerNamespace;
  options.podSecurityLevel = flags.podSecurityLevel;
  options.tokenExpirationSeconds = flags.tokenExpirationSeconds;
  options.tokenAudiences = flags.pods.tokenAudiences;
  options.fieldManager = "kube-bisync/" + flags.clusterName;
  options.stateNamespace = stateNamespace;
  options.logWrites = flags.verbosity >= 2;
  options.waitForLeadership = flags.leaderElect;
  options.finalizer = flags.finalizer;
  options.prune = flags.prune;
  options.syncEvents = flags.syncEvents;
  spdlog::info("policies: {}", startup::describeSources(loaded.policies));
  options.policies = std::move(loaded.policies);
  return options;
}

kube::ClientOptions clientOptions(const Flags& flags) {
  kube::ClientOptions options;
  options.qps = flags.qps;
  options.burst = flags.burst;
  // The engine retries a failed key with per-key backoff, and informers relist with theirs;
  // long client-level retries under them would only hold workers and multiply attempts.
  options.maxRetries = 2;
  options.requestTimeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(flags.requestTimeoutSeconds * 1000));
  return options;
}

kube::ClientOptions forSide(kube::ClientOptions options, std::string side) {
  options.side = std::move(side);
  return options;
}

// The start-up lines that say what this run connects to and syncs.
void logConfiguration(const Flags& flags, const kube::Client& source, const kube::Client& target,
                      const startup::StateNamespace& stateNamespace,
                      const engine::SyncerOptions& options) {
  spdlog::info("source: {} ({})", source.server(), source.config().origin);
  spdlog::info("target: {} ({})", target.server(), target.config().origin);
  for (const auto& [side, client] : {std::pair{"source", &source}, {"target", &target}}) {
    for (const std::string& warning : startup::connectionWarnings(side, client->config())) {
      spdlog::warn("{}", warning);
    }
  }
  spdlog::info("state namespace: {} ({})", stateNamespace.name, stateNamespace.from);
  std::string resourceList;
  for (const kube::ResourceSpec& resource : options.resources) {
    resourceList += (resourceList.empty() ? "" : ", ") + resource.text;
  }
  std::string namespaceList = "all namespaces except kube-system, kube-public, kube-node-lease";
  if (!flags.namespaces.empty()) {
    namespaceList = "namespaces";
    for (const std::string& ns : flags.namespaces) namespaceList += " " + ns;
  }
  spdlog::info("syncing {} from {} as {} ({} mode{})", resourceList, namespaceList,
               flags.clusterName, flags.namespaceMode,
               flags.targetNamespace.empty() ? "" : ", into " + flags.targetNamespace);
}

// --leader-elect: the elector, on a Lease client of its own, starts the Syncer's work when it
// leads; both sync clients get the write gate, the last line of defence: no write leaves them
// unless this replica leads and its renew deadline has not passed (local monotonic clock).
void startElection(const Flags& flags, const std::string& stateNamespace,
                   std::optional<kube::Client>& leaseClient,
                   std::optional<leader::LeaderElector>& elector, Daemon& daemon) {
  const leader::ElectionOptions election = electionOptions(flags);
  leader::ElectorConfig config{
      flags.leaderElectNamespace.empty() ? stateNamespace : flags.leaderElectNamespace,
      flags.leaderElectId.empty() ? "kube-bisync-" + flags.clusterName : flags.leaderElectId,
      leader::newIdentity(), election};
  elector.emplace(
      *leaseClient, std::move(config),
      leader::ElectorCallbacks{[&daemon] { daemon.syncer->startLeading(); },
                               [&daemon](const std::string& why) { leadershipLost(daemon, why); }});
  daemon.elector = &*elector;
  for (kube::Client* client : {&daemon.source, &daemon.target}) {
    client->setWriteGate([&elector] { return elector->writesAllowed(); });
  }
  spdlog::info("leader election: Lease {} as {} (lease {} ms, renew deadline {} ms, retry {} ms)",
               elector->describe(), elector->identity(), election.leaseDuration.count(),
               election.renewDeadline.count(), election.retryPeriod.count());
}

// SIGINT/SIGTERM: drain in-flight writes (and, under --leader-elect, release the Lease).
void onSignals(asio::signal_set& signals, Daemon& daemon) {
  signals.async_wait([&daemon](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (!daemon.syncer) {
      // Still waiting for a server: there is nothing to drain.
      spdlog::info("received signal {} during start-up: exiting", signal);
      daemon.io.stop();
      return;
    }
    spdlog::info("received signal {}: finishing in-flight writes", signal);
    asio::co_spawn(daemon.io, shutDown(daemon), asio::detached);
  });
}

// Connects, serves the HTTP endpoints and syncs until a signal (or a lost leadership) ends it.
int runDaemon(const Flags& flags, const translators::Registry& registry,
              mapping::IdentityMapper mapper, engine::SyncerOptions options,
              const kube::RestConfig& sourceConfig, const kube::RestConfig& targetConfig,
              const startup::StateNamespace& stateNamespace) {
  asio::io_context io;
  const kube::ClientOptions common = clientOptions(flags);
  kube::Client source(io, sourceConfig, forSide(common, "source"));
  kube::Client target(io, targetConfig, forSide(common, "target"));
  logConfiguration(flags, source, target, stateNamespace, options);
  Daemon daemon(io, source, target, registry, std::move(mapper), std::move(options));
  std::optional<kube::Client> leaseClient;
  std::optional<leader::LeaderElector> elector;
  if (flags.leaderElect) {
    leaseClient.emplace(io, targetConfig, leaseClientOptions(common, electionOptions(flags)));
    startElection(flags, stateNamespace.name, leaseClient, elector, daemon);
  }
  Result<std::vector<OpsEndpoint>> endpoints = startEndpoints(
      io, daemon, *ops::parseBindAddress(flags.metricsAddress, "--metrics-bind-address"),
      *ops::parseBindAddress(flags.healthAddress, "--health-probe-bind-address"));
  if (!endpoints) return fail(endpoints.error().describe());
  // An exception here is a bug (the Syncer refusing options the CLI checked): let it out.
  asio::co_spawn(io, startUp(daemon), [](const std::exception_ptr& error) {
    if (error) std::rethrow_exception(error);
  });
  asio::signal_set signals(io, SIGINT, SIGTERM);
  onSignals(signals, daemon);
  io.run();
  return daemon.exitCode;
}

int main(int argc, char** argv) {
  translators::Registry registry;

  CLI::App app{"kube-bisync: bidirectional cluster-to-cluster syncer for Kubernetes"};
  Flags flags;
  const FlagOptions flagOptions = defineFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    return fail(error.what());                               // one line, unlike CLI11's own report
  }
  if (flagOptions.validatePolicies->count() > 0) {
    return validatePolicies(flags.validatePolicies);
  }
  if (const std::optional<std::string> problem = flagProblem(flags, flagOptions)) {
    return fail(*problem);
  }
  spdlog::set_level(flags.verbosity >= 3   ? spdlog::level::trace
                    : flags.verbosity >= 1 ? spdlog::level::debug
                                           : spdlog::level::info);
  Result<mapping::IdentityMapper> mapper = makeMapper(flags);
  if (!mapper) return fail(mapper.error().describe());
  // After the values of the flags that were given (a wrong value is the more specific problem),
  // before any file is read.
  if (const std::optional<std::string> problem = sideFlagProblem(flags)) return fail(*problem);

  // Before anything connects: a policy problem stops start-up with every problem listed.
  policies::LoadedPolicies loaded = startup::loadPolicies(
      flagOptions.policies->count() > 0 ? std::optional(flags.policies) : std::nullopt,
      policyKindRefusal);
  if (!loaded.problems.empty()) {
    printProblems(loaded.problems);
    return 2;
  }
  translators::registerBuiltins(registry, podOptions(flags, loaded.policies));

  Result<kube::RestConfig> sourceConfig = loadSide(flags.source);
  if (!sourceConfig) return fail("source: " + sourceConfig.error().describe());
  if (flags.removeFinalizers) {
    return removeFinalizersAndExit(flags, *sourceConfig,
                                   kindsToSync(flags.resources, loaded.policies, registry));
  }
  Result<kube::RestConfig> targetConfig = loadSide(flags.target);
  if (!targetConfig) return fail("target: " + targetConfig.error().describe());
  if (Result<void> servers = startup::checkServers({sourceConfig->server, targetConfig->server},
                                                   flags.allowInsecureHttp);
      !servers) {
    return fail(servers.error().describe());
  }
  const Result<startup::StateNamespace> stateNamespace = startup::chooseStateNamespace(
      flagOptions.stateNamespace->count() > 0 ? std::optional(flags.stateNamespace) : std::nullopt,
      *targetConfig);
  if (!stateNamespace) return fail(stateNamespace.error().describe());

  engine::SyncerOptions options =
      syncerOptions(flags, stateNamespace->name, std::move(loaded), registry);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int exitCode = runDaemon(flags, registry, std::move(*mapper), std::move(options),
                                 *sourceConfig, *targetConfig, *stateNamespace);
  curl_global_cleanup();
  return exitCode;
}
