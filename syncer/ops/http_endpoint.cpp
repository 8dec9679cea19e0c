#include "syncer/ops/http_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "syncer/kube/backoff.hpp"

namespace bisync::ops {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxRequestHead = 8192;
constexpr auto kRequestDeadline = std::chrono::seconds(5);

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string serialise(const HttpResponse& response, bool withBody) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    std::string(reasonPhrase(response.status)) + "\r\n";
  out += "Content-Type: " + response.contentType + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (withBody) out += response.body;
  return out;
}

kube::Error badAddress(std::string_view flag, std::string_view text, std::string_view why) {
  return kube::configError(std::string(flag), "\"" + std::string(text) +
                                                  "\" is not a bind address: " + std::string(why) +
                                                  " (host:port, :port, or 0 to turn it off)");
}

}  // namespace

kube::Result<std::optional<BindAddress>> parseBindAddress(std::string_view text,
                                                          std::string_view flag) {
  if (text == "0") return std::optional<BindAddress>();
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return kube::fail(badAddress(flag, text, "no port"));
  std::string_view host = text.substr(0, colon);
  const std::string_view portText = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (portText.empty() || error != std::errc() || end != portText.data() + portText.size() ||
      port > 65535) {
    return kube::fail(badAddress(flag, text, "the port is not a number from 0 to 65535"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  BindAddress address{host.empty() ? "0.0.0.0" : std::string(host), static_cast<uint16_t>(port)};
  boost::system::error_code ec;
  (void)asio::ip::make_address(address.host, ec);
  if (ec) return kube::fail(badAddress(flag, text, "the host is not an IP address"));
  return std::optional<BindAddress>(std::move(address));
}

std::optional<RequestLine> parseRequestLine(std::string_view head) {
  const auto lineEnd = head.find("\r\n");
  const std::string_view line = head.substr(0, lineEnd);
  const auto firstSpace = line.find(' ');
  if (firstSpace == std::string_view::npos || firstSpace == 0) return std::nullopt;
  const auto secondSpace = line.find(' ', firstSpace + 1);
  if (secondSpace == std::string_view::npos) return std::nullopt;
  const std::string_view target = line.substr(firstSpace + 1, secondSpace - firstSpace - 1);
  if (!line.substr(secondSpace + 1).starts_with("HTTP/1.") || !target.starts_with('/')) {
    return std::nullopt;
  }
  return RequestLine{std::string(line.substr(0, firstSpace)),
                     std::string(target.substr(0, target.find('?')))};
}

struct HttpEndpoint::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& context, const HttpEndpointOptions& endpointOptions)
      : io(context),
        acceptor(context),
        acceptRetry(context),
        options(endpointOptions),
        acceptBackoff(
            {.base = endpointOptions.acceptBackoff, .max = endpointOptions.maxAcceptBackoff}) {}

  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer acceptRetry;  // the wait after a failed accept; stop() cancels it
  HttpEndpointOptions options;
  std::map<std::string, HttpHandler, std::less<>> handlers;
  HttpEndpointStats stats;
  std::string where;  // "127.0.0.1:8081", for log lines
  bool stopped = false;
  // The current episode of failed accepts (0: none); the wait before the next try doubles with
  // each.
  std::uint64_t failedInARow = 0;
  kube::ExponentialBackoff acceptBackoff;
  bool full = false;  // maxConnections are open: new ones are being closed at once

  HttpResponse answer(const std::optional<RequestLine>& request) const {
    if (!request) return {400, "text/plain; charset=utf-8", "bad request\n"};
    if (request->method != "GET" && request->method != "HEAD") {
      return {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
    }
    const auto it = handlers.find(request->path);
    if (it == handlers.end()) return {404, "text/plain; charset=utf-8", "not found\n"};
    return it->second();
  }

  // Gives back the slot acceptLoop counted for a connection, however its coroutine ends.
  class ClosedOnExit {
   public:
    explicit ClosedOnExit(HttpEndpointStats& counts) : stats_(counts) {}
    ~ClosedOnExit() { --stats_.openConnections; }
    ClosedOnExit(const ClosedOnExit&) = delete;
    ClosedOnExit& operator=(const ClosedOnExit&) = delete;

   private:
    HttpEndpointStats& stats_;
  };

  // `self` keeps the handlers alive for as long as a request is served.
  static asio::awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket accepted) {
    const ClosedOnExit slot(self->stats);
    // Shared with the deadline's handler, which may still run once this frame is gone.
    auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    // A client that never finishes its request must not hold the socket for ever.
    asio::steady_timer deadline(self->io);
    deadline.expires_after(kRequestDeadline);
    deadline.async_wait([socket](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        socket->close(ignored);
      }
    });
    std::string head;
    boost::system::error_code ec;
    co_await asio::async_read_until(*socket, asio::dynamic_buffer(head, kMaxRequestHead),
                                    "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      const std::optional<RequestLine> request = parseRequestLine(head);
      const std::string out =
          serialise(self->answer(request), !request || request->method != "HEAD");
      co_await asio::async_write(*socket, asio::buffer(out),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    deadline.cancel();
    socket->shutdown(tcp::socket::shutdown_both, ec);
    socket->close(ec);
  }

  // Each open connection holds a descriptor and a coroutine for up to kRequestDeadline: beyond
  // the cap a flood of connections would take the descriptors the API clients need.
  bool admit(tcp::socket& socket) {
    if (stats.openConnections < options.maxConnections) {
      if (full) spdlog::info("http endpoint {}: below its connection limit again", where);
      full = false;
      return true;
    }
    ++stats.rejectedConnections;
    if (!full) {
      spdlog::warn("http endpoint {}: {} connections are open, its limit: closing new ones at once",
                   where, stats.openConnections);
    }
    full = true;
    boost::system::error_code ignored;
    socket.close(ignored);
    return false;
  }

  // The connection that could not be accepted stays queued, so the listening socket stays
  // readable: trying again at once would spin the loop until a descriptor is free.
  asio::awaitable<void> waitAfterFailedAccept(const boost::system::error_code& error) {
    ++stats.acceptFailures;
    const int earlierFailures = static_cast<int>(std::min<std::uint64_t>(failedInARow++, 64));
    const auto acceptDelay =
        std::chrono::duration_cast<std::chrono::milliseconds>(acceptBackoff.delay(earlierFailures));
    if (earlierFailures == 0) {
      spdlog::warn(
          "http endpoint {}: accept failed: {}; trying again in {} ms, then less often (every {} "
          "ms at most) until it works",
          where, error.message(), acceptDelay.count(), options.maxAcceptBackoff.count());
    }
    acceptRetry.expires_after(acceptDelay);
    boost::system::error_code canceled;
    co_await acceptRetry.async_wait(asio::redirect_error(asio::use_awaitable, canceled));
  }

  void acceptedAgain() {
    if (failedInARow == 0) return;
    spdlog::info("http endpoint {}: accepting again after {} failed accepts", where, failedInARow);
    failedInARow = 0;
  }

  asio::awaitable<void> acceptLoop() {
    auto self = shared_from_this();
    while (!stopped) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        co_await waitAfterFailedAccept(ec);
        continue;
      }
      acceptedAgain();
      if (!admit(socket)) continue;
      ++stats.openConnections;  // ClosedOnExit in serve() gives it back
      asio::co_spawn(io, serve(self, std::move(socket)), asio::detached);
    }
  }
};

HttpEndpoint::HttpEndpoint(asio::io_context& io, HttpEndpointOptions options)
    : impl_(std::make_shared<Impl>(io, options)) {}

HttpEndpoint::~HttpEndpoint() { stop(); }

void HttpEndpoint::handle(std::string path, HttpHandler handler) {
  impl_->handlers[std::move(path)] = std::move(handler);
}

kube::Result<void> HttpEndpoint::listen(const BindAddress& address) {
  impl_->where = address.host + ":" + std::to_string(address.port);
  boost::system::error_code ec;
  const tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
  if (!ec) impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    return kube::fail(kube::configError(impl_->where, "cannot listen: " + ec.message()));
  }
  impl_->where = address.host + ":" + std::to_string(port());  // the bound port, not 0
  return {};
}

std::uint16_t HttpEndpoint::port() const {
  boost::system::error_code ec;
  const tcp::endpoint endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

std::string HttpEndpoint::address() const { return impl_->where; }

void HttpEndpoint::start() {
  asio::co_spawn(impl_->io, impl_->acceptLoop(), [where = impl_->where](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("http endpoint {}: stopped accepting: {}", where, e.what());
    }
  });
}

void HttpEndpoint::stop() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->acceptRetry.cancel();
}

HttpEndpointStats HttpEndpoint::stats() const { return impl_->stats; }

}  // namespace bisync::ops
