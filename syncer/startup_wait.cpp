#include "syncer/startup_wait.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/kube/backoff.hpp"

namespace bisync::startup {

namespace {

namespace asio = boost::asio;

class StartUpBackoff {
 public:
  explicit StartUpBackoff(asio::io_context& io) : timer_(io) {}

  asio::awaitable<void> wait(const std::string& side, const kube::Error& error) {
    const auto delay = std::chrono::duration_cast<std::chrono::seconds>(backoff_.delay(failures_));
    failures_ = std::min(failures_ + 1, kMostDoublings);
    spdlog::error("{} API server is not reachable yet: {} (asking again in {} s)", side,
                  error.describe(), delay.count());
    timer_.expires_after(delay);
    co_await timer_.async_wait(asio::use_awaitable);
  }

 private:
  static constexpr int kMostDoublings = 64;  // long past the maximum: the count cannot overflow
  asio::steady_timer timer_;
  const kube::ExponentialBackoff backoff_{
      {.base = std::chrono::seconds(1), .max = std::chrono::seconds(30)}};
  int failures_ = 0;
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
