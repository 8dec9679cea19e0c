// Internal to syncer/kube: libcurl's multi-socket interface driven by a boost::asio
// io_context (the pattern of curl's docs/examples/asiohiper.cpp). Curl tells us which
// sockets to wait on and when its timer fires; Asio waits and hands readiness back.
// Every transfer, watches included, shares the one loop thread. Loop-affine, no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace bisync::kube::detail {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{0};  // whole transfer; 0 = none
  std::chrono::milliseconds connectTimeout{10000};
  bool http2 = true;
  // TLS and authentication
  std::string caData;  // PEM
  bool insecureSkipTlsVerify = false;
  std::string clientCertData;  // PEM
  std::string clientKeyData;   // PEM
  // CURLOPT_CONNECT_TO "HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT": the URL names the host the
  // certificate must be for (tls-server-name, also the SNI), this the address to connect to.
  std::string connectTo;
  std::string username;
  std::string password;
  // When set, a 2xx body is handed over chunk by chunk instead of being collected (watches).
  std::function<void(std::string_view chunk)> onStreamData;
  // When set, called with the final HTTP status once the response headers are complete (before
  // any body): a long stream's answer is known without waiting for its end.
  std::function<void(long status)> onHeadersDone;
  // A collected body growing past this aborts the transfer (HttpResponse::bodyTooLarge). The
  // client sets ClientOptions::maxResponseBytes; streamed data is the stream consumer's to cap.
  std::size_t maxBodyBytes = std::numeric_limits<std::size_t>::max();
};

struct HttpResponse {
  CURLcode curlCode = CURLE_OK;
  std::string curlMessage;  // curl's error text when curlCode != CURLE_OK
  long status = 0;
  std::string body;        // collected body (for streams: only a non-2xx body)
  std::string retryAfter;  // Retry-After header, if any
  bool canceled = false;
  bool bodyTooLarge = false;  // aborted: the body would have exceeded request.maxBodyBytes
  bool http2 = false;         // the exchange ran over HTTP/2
};

using TransferId = std::uint64_t;

class HttpTransport {
 public:
  explicit HttpTransport(boost::asio::io_context& io);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Starts a transfer; onDone is posted to the loop when it ends (never called inline).
  TransferId start(HttpRequest request, std::function<void(HttpResponse)> onDone);
  // Aborts a transfer; its onDone gets a response with canceled = true. Safe to call from
  // inside a stream callback: the removal is posted.
  void cancel(TransferId id);

 private:
  struct Transfer;
  struct SocketWatch;

  static int onSocket(CURL* easy, curl_socket_t socket, int what, void* self, void* socketp);
  static int onTimer(CURLM* multi, long timeoutMs, void* self);
  static std::size_t onWrite(char* data, std::size_t size, std::size_t count, void* transfer);
  static std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* transfer);

  void watchSocket(curl_socket_t socket, int what);
  void armSocket(const std::shared_ptr<SocketWatch>& watch);
  void socketReady(curl_socket_t socket, int action);
  void timerFired();
  void collectFinished();
  void finish(TransferId id, CURLcode code, bool canceled);
  bool configure(Transfer& transfer);

  boost::asio::io_context& io_;
  CURLM* multi_;
  boost::asio::steady_timer timer_;
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketWatch>> sockets_;
  std::unordered_map<TransferId, std::unique_ptr<Transfer>> transfers_;
  TransferId nextId_ = 1;
  std::shared_ptr<bool> alive_;
};

}  // namespace bisync::kube::detail
