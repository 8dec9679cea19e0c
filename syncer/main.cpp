// kube-bisync: the daemon's entry point. Parses flags, loads both kubeconfigs, connects to
// both API servers and runs the Syncer until SIGTERM/SIGINT, then drains in-flight writes.
// Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on bad flags or config.
// `--validate-policies DIR` only checks policy files (0: valid, 2: problems) and connects
// nowhere.
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "policies/policy_loader.hpp"
#include "syncer/engine/syncer.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/kube/kubeconfig.hpp"
#include "translators/translator.hpp"

namespace {

namespace asio = boost::asio;
using namespace bisync;
using kube::Result;

struct Flags {
  std::string sourceKubeconfig;
  std::string targetKubeconfig;
  std::string sourceContext;
  std::string targetContext;
  std::string clusterName;
  std::string validatePolicies;
  std::string namespaceMode = "prefix";
  std::string targetNamespace;
  std::vector<std::string> namespaces;
  bool allNamespaces = false;
  std::vector<std::string> resources{"configmaps", "secrets"};
  std::size_t workers = 4;
  double qps = 50;
  int burst = 100;
  double requestTimeoutSeconds = 30;
  int verbosity = 0;
};

struct FlagOptions {
  CLI::Option* clusterName = nullptr;
  CLI::Option* validatePolicies = nullptr;
};

FlagOptions defineFlags(CLI::App& app, Flags& flags, const translators::Registry& registry) {
  FlagOptions options;
  app.add_option("--source-kubeconfig", flags.sourceKubeconfig,
                 "kubeconfig of the source (virtual) cluster; empty: KUBECONFIG, "
                 "~/.kube/config, then in-cluster");
  app.add_option("--target-kubeconfig", flags.targetKubeconfig,
                 "kubeconfig of the target (host) cluster; same fallbacks as the source");
  app.add_option("--source-context", flags.sourceContext,
                 "context in the source kubeconfig (default: its current-context)");
  app.add_option("--target-context", flags.targetContext,
                 "context in the target kubeconfig (default: its current-context)");
  // Required unless validating policies; checked after parsing.
  options.clusterName = app.add_option(
      "--cluster-name", flags.clusterName,
      "name of this syncer instance: the target namespace prefix and the value of the "
      "kube-bisync.io/managed-by label (a DNS label of at most 40 characters); required");
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
  app.add_option("--resources", flags.resources, "resources to sync, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember(registry.resourceNames()))
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
  app.add_option("-v,--v", flags.verbosity,
                 "log verbosity: 0 info, 1 debug, 2 also every write, 3 and up trace")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  options.validatePolicies =
      app.add_option(
             "--validate-policies", flags.validatePolicies,
             "check the SyncPolicy files (*.yaml, *.yml) in this directory together with the "
             "built-in "
             "defaults, print every problem as file:line: reason and exit (0: valid, 2: problems); "
             "connects nowhere")
          ->type_name("DIR");
  return options;
}

// --validate-policies: the directory, the defaults it does not override, and a translator
// for every kind.
int validatePolicies(const std::string& dir, const translators::Registry& registry) {
  policies::LoadedPolicies loaded = policies::withDefaults(policies::loadPolicyDirectory(dir));
  std::vector<policies::PolicyProblem> problems = std::move(loaded.problems);
  for (policies::PolicyProblem& problem : policies::checkKinds(loaded.policies, registry.kinds())) {
    problems.push_back(std::move(problem));
  }
  std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
    return std::tie(a.file, a.line) < std::tie(b.file, b.line);
  });
  for (const policies::PolicyProblem& problem : problems) {
    std::fprintf(stderr, "%s\n", problem.describe().c_str());
  }
  if (!problems.empty()) return 2;
  std::string list;
  for (const policies::SyncPolicy& policy : loaded.policies) {
    list += (list.empty() ? "" : ", ") + policies::describeResource(policy.resource) + " from " +
            policy.file;
  }
  std::printf("policies ok: %zu resource types (%s)\n", loaded.policies.size(), list.c_str());
  return 0;
}

Result<kube::RestConfig> loadSide(const std::string& path, const std::string& context) {
  kube::KubeconfigLoadOptions options;
  options.explicitPath = path;
  options.context = context;
  return kube::loadRestConfig(options);
}

asio::awaitable<void> checkReachable(kube::Client& client, std::string side) {
  Result<kube::Json> version = co_await client.getPath("/version");
  if (!version) {
    spdlog::error("{} API server is not reachable yet: {}", side, version.error().describe());
    co_return;
  }
  spdlog::info("{} API server {} is Kubernetes {}", side, client.server(),
               kube::stringMember(*version, "gitVersion"));
}

asio::awaitable<void> shutDown(engine::Syncer& syncer, asio::io_context& io) {
  co_await syncer.shutdown();
  const engine::SyncerStats& stats = syncer.stats();
  spdlog::info("stopped: {} writes ({} applies, {} deletes, {} namespace writes), {} clashes",
               stats.writes(), stats.applies, stats.deletes, stats.namespaceWrites, stats.clashes);
  io.stop();
}

int fail(const std::string& message) {
  std::fprintf(stderr, "kube-bisync: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  translators::Registry registry;
  translators::registerBuiltins(registry);

  CLI::App app{"kube-bisync: bidirectional cluster-to-cluster syncer for Kubernetes"};
  Flags flags;
  const FlagOptions flagOptions = defineFlags(app, flags, registry);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    return fail(error.what());                               // one line, unlike CLI11's own report
  }
  if (flagOptions.validatePolicies->count() > 0) {
    return validatePolicies(flags.validatePolicies, registry);
  }
  if (flagOptions.clusterName->count() == 0) return fail("--cluster-name is required");
  spdlog::set_level(flags.verbosity >= 3   ? spdlog::level::trace
                    : flags.verbosity >= 1 ? spdlog::level::debug
                                           : spdlog::level::info);

  mapping::MapperConfig mapperConfig;
  mapperConfig.clusterName = flags.clusterName;
  mapperConfig.mode = flags.namespaceMode == "single" ? mapping::NamespaceMode::Single
                                                      : mapping::NamespaceMode::Prefix;
  mapperConfig.targetNamespace = flags.targetNamespace;
  Result<mapping::IdentityMapper> mapper = mapping::IdentityMapper::create(mapperConfig);
  if (!mapper) {
    // Name the flag, not the struct field the mapper reports.
    kube::Error error = mapper.error();
    if (error.origin == "MapperConfig.clusterName") error.origin = "--cluster-name";
    if (error.origin == "MapperConfig.targetNamespace") error.origin = "--target-namespace";
    return fail(error.describe());
  }

  Result<kube::RestConfig> sourceConfig = loadSide(flags.sourceKubeconfig, flags.sourceContext);
  if (!sourceConfig) return fail("source: " + sourceConfig.error().describe());
  Result<kube::RestConfig> targetConfig = loadSide(flags.targetKubeconfig, flags.targetContext);
  if (!targetConfig) return fail("target: " + targetConfig.error().describe());

  engine::SyncerOptions options;
  options.namespaces.names = flags.namespaces;
  options.resources = flags.resources;
  options.workers = flags.workers;
  options.logWrites = flags.verbosity >= 2;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  {
    asio::io_context io;
    kube::ClientOptions clientOptions;
    clientOptions.qps = flags.qps;
    clientOptions.burst = flags.burst;
    // The engine retries a failed key with per-key backoff, and informers relist with theirs;
    // long client-level retries under them would only hold workers and multiply attempts.
    clientOptions.maxRetries = 2;
    clientOptions.requestTimeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(flags.requestTimeoutSeconds * 1000));
    kube::Client source(io, *sourceConfig, clientOptions);
    kube::Client target(io, *targetConfig, clientOptions);
    spdlog::info("source: {} ({})", source.server(), source.config().origin);
    spdlog::info("target: {} ({})", target.server(), target.config().origin);
    std::string resourceList;
    for (const std::string& resource : flags.resources) {
      resourceList += (resourceList.empty() ? "" : ", ") + resource;
    }
    std::string namespaceList = "all namespaces except kube-system, kube-public, kube-node-lease";
    if (!flags.namespaces.empty()) {
      namespaceList = "namespaces";
      for (const std::string& ns : flags.namespaces) namespaceList += " " + ns;
    }
    spdlog::info("syncing {} from {} as {} ({} mode{})", resourceList, namespaceList,
                 flags.clusterName, flags.namespaceMode,
                 flags.targetNamespace.empty() ? "" : ", into " + flags.targetNamespace);

    engine::Syncer syncer(source, target, registry, std::move(*mapper), options);
    asio::co_spawn(io, checkReachable(source, "source"), asio::detached);
    asio::co_spawn(io, checkReachable(target, "target"), asio::detached);
    syncer.start();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("received signal {}: finishing in-flight writes", signal);
      asio::co_spawn(io, shutDown(syncer, io), asio::detached);
    });
    io.run();
  }
  curl_global_cleanup();
  return 0;
}
