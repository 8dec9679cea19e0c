// HttpEndpoint: the small HTTP/1.1 server behind the daemon's operational endpoints (/metrics,
// /healthz, /readyz), for Prometheus and the kubelet's probes. GET and HEAD only; one request
// per connection (the answer says Connection: close); a request head larger than 8 KiB, or
// not complete within 5 s, closes the connection. Handlers run on the loop and must not block:
// they read counters the loop owns, which is why no locks are needed.
//
// Loop-affine: construct, start and stop on the io_context's thread (or before it runs).
#pragma once

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

class HttpEndpoint {
 public:
  explicit HttpEndpoint(boost::asio::io_context& io);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // Serves `path` (exact match) with `handler`; other paths answer 404.
  void handle(std::string path, HttpHandler handler);
  // Binds and listens; a Config error names the address and the reason (port in use, ...).
  kube::Result<void> listen(const BindAddress& address);
  std::uint16_t port() const;  // the bound port, also when listen() asked for port 0
  void start();                // accepts connections until stop()
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bisync::ops
