#include "tests/support/tcp_proxy.hpp"

#include <map>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "tests/support/loop_thread.hpp"

namespace bisync::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kChunkBytes = 64 * 1024;

auto withError(error_code& error) { return asio::redirect_error(asio::use_awaitable, error); }

struct Connection {
  Connection(asio::io_context& io, std::unique_ptr<ConnectionTap> connectionTap)
      : client(io), upstream(io), tap(std::move(connectionTap)) {}
  void close() {
    error_code ignored;
    client.close(ignored);
    upstream.close(ignored);
  }
  tcp::socket client;
  tcp::socket upstream;
  std::unique_ptr<ConnectionTap> tap;  // null: bytes pass unchanged
};

enum class Direction { ToServer, ToClient };

}  // namespace

// Loop-affine state: touched only on loop's thread (public methods go through loop->call).
struct TcpProxy::Impl {
  Impl(const std::string& upstreamHost, int upstreamPort, TapFactory tapFactory)
      : upstream(asio::ip::make_address(upstreamHost), static_cast<unsigned short>(upstreamPort)),
        taps(std::move(tapFactory)) {}

  asio::awaitable<void> acceptConnections();
  asio::awaitable<void> serve(std::shared_ptr<Connection> connection, std::uint64_t id);
  asio::awaitable<void> pump(std::shared_ptr<Connection> owner, std::uint64_t id,
                             Direction direction);
  asio::awaitable<bool> forward(Connection& connection, Direction direction, std::string_view data,
                                const ConnectionTap::Send& toClient);
  asio::awaitable<bool> write(tcp::socket& to, std::string_view data);
  void forget(std::uint64_t id) {
    if (const auto found = open.find(id); found != open.end()) {
      found->second->close();
      open.erase(found);
    }
  }

  tcp::endpoint upstream;
  TapFactory taps;
  std::unique_ptr<LoopThread> loop = std::make_unique<LoopThread>();
  std::unique_ptr<tcp::acceptor> acceptor;
  std::map<std::uint64_t, std::shared_ptr<Connection>> open;
  std::uint64_t accepted = 0;
  std::uint64_t bytes = 0;
  bool refusing = false;
  std::chrono::milliseconds delay{0};
  int port = 0;
};

asio::awaitable<void> TcpProxy::Impl::acceptConnections() {
  while (acceptor) {
    error_code error;
    tcp::socket client = co_await acceptor->async_accept(withError(error));
    if (!acceptor) co_return;  // the proxy is going away
    if (error) continue;       // a connection that went before it was accepted
    ++accepted;
    const std::uint64_t id = accepted;
    auto connection = std::make_shared<Connection>(loop->io(), taps ? taps() : nullptr);
    connection->client = std::move(client);
    if (refusing) {
      connection->close();
      continue;
    }
    open.emplace(id, connection);
    asio::co_spawn(loop->io(), serve(std::move(connection), id), asio::detached);
  }
}

asio::awaitable<void> TcpProxy::Impl::serve(std::shared_ptr<Connection> connection,
                                            std::uint64_t id) {
  error_code error;
  co_await connection->upstream.async_connect(upstream, withError(error));
  if (error || !open.contains(id)) {
    forget(id);
    co_return;
  }
  // Each direction pumps on its own; whichever ends first closes both.
  asio::co_spawn(loop->io(), pump(connection, id, Direction::ToServer), asio::detached);
  co_await pump(connection, id, Direction::ToClient);
}

// `owner` keeps the sockets alive while this pump uses them.
asio::awaitable<void> TcpProxy::Impl::pump(std::shared_ptr<Connection> owner, std::uint64_t id,
                                           Direction direction) {
  tcp::socket& from = direction == Direction::ToServer ? owner->client : owner->upstream;
  tcp::socket& to = direction == Direction::ToServer ? owner->upstream : owner->client;
  const ConnectionTap::Send toClient = [this, &to](std::string_view data) {
    return write(to, data);
  };
  std::vector<char> chunk(kChunkBytes);
  asio::steady_timer timer(loop->io());
  while (true) {
    error_code error;
    const std::size_t read = co_await from.async_read_some(asio::buffer(chunk), withError(error));
    if (error) break;
    if (delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(withError(error));
      if (!to.is_open()) break;  // cut while it waited
    }
    const std::string_view data(chunk.data(), read);
    if (!co_await forward(*owner, direction, data, toClient)) break;
  }
  forget(id);
}

// Passes `data` on, through the connection's tap when it has one.
asio::awaitable<bool> TcpProxy::Impl::forward(Connection& connection, Direction direction,
                                              std::string_view data,
                                              const ConnectionTap::Send& toClient) {
  if (!connection.tap) {
    co_return co_await write(
        direction == Direction::ToServer ? connection.upstream : connection.client, data);
  }
  if (direction == Direction::ToClient)
    co_return co_await connection.tap->fromServer(data, toClient);
  connection.tap->fromClient(data);
  co_return co_await write(connection.upstream, data);
}

asio::awaitable<bool> TcpProxy::Impl::write(tcp::socket& to, std::string_view data) {
  error_code error;
  co_await asio::async_write(to, asio::buffer(data.data(), data.size()), withError(error));
  if (error) co_return false;
  bytes += data.size();
  co_return true;
}

TcpProxy::TcpProxy(std::string upstreamHost, int upstreamPort, TapFactory taps)
    : impl_(std::make_unique<Impl>(upstreamHost, upstreamPort, std::move(taps))) {
  Impl& impl = *impl_;
  impl.loop->call([&impl] {
    impl.acceptor = std::make_unique<tcp::acceptor>(
        impl.loop->io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    impl.port = impl.acceptor->local_endpoint().port();
    asio::co_spawn(impl.loop->io(), impl.acceptConnections(), asio::detached);
    return true;
  });
}

TcpProxy::~TcpProxy() {
  Impl& impl = *impl_;
  // The sockets go on the loop while it runs; the coroutines still waiting on them end when the
  // loop (and its io_context) is destroyed, before the rest of impl.
  impl.loop->call([&impl] {
    impl.acceptor.reset();
    for (auto& [id, connection] : impl.open) connection->close();
    impl.open.clear();
    return true;
  });
  impl.loop.reset();
}

int TcpProxy::port() const { return impl_->port; }

std::string TcpProxy::url() const { return "https://127.0.0.1:" + std::to_string(port()); }

void TcpProxy::cutConnections() {
  Impl& impl = *impl_;
  impl.loop->call([&impl] {
    for (auto& [id, connection] : impl.open) connection->close();
    impl.open.clear();
    return true;
  });
}

void TcpProxy::setRefusing(bool refusing) {
  Impl& impl = *impl_;
  impl.loop->call([&impl, refusing] { return impl.refusing = refusing; });
}

void TcpProxy::setDelay(std::chrono::milliseconds delay) {
  Impl& impl = *impl_;
  impl.loop->call([&impl, delay] { return impl.delay = delay; });
}

std::uint64_t TcpProxy::connectionsAccepted() const {
  Impl& impl = *impl_;
  return impl.loop->call([&impl] { return impl.accepted; });
}

std::size_t TcpProxy::openConnections() const {
  Impl& impl = *impl_;
  return impl.loop->call([&impl] { return impl.open.size(); });
}

std::uint64_t TcpProxy::bytesForwarded() const {
  Impl& impl = *impl_;
  return impl.loop->call([&impl] { return impl.bytes; });
}

}  // namespace bisync::testing
