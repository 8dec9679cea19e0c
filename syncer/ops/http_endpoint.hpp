// HttpEndpoint: the small HTTP/1.1 server behind the daemon's operational endpoints (/metrics,
// /healthz, /readyz), for Prometheus and the kubelet's probes. GET and HEAD only; one request
// per connection (the answer says Connection: close); a request head larger than 8 KiB, or
// not complete within 5 s, closes the connection. Handlers run on the loop and must not block:
// they read counters the loop owns, which is why no locks are needed.
//
// It protects the daemon from its clients: at most `maxConnections` connections are open at a
// time (a connection beyond that is closed at once and counted), and when accept() fails
// (EMFILE when the process is out of file descriptors, ENFILE, ENOBUFS, ENOMEM, ...) it waits
// before the next try, doubling the wait up to a cap, instead of spinning on a listening
// socket that stays readable. Each episode is logged once when it starts and once when it ends.
//
// Loop-affine: construct, start and stop on the io_context's thread (or before it runs).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "syncer/kube/error.hpp"

namespace bisync::ops {

struct HttpResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse()>;

struct BindAddress {
  std::string host;  // "0.0.0.0" for every interface
  std::uint16_t port = 0;
};

// Parses a bind flag as controller-runtime reads it: "host:port", ":port" (every interface),
// "[v6-address]:port"; "0" turns the endpoint off (nullopt). A Config error, naming `flag`,
// for anything else.
kube::Result<std::optional<BindAddress>> parseBindAddress(std::string_view text,
                                                          std::string_view flag);

struct RequestLine {
  std::string method;
  std::string path;  // the target without its query string
};

// The request line of an HTTP/1.x request head ("GET /metrics?x=1 HTTP/1.1\r\n..."); nullopt
// when it is not one.
std::optional<RequestLine> parseRequestLine(std::string_view head);

struct HttpEndpointOptions {
  std::size_t maxConnections = 64;
  std::chrono::milliseconds acceptBackoff{100};  // after the first failed accept, then doubled
  std::chrono::milliseconds maxAcceptBackoff{1000};
};

struct HttpEndpointStats {
  std::size_t openConnections = 0;
  std::uint64_t rejectedConnections = 0;  // closed at once because maxConnections were open
  std::uint64_t acceptFailures = 0;       // failed accept() calls, each followed by a wait
};

class HttpEndpoint {
 public:
  explicit HttpEndpoint(boost::asio::io_context& io, HttpEndpointOptions options = {});
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // Serves `path` (exact match) with `handler`; other paths answer 404.
  void handle(std::string path, HttpHandler handler);
  // Binds and listens; a Config error names the address and the reason (port in use, ...).
  kube::Result<void> listen(const BindAddress& address);
  std::uint16_t port() const;   // the bound port, also when listen() asked for port 0
  std::string address() const;  // "127.0.0.1:8081", the bound port included, after listen()
  void start();                 // accepts connections until stop()
  void stop();
  HttpEndpointStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bisync::ops
