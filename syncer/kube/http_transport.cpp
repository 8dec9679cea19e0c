#include "syncer/kube/http_transport.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <cctype>
#include <utility>

namespace bisync::kube::detail {

namespace asio = boost::asio;

struct HttpTransport::Transfer {
  TransferId id = 0;
  HttpTransport* owner = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* connectTo = nullptr;
  HttpRequest request;
  HttpResponse response;
  std::function<void(HttpResponse)> onDone;
  char errorBuffer[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
    if (connectTo != nullptr) curl_slist_free_all(connectTo);
  }
};

// One socket curl asked us to watch. Curl owns the descriptor: we only release() it,
// never close it, and curl always reports CURL_POLL_REMOVE before it closes a socket.
struct HttpTransport::SocketWatch {
  explicit SocketWatch(asio::io_context& io, curl_socket_t fd) : descriptor(io, fd), socket(fd) {}
  ~SocketWatch() {
    if (descriptor.is_open()) descriptor.release();
  }
  asio::posix::stream_descriptor descriptor;
  curl_socket_t socket;
  int wanted = 0;  // CURL_POLL_IN / OUT / INOUT
  bool readArmed = false;
  bool writeArmed = false;
};

HttpTransport::HttpTransport(asio::io_context& io)
    : io_(io), multi_(curl_multi_init()), timer_(io), alive_(std::make_shared<bool>(true)) {
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpTransport::onSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpTransport::onTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

HttpTransport::~HttpTransport() {
  *alive_ = false;
  for (auto& [id, transfer] : transfers_) curl_multi_remove_handle(multi_, transfer->easy);
  transfers_.clear();
  sockets_.clear();
  curl_multi_cleanup(multi_);
}

TransferId HttpTransport::start(HttpRequest request, std::function<void(HttpResponse)> onDone) {
  auto transfer = std::make_unique<Transfer>();
  transfer->id = nextId_++;
  transfer->owner = this;
  transfer->request = std::move(request);
  transfer->onDone = std::move(onDone);
  transfer->easy = curl_easy_init();
  TransferId id = transfer->id;
  Transfer& ref = *transfer;
  transfers_.emplace(id, std::move(transfer));
  if (ref.easy == nullptr || !configure(ref)) {
    asio::post(io_, [this, id, alive = alive_] {
      if (*alive) finish(id, CURLE_FAILED_INIT, false);
    });
    return id;
  }
  curl_multi_add_handle(multi_, ref.easy);
  return id;
}

void HttpTransport::cancel(TransferId id) {
  asio::post(io_, [this, id, alive = alive_] {
    if (!*alive) return;
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    curl_multi_remove_handle(multi_, it->second->easy);
    finish(id, CURLE_ABORTED_BY_CALLBACK, true);
  });
}

bool HttpTransport::configure(Transfer& transfer) {
  CURL* easy = transfer.easy;
  const HttpRequest& request = transfer.request;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpTransport::onWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &HttpTransport::onHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                   request.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  // Wait for an existing HTTP/2 connection rather than opening a second one.
  curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connectTimeout.count()));
  if (request.timeout.count() > 0) {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  }

  if (!request.caData.empty()) {
    curl_blob ca{const_cast<char*>(request.caData.data()), request.caData.size(), CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (request.insecureSkipTlsVerify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!request.clientCertData.empty()) {
    curl_blob cert{const_cast<char*>(request.clientCertData.data()), request.clientCertData.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(request.clientKeyData.data()), request.clientKeyData.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (!request.connectTo.empty()) {
    transfer.connectTo = curl_slist_append(nullptr, request.connectTo.c_str());
    if (transfer.connectTo == nullptr) return false;
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, transfer.connectTo);
  }
  if (!request.username.empty()) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, request.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, request.password.c_str());
  }

  for (const std::string& header : request.headers) {
    curl_slist* grown = curl_slist_append(transfer.headers, header.c_str());
    if (grown == nullptr) return false;
    transfer.headers = grown;
  }
  // Kubernetes answers quickly; curl's default "Expect: 100-continue" only adds a round trip.
  curl_slist* grown = curl_slist_append(transfer.headers, "Expect:");
  if (grown == nullptr) return false;
  transfer.headers = grown;
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);

  if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  return true;
}

std::size_t HttpTransport::onWrite(char* data, std::size_t size, std::size_t count, void* self) {
  auto& transfer = *static_cast<Transfer*>(self);
  std::size_t bytes = size * count;
  if (transfer.response.status == 0) {
    curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  }
  bool success = transfer.response.status >= 200 && transfer.response.status < 300;
  if (success && transfer.request.onStreamData) {
    transfer.request.onStreamData(std::string_view(data, bytes));
    return bytes;
  }
  if (bytes > transfer.request.maxBodyBytes - transfer.response.body.size()) {
    transfer.response.bodyTooLarge = true;
    return 0;  // fewer bytes than offered: curl aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer.response.body.append(data, bytes);
  return bytes;
}

std::size_t HttpTransport::onHeader(char* data, std::size_t size, std::size_t count, void* self) {
  auto& transfer = *static_cast<Transfer*>(self);
  std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if ((line == "\r\n" || line == "\n") && transfer.request.onHeadersDone) {
    long status = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) transfer.request.onHeadersDone(status);  // not a 1xx interim answer
    return bytes;
  }
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    bool matches = true;
    for (std::size_t i = 0; i < kRetryAfter.size() && matches; ++i) {
      matches = std::tolower(static_cast<unsigned char>(line[i])) == kRetryAfter[i];
    }
    if (matches) {
      std::string_view value = line.substr(kRetryAfter.size());
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
        value.remove_prefix(1);
      }
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
        value.remove_suffix(1);
      }
      transfer.response.retryAfter = std::string(value);
    }
  }
  return bytes;
}

int HttpTransport::onSocket(CURL*, curl_socket_t socket, int what, void* self, void*) {
  static_cast<HttpTransport*>(self)->watchSocket(socket, what);
  return 0;
}

int HttpTransport::onTimer(CURLM*, long timeoutMs, void* self) {
  auto& transport = *static_cast<HttpTransport*>(self);
  transport.timer_.cancel();
  if (timeoutMs < 0) return 0;
  transport.timer_.expires_after(std::chrono::milliseconds(timeoutMs));
  transport.timer_.async_wait([&transport, alive = transport.alive_](boost::system::error_code ec) {
    if (!ec && *alive) transport.timerFired();
  });
  return 0;
}

void HttpTransport::watchSocket(curl_socket_t socket, int what) {
  if (what == CURL_POLL_REMOVE) {
    auto it = sockets_.find(socket);
    if (it != sockets_.end()) {
      // Deregister now: curl closes the socket next, and the number may be reused at once.
      it->second->wanted = 0;
      it->second->descriptor.release();
      sockets_.erase(it);
    }
    return;
  }
  auto& watch = sockets_[socket];
  if (!watch) watch = std::make_shared<SocketWatch>(io_, socket);
  watch->wanted = what;
  armSocket(watch);
}

void HttpTransport::armSocket(const std::shared_ptr<SocketWatch>& watch) {
  auto arm = [&](bool& armed, asio::posix::descriptor_base::wait_type type, int action) {
    armed = true;
    watch->descriptor.async_wait(
        type, [this, watch, &armed, action, alive = alive_](boost::system::error_code ec) {
          armed = false;
          if (ec || !*alive) return;
          socketReady(watch->socket, action);
        });
  };
  if ((watch->wanted & CURL_POLL_IN) != 0 && !watch->readArmed) {
    arm(watch->readArmed, asio::posix::descriptor_base::wait_read, CURL_CSELECT_IN);
  }
  if ((watch->wanted & CURL_POLL_OUT) != 0 && !watch->writeArmed) {
    arm(watch->writeArmed, asio::posix::descriptor_base::wait_write, CURL_CSELECT_OUT);
  }
}

void HttpTransport::socketReady(curl_socket_t socket, int action) {
  int running = 0;
  curl_multi_socket_action(multi_, socket, action, &running);
  collectFinished();
  // Curl may still want this socket (and did not say so again): wait on it once more.
  auto it = sockets_.find(socket);
  if (it != sockets_.end()) armSocket(it->second);
}

void HttpTransport::timerFired() {
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  collectFinished();
}

void HttpTransport::collectFinished() {
  int pending = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &pending)) {
    if (message->msg != CURLMSG_DONE) continue;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
    CURLcode code = message->data.result;
    curl_multi_remove_handle(multi_, message->easy_handle);
    if (transfer != nullptr) finish(transfer->id, code, false);
  }
}

void HttpTransport::finish(TransferId id, CURLcode code, bool canceled) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  std::unique_ptr<Transfer> transfer = std::move(it->second);
  transfers_.erase(it);
  HttpResponse response = std::move(transfer->response);
  response.canceled = canceled;
  response.curlCode = canceled ? CURLE_OK : code;
  if (transfer->easy != nullptr && response.status == 0) {
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &response.status);
  }
  long version = 0;
  if (transfer->easy != nullptr &&
      curl_easy_getinfo(transfer->easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK) {
    response.http2 = version == CURL_HTTP_VERSION_2_0;
  }
  if (code != CURLE_OK && !canceled) {
    response.curlMessage = transfer->errorBuffer[0] != '\0' ? std::string(transfer->errorBuffer)
                                                            : curl_easy_strerror(code);
  }
  asio::post(io_, [done = std::move(transfer->onDone), response = std::move(response)]() mutable {
    done(std::move(response));
  });
}

}  // namespace bisync::kube::detail
