#include "syncer/startup_wait.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bisync::startup {

namespace {

namespace asio = boost::asio;

class StartUpBackoff {
 public:
  explicit StartUpBackoff(asio::io_context& io) : timer_(io) {}

  asio::awaitable<void> wait(const std::string& side, const kube::Error& error) {
    spdlog::error("{} API server is not reachable yet: {} (asking again in {} s)", side,
                  error.describe(), delay_.count());
    timer_.expires_after(delay_);
    co_await timer_.async_wait(asio::use_awaitable);
    delay_ = std::min(delay_ * 2, std::chrono::seconds(30));
  }

 private:
  asio::steady_timer timer_;
  std::chrono::seconds delay_{1};
};

}  // namespace

asio::awaitable<void> waitReachable(kube::Client& client, const std::string& side) {
  StartUpBackoff backoff(client.ioContext());
  const std::string path = "/version";
  for (;;) {
    kube::Result<kube::Json> version = co_await client.getPath(path);
    if (version) {
      spdlog::info("{} API server {} is Kubernetes {}", side, client.server(),
                   kube::stringMember(*version, "gitVersion"));
      co_return;
    }
    co_await backoff.wait(side, version.error());
  }
}

asio::awaitable<kube::Result<ClusterIdentity>> clusterIdentity(kube::Client& client,
                                                               const std::string& side) {
  StartUpBackoff backoff(client.ioContext());
  const std::string path = "/api/v1/namespaces/kube-system";
  for (;;) {
    kube::Result<kube::Json> found = co_await client.getPath(path);
    if (found && !kube::uidOf(*found).empty()) {
      co_return ClusterIdentity{client.server(), std::string(kube::uidOf(*found))};
    }
    if (found || found.error().isNotFound() || found.error().isForbidden()) {
      const std::string why = found ? "it has no uid" : found.error().describe();
      co_return kube::fail(kube::configError(
          side,
          "cannot tell whether source and target are one cluster: reading the namespace "
          "kube-system failed: " +
              why + " (see RBAC in docs/operations.md)"));
    }
    co_await backoff.wait(side, found.error());
  }
}

}  // namespace bisync::startup
