// kube-bisync: the daemon's entry point. Parses flags, loads both kubeconfigs, connects to
// both API servers and keeps an informer per side running until SIGTERM/SIGINT.
// Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 on bad flags or config.
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "syncer/kube/client.hpp"
#include "syncer/kube/informer.hpp"
#include "syncer/kube/kubeconfig.hpp"

namespace {

namespace asio = boost::asio;
using namespace bisync::kube;

struct Flags {
  std::string sourceKubeconfig;
  std::string targetKubeconfig;
  std::string sourceContext;
  std::string targetContext;
  double qps = 50;
  int burst = 100;
  int verbosity = 0;
};

struct Side {
  std::string name;  // "source" or "target"
  std::unique_ptr<Client> client;
  std::unique_ptr<Informer> namespaces;
};

asio::awaitable<void> connect(Side& side, int& pending) {
  Result<Json> version = co_await side.client->getPath("/version");
  if (!version) {
    spdlog::error("{} API server is not reachable: {}", side.name, version.error().describe());
  } else {
    spdlog::info("{} API server {} is reachable (Kubernetes {})", side.name, side.client->server(),
                 stringMember(*version, "gitVersion"));
  }
  side.namespaces->start();
  co_await side.namespaces->waitForSync();
  spdlog::info("{} informer synced: {} namespaces", side.name, side.namespaces->store().size());
  if (--pending == 0) spdlog::info("both sides are reachable and synced; running until stopped");
}

Result<RestConfig> loadSide(const std::string& path, const std::string& context) {
  KubeconfigLoadOptions options;
  options.explicitPath = path;
  options.context = context;
  return loadRestConfig(options);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kube-bisync: bidirectional cluster-to-cluster syncer for Kubernetes"};
  Flags flags;
  app.add_option("--source-kubeconfig", flags.sourceKubeconfig,
                 "kubeconfig of the source (virtual) cluster; empty: KUBECONFIG, "
                 "~/.kube/config, then in-cluster");
  app.add_option("--target-kubeconfig", flags.targetKubeconfig,
                 "kubeconfig of the target (host) cluster; same fallbacks as the source");
  app.add_option("--source-context", flags.sourceContext,
                 "context in the source kubeconfig (default: its current-context)");
  app.add_option("--target-context", flags.targetContext,
                 "context in the target kubeconfig (default: its current-context)");
  app.add_option("--qps", flags.qps, "client-side request rate limit per API server")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--burst", flags.burst, "requests allowed above --qps in a burst")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("-v,--v", flags.verbosity, "log verbosity: 0 info, 1 debug, 2 and up trace")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_level(flags.verbosity >= 2   ? spdlog::level::trace
                    : flags.verbosity == 1 ? spdlog::level::debug
                                           : spdlog::level::info);

  Result<RestConfig> sourceConfig = loadSide(flags.sourceKubeconfig, flags.sourceContext);
  if (!sourceConfig) {
    std::fprintf(stderr, "kube-bisync: source: %s\n", sourceConfig.error().describe().c_str());
    return 2;
  }
  Result<RestConfig> targetConfig = loadSide(flags.targetKubeconfig, flags.targetContext);
  if (!targetConfig) {
    std::fprintf(stderr, "kube-bisync: target: %s\n", targetConfig.error().describe().c_str());
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  {
    asio::io_context io;
    ClientOptions clientOptions;
    clientOptions.qps = flags.qps;
    clientOptions.burst = flags.burst;
    Side source{"source", std::make_unique<Client>(io, *sourceConfig, clientOptions), nullptr};
    Side target{"target", std::make_unique<Client>(io, *targetConfig, clientOptions), nullptr};
    for (Side* side : {&source, &target}) {
      side->namespaces = std::make_unique<Informer>(*side->client, resources::namespaces(),
                                                    InformerOptions{}, InformerHandlers{});
      spdlog::info("{}: {} ({})", side->name, side->client->server(),
                   side->client->config().origin);
    }
    int pending = 2;
    asio::co_spawn(io, connect(source, pending), asio::detached);
    asio::co_spawn(io, connect(target, pending), asio::detached);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("received signal {}, shutting down", signal);
      source.namespaces->stop();
      target.namespaces->stop();
      io.stop();
    });
    io.run();
  }
  curl_global_cleanup();
  return 0;
}
