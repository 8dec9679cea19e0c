#include "syncer/kube/client.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "syncer/kube/backoff.hpp"
#include "syncer/kube/http_transport.hpp"
#include "syncer/kube/token_bucket.hpp"
#include "syncer/kube/watch_stream.hpp"

namespace bisync::kube {

namespace {

using detail::HttpRequest;
using detail::HttpResponse;
using Query = std::vector<std::pair<std::string, std::string>>;

struct Call {
  std::string method = "GET";
  std::string path;
  Query query;
  std::string body;
  std::string contentType;
  // Safe to send twice: reads, and writes guarded by preconditions or apply semantics.
  bool idempotent = true;
  // For the ForbiddenTracker and errors: the Kubernetes verb and resourceKey(); empty for
  // discovery and raw paths, which are not tracked.
  std::string verb;
  std::string resource;
};

Call callOn(std::string verb, const ResourceInfo& resource) {
  Call call;
  call.verb = std::move(verb);
  call.resource = resourceKey(resource.resource, resource.group);
  return call;
}

std::string escape(std::string_view text) {
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return {};
  std::string result(escaped);
  curl_free(escaped);
  return result;
}

std::string withQuery(std::string path, const Query& query) {
  char separator = '?';
  for (const auto& [key, value] : query) {
    path += separator;
    path += key;
    path += '=';
    path += escape(value);
    separator = '&';
  }
  return path;
}

Error transportError(const HttpResponse& response, const std::string& server) {
  Error error;
  error.origin = server;
  error.message = response.curlMessage;
  switch (response.curlCode) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      error.kind = ErrorKind::Transport;
      error.reason = "ConnectFailed";
      break;
    case CURLE_OPERATION_TIMEDOUT:
      error.kind = ErrorKind::Timeout;
      error.reason = "Timeout";
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      error.kind = ErrorKind::Tls;
      error.reason = "TlsFailed";
      break;
    case CURLE_FAILED_INIT:
    case CURLE_OUT_OF_MEMORY:
      error.kind = ErrorKind::Config;
      error.reason = "RequestSetupFailed";
      break;
    default:
      error.kind = ErrorKind::Transport;
      error.reason = "ConnectionBroken";
      break;
  }
  if (error.message.empty()) error.message = curl_easy_strerror(response.curlCode);
  return error;
}

// Why a finished exchange did not succeed; nullopt for a 2xx answer.
std::optional<Error> exchangeError(const HttpResponse& response, const std::string& server,
                                   std::size_t maxBodyBytes) {
  if (response.bodyTooLarge) {
    Error error = decodeError(
        server, "the response body exceeds the " + std::to_string(maxBodyBytes) + "-byte cap");
    error.reason = "BodyTooLarge";
    return error;
  }
  if (response.curlCode != CURLE_OK) return transportError(response, server);
  if (response.status >= 200 && response.status < 300) return std::nullopt;
  Error error = decodeApiError(static_cast<int>(response.status), response.body, server);
  if (auto header = parseRetryAfterHeader(response.retryAfter); header.count() > 0) {
    error.retryAfter = header;
  }
  return error;
}

// Where requests go. With a tls-server-name, the URL names it (curl verifies the certificate
// against the URL's host and sends it as SNI) and CURLOPT_CONNECT_TO sends the connection to the
// server's own address, as client-go's TLSClientConfig.ServerName does.
struct RequestRoute {
  std::string base;       // what request paths are appended to
  std::string connectTo;  // "" or "<tls-server-name>:<port>:<host>:<port>"
};

RequestRoute routeOf(const RestConfig& config) {
  RequestRoute route{config.server, ""};
  if (config.tlsServerName.empty()) return route;
  CURLU* url = curl_url();
  if (url == nullptr) return route;
  char* host = nullptr;
  char* port = nullptr;
  char* rewritten = nullptr;
  if (curl_url_set(url, CURLUPART_URL, config.server.c_str(), 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_set(url, CURLUPART_HOST, config.tlsServerName.c_str(), 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) {
    route.base = rewritten;
    // curl writes an empty path as "/"; the request paths bring their own.
    if (!route.base.empty() && route.base.back() == '/' && config.server.back() != '/') {
      route.base.pop_back();
    }
    route.connectTo = config.tlsServerName + ":" + port + ":" + host + ":" + port;
  }
  curl_free(host);
  curl_free(port);
  curl_free(rewritten);
  curl_url_cleanup(url);
  return route;
}

bool shouldRetry(const Error& error, bool idempotent) {
  switch (error.kind) {
    case ErrorKind::Transport:
      // A refused connection never reached the server: resending cannot duplicate a write.
      return idempotent || error.reason == "ConnectFailed";
    case ErrorKind::Timeout: return idempotent;
    case ErrorKind::Api:
      if (error.httpStatus == 429) return true;
      return error.isRetryable() && (idempotent || error.retryAfter.count() > 0);
    default: return false;
  }
}

void addWriteOptions(Query& query, const std::string& fieldManager, bool dryRun) {
  if (!fieldManager.empty()) query.emplace_back("fieldManager", fieldManager);
  if (dryRun) query.emplace_back("dryRun", "All");
}

}  // namespace

void WatchCancel::cancel() {
  if (canceled_) return;
  canceled_ = true;
  if (callback_) std::exchange(callback_, nullptr)();
}

void WatchCancel::onCancel(std::function<void()> callback) { callback_ = std::move(callback); }

const JsonValue& ListResult::items() const {
  static const JsonValue kEmpty(rapidjson::kArrayType);
  const JsonValue* found = member(document, "items");
  return found != nullptr && found->IsArray() ? *found : kEmpty;
}

JsonValue& ListResult::items() {
  auto found = document.IsObject() ? document.FindMember("items") : document.MemberEnd();
  if (!document.IsObject()) document.SetObject();
  if (found == document.MemberEnd() || !found->value.IsArray()) {
    document.RemoveMember("items");
    document.AddMember("items", JsonValue(rapidjson::kArrayType), document.GetAllocator());
    found = document.FindMember("items");
  }
  return found->value;
}

struct Client::Impl {
  Impl(asio::io_context& ioContext, RestConfig restConfig, ClientOptions clientOptions)
      : io(ioContext),
        config(std::move(restConfig)),
        options(std::move(clientOptions)),
        credentials(config),
        route(routeOf(config)),
        transport(ioContext),
        bucket(options.qps, options.burst),
        retryBackoff({.base = options.retryBaseDelay,
                      .max = options.retryMaxDelay,
                      .jitter = 0.5,
                      .shape = JitterShape::Symmetric}) {}

  ~Impl() { *alive = false; }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Takes a token now and waits until the bucket would have held it.
  asio::awaitable<void> throttle() {
    const std::chrono::nanoseconds wait = bucket.reserve();
    if (wait <= std::chrono::nanoseconds(0)) co_return;
    ++stats.throttledWaits;
    asio::steady_timer timer(io);
    timer.expires_after(wait);
    co_await timer.async_wait(asio::use_awaitable);
  }

  std::chrono::milliseconds backoff(int attempt, std::chrono::seconds retryAfter) {
    const auto delay =
        std::chrono::duration_cast<std::chrono::milliseconds>(retryBackoff.delay(attempt));
    return std::max<std::chrono::milliseconds>(delay, retryAfter);
  }

  // The credentials for the next request. An exec plugin that is due runs on a worker thread
  // while the loop keeps serving; requests that need it meanwhile wait for that one run and get
  // its outcome (an error included), so one expiry spawns one plugin.
  asio::awaitable<Result<Credentials>> currentCredentials() {
    if (!credentials.pluginDue()) co_return credentials.current();
    if (pluginRun) {
      const std::shared_ptr<PluginRun> run = pluginRun;
      boost::system::error_code woken;
      co_await run->done.async_wait(asio::redirect_error(asio::use_awaitable, woken));
      co_return run->outcome;
    }
    const auto run = std::make_shared<PluginRun>(io);
    pluginRun = run;
    Result<Credentials> fromPlugin = co_await execPluginOnWorker();
    run->outcome = credentials.current(std::move(fromPlugin));
    pluginRun.reset();
    run->done.cancel();
    co_return run->outcome;
  }

  // CredentialProvider::runExecPlugin on the worker thread; the answer comes back on the loop.
  // The worker reads its own copy of the config, so nothing it touches belongs to the loop.
  asio::awaitable<Result<Credentials>> execPluginOnWorker() {
    if (!pluginWorker) pluginWorker = std::make_unique<asio::thread_pool>(1);
    const auto configCopy = std::make_shared<const RestConfig>(config);
    // The initiation captures references only (it runs before the coroutine suspends).
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                            void(Result<Credentials>)>(
        [this, &configCopy](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          asio::post(*pluginWorker, [shared, configCopy, loop = &io, alive = alive] {
            Result<Credentials> answer = CredentialProvider::runExecPlugin(*configCopy);
            asio::post(*loop, [shared, alive, answer = std::move(answer)]() mutable {
              if (*alive) (*shared)(std::move(answer));  // else the Client is gone
            });
          });
        },
        asio::use_awaitable);
  }

  Result<HttpRequest> buildRequest(const Call& call, const Result<Credentials>& creds) {
    if (!creds) return fail(creds.error());
    HttpRequest request;
    request.method = call.method;
    request.url = route.base + withQuery(call.path, call.query);
    request.connectTo = route.connectTo;
    request.body = call.body;
    request.http2 = options.http2;
    request.maxBodyBytes = options.maxResponseBytes;
    request.caData = config.caData;
    request.insecureSkipTlsVerify = config.insecureSkipTlsVerify;
    request.clientCertData = creds->clientCertData;
    request.clientKeyData = creds->clientKeyData;
    request.username = creds->username;
    request.password = creds->password;
    request.headers.push_back("Accept: application/json");
    request.headers.push_back("User-Agent: " + options.userAgent);
    if (!creds->bearerToken.empty()) {
      request.headers.push_back("Authorization: Bearer " + creds->bearerToken);
    }
    if (!call.contentType.empty()) request.headers.push_back("Content-Type: " + call.contentType);
    return request;
  }

  // Runs one HTTP exchange on the loop; `cancel` (may be null) aborts it. Takes references
  // and moves the request out before suspending: g++ 12 destroys by-value coroutine
  // arguments built inside a co_await expression twice.
  asio::awaitable<HttpResponse> perform(HttpRequest& request,
                                        const std::shared_ptr<WatchCancel>& cancel) {
    ++stats.requests;
    if (cancel && cancel->canceled()) {
      HttpResponse response;
      response.canceled = true;
      co_return response;
    }
    // The initiation captures references only (it runs before the coroutine suspends), so
    // no object with a destructor is built inside the co_await expression.
    HttpResponse answer =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(HttpResponse)>(
            [this, &request, &cancel](auto handler) {
              auto shared = std::make_shared<decltype(handler)>(std::move(handler));
              detail::TransferId id = transport.start(
                  std::move(request),
                  [shared](HttpResponse response) { (*shared)(std::move(response)); });
              if (cancel) cancel->onCancel([this, id] { transport.cancel(id); });
            },
            asio::use_awaitable);
    if (answer.http2) ++stats.http2Responses;
    co_return answer;
  }

  // One API call with throttling, retries and credential refresh. Returns the 2xx body.
  asio::awaitable<Result<std::string>> send(const Call& call) {
    bool refreshedCredentials = false;
    for (int attempt = 0;; ++attempt) {
      co_await throttle();
      // Checked after the throttle's wait, right before the request goes out.
      if (call.method != "GET" && writeGate && !writeGate()) {
        Error closed = canceledError(config.server, call.method + " " + call.path +
                                                        ": not sent, this replica may not write "
                                                        "(it does not lead)");
        closed.reason = std::string(kWriteGateClosed);
        co_return fail(std::move(closed));
      }
      const Result<Credentials> creds = co_await currentCredentials();
      Result<HttpRequest> request = buildRequest(call, creds);
      if (!request) co_return fail(request.error());
      request->timeout = options.requestTimeout;
      const std::shared_ptr<WatchCancel> noCancel;
      HttpResponse response = co_await perform(*request, noCancel);
      noteAnswer(call.verb, call.resource, response);
      std::optional<Error> failure =
          exchangeError(response, config.server, options.maxResponseBytes);
      if (!failure) co_return std::move(response.body);
      Error& error = *failure;
      error.verb = call.verb;
      error.resource = call.resource;
      if (error.isUnauthorized() && !refreshedCredentials) {
        refreshedCredentials = true;
        credentials.invalidate();
        continue;
      }
      if (attempt >= options.maxRetries || !shouldRetry(error, call.idempotent)) {
        co_return fail(std::move(error));
      }
      ++stats.retries;
      auto delay = backoff(attempt, error.retryAfter);
      spdlog::debug("{} {}: {}; retry {} in {} ms", call.method, call.path, error.describe(),
                    attempt + 1, delay.count());
      asio::steady_timer timer(io);
      timer.expires_after(delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  // Reports an answer the server gave (not a transport failure) to the ForbiddenTracker, and
  // logs a change of state once: a refused rule shows one line, not one per retry.
  void noteAnswer(const std::string& verb, const std::string& resource,
                  const HttpResponse& response) {
    if (resource.empty() || response.status == 0 || response.canceled) return;
    const PermissionChange change = forbidden.record(verb, resource, response.status);
    const std::string& side = options.side.empty() ? config.server : options.side;
    if (change == PermissionChange::Forbidden) {
      const Error error = decodeApiError(403, response.body, config.server);
      spdlog::warn(
          "forbidden: the {} API server refuses {} on {} ({}); its further 403s are counted, "
          "not logged, until it is permitted again",
          side, verb, resource, error.message);
    } else if (change == PermissionChange::Permitted) {
      spdlog::info("permitted again: the {} API server allows {} on {}", side, verb, resource);
    }
  }

  asio::awaitable<Result<Json>> sendForObject(const Call& call) {
    Result<std::string> body = co_await send(call);
    if (!body) co_return fail(body.error());
    co_return parseJson(*body, config.server + call.path);
  }

  // One exec plugin run in flight: the requests that wait for it, and what it gave.
  struct PluginRun {
    explicit PluginRun(asio::io_context& loop)
        : done(loop, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;  // canceled when the run ends: wakes every waiter
    Result<Credentials> outcome;
  };

  asio::io_context& io;
  RestConfig config;
  ClientOptions options;
  CredentialProvider credentials;
  RequestRoute route;
  std::shared_ptr<PluginRun> pluginRun;             // null when no plugin runs
  std::unique_ptr<asio::thread_pool> pluginWorker;  // made on the first plugin run
  // False once the Impl goes (set before pluginWorker joins): a plugin's late answer is dropped.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  detail::HttpTransport transport;
  ClientStats stats;
  ForbiddenTracker forbidden;
  TokenBucket bucket;               // --qps, --burst
  ExponentialBackoff retryBackoff;  // between the attempts of one request
  std::function<bool()> writeGate;  // setWriteGate
};

Client::Client(asio::io_context& io, RestConfig config, ClientOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(config), std::move(options))) {}

Client::~Client() = default;

const RestConfig& Client::config() const { return impl_->config; }
const std::string& Client::server() const { return impl_->config.server; }
asio::io_context& Client::ioContext() { return impl_->io; }
void Client::setWriteGate(std::function<bool()> open) { impl_->writeGate = std::move(open); }
const ClientStats& Client::stats() const { return impl_->stats; }
const ForbiddenTracker& Client::forbidden() const { return impl_->forbidden; }

asio::awaitable<Result<Json>> Client::get(const ResourceInfo& resource, std::string_view ns,
                                          std::string_view name, std::string_view subresource) {
  Call call = callOn("get", resource);
  call.path = resource.objectPath(ns, name, subresource);
  co_return co_await impl_->sendForObject(call);
}

asio::awaitable<Result<ListResult>> Client::list(const ResourceInfo& resource,
                                                 std::string_view ns) {
  const ListOptions defaults;
  co_return co_await list(resource, ns, defaults);
}

asio::awaitable<Result<ListResult>> Client::list(const ResourceInfo& resource, std::string_view ns,
                                                 const ListOptions& options) {
  Call call = callOn("list", resource);
  call.path = resource.collectionPath(ns);
  if (!options.labelSelector.empty())
    call.query.emplace_back("labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty())
    call.query.emplace_back("fieldSelector", options.fieldSelector);
  if (options.limit > 0) call.query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continueToken.empty()) call.query.emplace_back("continue", options.continueToken);
  if (!options.resourceVersion.empty()) {
    call.query.emplace_back("resourceVersion", options.resourceVersion);
  }
  if (!options.resourceVersionMatch.empty()) {
    call.query.emplace_back("resourceVersionMatch", options.resourceVersionMatch);
  }
  Result<Json> document = co_await impl_->sendForObject(call);
  if (!document) co_return fail(document.error());
  ListResult result;
  result.document = std::move(*document);
  result.resourceVersion = std::string(stringAt(result.document, "/metadata/resourceVersion"));
  result.continueToken = std::string(stringAt(result.document, "/metadata/continue"));
  co_return result;
}

asio::awaitable<Result<void>> Client::watch(const ResourceInfo& resource, std::string_view ns,
                                            const WatchOptions& options,
                                            std::function<void(WatchEvent&&)> onEvent,
                                            std::shared_ptr<WatchCancel> cancel) {
  Call call = callOn("watch", resource);
  call.path = resource.collectionPath(ns);
  call.query.emplace_back("watch", "true");
  if (!options.resourceVersion.empty()) {
    call.query.emplace_back("resourceVersion", options.resourceVersion);
  }
  if (options.allowWatchBookmarks) call.query.emplace_back("allowWatchBookmarks", "true");
  if (options.timeoutSeconds > 0) {
    call.query.emplace_back("timeoutSeconds", std::to_string(options.timeoutSeconds));
  }
  if (!options.labelSelector.empty())
    call.query.emplace_back("labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty())
    call.query.emplace_back("fieldSelector", options.fieldSelector);

  // A local, not the parameter: g++ 12 releases a reassigned by-value coroutine parameter
  // once too often.
  const std::shared_ptr<WatchCancel> stopper = cancel ? cancel : std::make_shared<WatchCancel>();
  co_await impl_->throttle();
  const Result<Credentials> creds = co_await impl_->currentCredentials();
  Result<HttpRequest> request = impl_->buildRequest(call, creds);
  if (!request) co_return fail(request.error());
  if (options.timeoutSeconds > 0) {
    // The server ends the watch at timeoutSeconds; this only catches a server that hangs.
    request->timeout = std::chrono::seconds(options.timeoutSeconds + 60);
  }

  // The stream callback runs inside curl; an ERROR event or undecodable data ends the
  // watch by canceling the transfer, and the reason is kept here.
  struct StreamState {
    WatchStreamParser parser;
    std::optional<Error> endedBy;
  };
  const JsonLimits eventLimits{kMaxWatchEventDepth, impl_->options.maxWatchEventBytes};
  auto state = std::make_shared<StreamState>(
      StreamState{WatchStreamParser(impl_->config.server, eventLimits), {}});
  const std::string& server = impl_->config.server;
  request->onStreamData = [state, stopper, onEvent, &server](std::string_view chunk) {
    if (state->endedBy) return;
    Result<void> fed = state->parser.feed(chunk, [&](WatchEvent&& event) {
      if (state->endedBy) return;
      if (event.type == WatchEventType::Error) {
        Error error = decodeApiError(0, toJson(event.object), server);
        if (error.httpStatus == 0) error.httpStatus = 500;
        state->endedBy = std::move(error);
      }
      onEvent(std::move(event));
    });
    if (!fed) state->endedBy = fed.error();
    if (state->endedBy) stopper->cancel();
  };
  // A watch may stream for minutes: its permission is known when the headers arrive, so a
  // forbidden watch clears as soon as one is accepted again.
  Impl* impl = impl_.get();
  request->onHeadersDone = [impl, call](long status) {
    HttpResponse headers;
    headers.status = status;
    impl->noteAnswer(call.verb, call.resource, headers);
  };
  ++impl_->stats.watchesStarted;
  HttpResponse response = co_await impl_->perform(*request, stopper);
  if (state->endedBy) co_return fail(std::move(*state->endedBy));
  if (response.canceled) co_return fail(canceledError(server, "the request was canceled"));
  if (std::optional<Error> failure =
          exchangeError(response, server, impl_->options.maxResponseBytes)) {
    failure->verb = call.verb;
    failure->resource = call.resource;
    co_return fail(std::move(*failure));
  }
  if (state->parser.pendingBytes() > 0) {
    co_return fail(decodeError(server, "the watch stream ended inside an event"));
  }
  co_return Result<void>{};
}

asio::awaitable<Result<Json>> Client::create(const ResourceInfo& resource, std::string_view ns,
                                             const JsonValue& object) {
  const WriteOptions defaults;
  co_return co_await create(resource, ns, object, defaults);
}

asio::awaitable<Result<Json>> Client::create(const ResourceInfo& resource, std::string_view ns,
                                             const JsonValue& object, const WriteOptions& options) {
  Call call = callOn("create", resource);
  call.method = "POST";
  call.path = resource.collectionPath(ns);
  call.body = toJson(object);
  call.contentType = "application/json";
  call.idempotent = false;  // a resent create may answer AlreadyExists
  addWriteOptions(call.query, options.fieldManager, options.dryRun);
  co_return co_await impl_->sendForObject(call);
}

asio::awaitable<Result<Json>> Client::createSubresource(const ResourceInfo& resource,
                                                        std::string_view ns, std::string_view name,
                                                        std::string_view subresource,
                                                        const JsonValue& body) {
  Call call = callOn("create", resource);
  call.resource += "/" + std::string(subresource);  // as RBAC names it: pods/binding
  call.method = "POST";
  call.path = resource.objectPath(ns, name, subresource);
  call.body = toJson(body);
  call.contentType = "application/json";
  call.idempotent = false;
  co_return co_await impl_->sendForObject(call);
}

asio::awaitable<Result<Json>> Client::update(const ResourceInfo& resource, std::string_view ns,
                                             const JsonValue& object,
                                             std::string_view subresource) {
  const WriteOptions defaults;
  co_return co_await update(resource, ns, object, subresource, defaults);
}

asio::awaitable<Result<Json>> Client::update(const ResourceInfo& resource, std::string_view ns,
                                             const JsonValue& object, std::string_view subresource,
                                             const WriteOptions& options) {
  Call call = callOn("update", resource);
  call.method = "PUT";
  call.path = resource.objectPath(ns, nameOf(object), subresource);
  call.body = toJson(object);
  call.contentType = "application/json";
  // With a resourceVersion precondition, a resent update is refused, never applied twice.
  call.idempotent = !resourceVersionOf(object).empty();
  addWriteOptions(call.query, options.fieldManager, options.dryRun);
  co_return co_await impl_->sendForObject(call);
}

asio::awaitable<Result<void>> Client::remove(const ResourceInfo& resource, std::string_view ns,
                                             std::string_view name) {
  const DeleteOptions defaults;
  co_return co_await remove(resource, ns, name, defaults);
}

asio::awaitable<Result<void>> Client::remove(const ResourceInfo& resource, std::string_view ns,
                                             std::string_view name, const DeleteOptions& options) {
  Json body(rapidjson::kObjectType);
  auto& allocator = body.GetAllocator();
  body.AddMember("kind", "DeleteOptions", allocator);
  body.AddMember("apiVersion", "v1", allocator);
  if (!options.uid.empty() || !options.resourceVersion.empty()) {
    JsonValue preconditions(rapidjson::kObjectType);
    if (!options.uid.empty())
      preconditions.AddMember("uid", JsonValue(options.uid, allocator), allocator);
    if (!options.resourceVersion.empty()) {
      preconditions.AddMember("resourceVersion", JsonValue(options.resourceVersion, allocator),
                              allocator);
    }
    body.AddMember("preconditions", preconditions, allocator);
  }
  if (!options.propagationPolicy.empty()) {
    body.AddMember("propagationPolicy", JsonValue(options.propagationPolicy, allocator), allocator);
  }
  if (options.gracePeriodSeconds) {
    body.AddMember("gracePeriodSeconds", *options.gracePeriodSeconds, allocator);
  }
  Call call = callOn("delete", resource);
  call.method = "DELETE";
  call.path = resource.objectPath(ns, name);
  call.body = toJson(body);
  call.contentType = "application/json";
  Result<std::string> answer = co_await impl_->send(call);
  if (!answer) co_return fail(answer.error());
  co_return Result<void>{};
}

asio::awaitable<Result<Json>> Client::patch(const ResourceInfo& resource, std::string_view ns,
                                            std::string_view name, PatchType type,
                                            std::string_view body) {
  const PatchOptions defaults;
  co_return co_await patch(resource, ns, name, type, body, defaults);
}

asio::awaitable<Result<Json>> Client::patch(const ResourceInfo& resource, std::string_view ns,
                                            std::string_view name, PatchType type,
                                            std::string_view body, const PatchOptions& options) {
  Call call = callOn("patch", resource);
  call.method = "PATCH";
  call.path = resource.objectPath(ns, name, options.subresource);
  call.body = std::string(body);
  switch (type) {
    case PatchType::Merge: call.contentType = "application/merge-patch+json"; break;
    case PatchType::JsonPatch: call.contentType = "application/json-patch+json"; break;
    case PatchType::Strategic: call.contentType = "application/strategic-merge-patch+json"; break;
    case PatchType::Apply: call.contentType = "application/apply-patch+yaml"; break;
  }
  // Merge and apply patches state the end result, so sending one twice is harmless; a JSON
  // patch may add to a list twice.
  call.idempotent = type != PatchType::JsonPatch;
  addWriteOptions(call.query, options.fieldManager, options.dryRun);
  if (type == PatchType::Apply && options.force) call.query.emplace_back("force", "true");
  co_return co_await impl_->sendForObject(call);
}

asio::awaitable<Result<Json>> Client::apply(const ResourceInfo& resource, std::string_view ns,
                                            std::string_view name, const JsonValue& object,
                                            const ApplyOptions& options) {
  if (options.fieldManager.empty()) {
    co_return fail(configError(impl_->config.server, "server-side apply needs a field manager"));
  }
  PatchOptions patchOptions;
  patchOptions.fieldManager = options.fieldManager;
  patchOptions.force = options.force;
  patchOptions.subresource = options.subresource;
  const std::string body = toJson(object);
  co_return co_await patch(resource, ns, name, PatchType::Apply, body, patchOptions);
}

asio::awaitable<Result<Json>> Client::getPath(std::string_view path) {
  Call call;
  call.path = std::string(path);
  co_return co_await impl_->sendForObject(call);
}

}  // namespace bisync::kube
