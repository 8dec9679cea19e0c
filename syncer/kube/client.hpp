// The Kubernetes REST client: every verb the syncer needs, against one API server.
//
// All I/O runs on one boost::asio::io_context through libcurl's multi-socket interface
// (HTTP/2 where the server offers it), so hundreds of requests and watches share one
// thread. Every method is an Asio coroutine that must be awaited on that io_context's
// thread; the Client is not thread-safe and needs no locks.
//
// Coroutine rule (g++ 12): a class temporary holding a std::string that appears in a co_await
// expression, a defaulted "= {}" argument included, is relocated bitwise and its destructor
// frees a bad pointer (GCC PR 95599 family). So these methods take no defaulted options:
// overloads without them exist, and callers inside coroutines pass named objects.
//
// Errors come back as Result values (see error.hpp). Requests are throttled by a
// client-side token bucket (qps/burst, like client-go). Retryable failures (429, 5xx,
// transport errors) are retried with exponential backoff and jitter, honouring
// Retry-After (capped at kMaxRetryAfter): reads always, writes only when the request cannot have
// reached the server or the server said so (429 and 503 with Retry-After). A 401 re-reads
// credentials once. What a server sends is bounded: response bodies, watch events and JSON
// nesting have caps (below and json.hpp), so a hostile server cannot exhaust memory or stack.
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

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "syncer/kube/discovery.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/forbidden_tracker.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/kubeconfig.hpp"
#include "syncer/kube/resource.hpp"
#include "syncer/kube/watch_event.hpp"

namespace bisync::kube {

namespace asio = boost::asio;

// The largest response body the client collects (lists, gets, error answers). It is parsed
// whole, so it may be as large as parseJson accepts: a list page of 500 objects of up to
// 1.5 MiB (etcd's default request limit) fits. Larger bodies abort the transfer and are a Decode
// error with reason "BodyTooLarge" naming the cap.
inline constexpr std::size_t kMaxResponseBytes = kMaxJsonBytes;

struct ClientOptions {
  double qps = 50;  // client-side rate limit; <= 0 disables it
  int burst = 100;
  std::string userAgent = "kube-bisync";
  std::chrono::milliseconds requestTimeout{30000};  // per request, not for watches
  int maxRetries = 5;
  // Retry n (from 0) waits retryBaseDelay * 2^n stretched by +-50%, at most retryMaxDelay, and
  // at least what Retry-After asked for.
  std::chrono::milliseconds retryBaseDelay{200};
  std::chrono::milliseconds retryMaxDelay{10000};
  bool http2 = true;
  std::size_t maxResponseBytes = kMaxResponseBytes;
  std::size_t maxWatchEventBytes = kMaxWatchEventBytes;
  // Names the server in log lines ("source", "target"); its URL when empty.
  std::string side;
};

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t limit = 0;  // 0: no paging
  std::string continueToken;
  std::string resourceVersion;
  std::string resourceVersionMatch;  // "NotOlderThan" | "Exact" | ""
};

struct ListResult {
  Json document;  // the whole List object as the server sent it
  std::string resourceVersion;
  std::string continueToken;
  // The items array (empty array when absent).
  const JsonValue& items() const;
  JsonValue& items();
};

struct WatchOptions {
  std::string resourceVersion;
  bool allowWatchBookmarks = true;
  int timeoutSeconds = 0;  // server-side end of the watch; 0: server default
  std::string labelSelector;
  std::string fieldSelector;
};

// Stops a watch from outside the coroutine that awaits it.
class WatchCancel {
 public:
  void cancel();
  bool canceled() const { return canceled_; }
  // used by the client: called on cancel()
  void onCancel(std::function<void()> callback);

 private:
  bool canceled_ = false;
  std::function<void()> callback_;
};

struct WriteOptions {
  std::string fieldManager;
  bool dryRun = false;
};

struct DeleteOptions {
  std::string uid;                // precondition: delete only this incarnation
  std::string resourceVersion;    // precondition: delete only this version
  std::string propagationPolicy;  // "Background" | "Foreground" | "Orphan" | ""
  std::optional<std::int64_t> gracePeriodSeconds;
};

enum class PatchType { Merge, JsonPatch, Strategic, Apply };

struct PatchOptions {
  std::string fieldManager;
  bool force = false;  // only for Apply
  std::string subresource;
  bool dryRun = false;
};

struct ApplyOptions {
  std::string fieldManager;  // required
  bool force = false;
  std::string subresource;  // "status" for the status subresource
};

struct ClientStats {
  std::uint64_t requests = 0;
  std::uint64_t http2Responses = 0;  // answers that came over HTTP/2
  std::uint64_t retries = 0;
  std::uint64_t watchesStarted = 0;
  std::uint64_t throttledWaits = 0;
};

class Client {
 public:
  Client(asio::io_context& io, RestConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const RestConfig& config() const;
  const std::string& server() const;
  asio::io_context& ioContext();
  const ClientStats& stats() const;
  // Which verbs on which resources this server answers with 403 (every request reports to it).
  const ForbiddenTracker& forbidden() const;

  // The write gate (leader election): consulted before every attempt of a mutating request
  // (POST, PUT, PATCH, DELETE). When it answers false the request fails at once with a Canceled
  // error for which Error::isWriteGateClosed() holds, and is never sent. Unset: writes may go.
  void setWriteGate(std::function<bool()> open);

  asio::awaitable<Result<Json>> get(const ResourceInfo& resource, std::string_view ns,
                                    std::string_view name, std::string_view subresource = {});
  asio::awaitable<Result<ListResult>> list(const ResourceInfo& resource, std::string_view ns);
  asio::awaitable<Result<ListResult>> list(const ResourceInfo& resource, std::string_view ns,
                                           const ListOptions& options);
  // Streams events to onEvent (on the loop thread) until the server ends the watch (returns
  // success), the stream breaks or the server refuses (returns the error; a 410 is
  // Error::isGone()), or `cancel` fires (returns a Canceled error). An ERROR event is
  // delivered to onEvent like any other; the watch then ends.
  asio::awaitable<Result<void>> watch(const ResourceInfo& resource, std::string_view ns,
                                      const WatchOptions& options,
                                      std::function<void(WatchEvent&&)> onEvent,
                                      std::shared_ptr<WatchCancel> cancel = nullptr);
  asio::awaitable<Result<Json>> create(const ResourceInfo& resource, std::string_view ns,
                                       const JsonValue& object);
  asio::awaitable<Result<Json>> create(const ResourceInfo& resource, std::string_view ns,
                                       const JsonValue& object, const WriteOptions& options);
  // POST to a subresource of the object `name`: a Pod's binding or eviction, a ServiceAccount's
  // token. Not retried on its own (a resent POST may act twice); returns the server's answer.
  asio::awaitable<Result<Json>> createSubresource(const ResourceInfo& resource, std::string_view ns,
                                                  std::string_view name,
                                                  std::string_view subresource,
                                                  const JsonValue& body);
  // PUT; the object's metadata.resourceVersion is the optimistic-concurrency precondition.
  asio::awaitable<Result<Json>> update(const ResourceInfo& resource, std::string_view ns,
                                       const JsonValue& object, std::string_view subresource = {});
  asio::awaitable<Result<Json>> update(const ResourceInfo& resource, std::string_view ns,
                                       const JsonValue& object, std::string_view subresource,
                                       const WriteOptions& options);
  asio::awaitable<Result<void>> remove(const ResourceInfo& resource, std::string_view ns,
                                       std::string_view name);
  asio::awaitable<Result<void>> remove(const ResourceInfo& resource, std::string_view ns,
                                       std::string_view name, const DeleteOptions& options);
  asio::awaitable<Result<Json>> patch(const ResourceInfo& resource, std::string_view ns,
                                      std::string_view name, PatchType type, std::string_view body);
  asio::awaitable<Result<Json>> patch(const ResourceInfo& resource, std::string_view ns,
                                      std::string_view name, PatchType type, std::string_view body,
                                      const PatchOptions& options);
  // Server-side apply with a JSON body (YAML is a superset, JSON is what we send).
  asio::awaitable<Result<Json>> apply(const ResourceInfo& resource, std::string_view ns,
                                      std::string_view name, const JsonValue& object,
                                      const ApplyOptions& options);
  // GET of an arbitrary path ("/version", "/apis"), decoded as JSON.
  asio::awaitable<Result<Json>> getPath(std::string_view path);
  // Resolves a kind to its resource from the server's discovery documents (cached). NotFound
  // (404) when the server does not serve it, its group version included; other errors (a 503
  // from an aggregated API whose backend is down, ...) as they came.
  asio::awaitable<Result<ResourceInfo>> discover(const GroupVersionKind& gvk);
  // Resolves one --resources item: plural -> core group v1 (/api/v1); plural.group -> the
  // group's preferred version (/apis/<group>) then its resource list; Kind form -> discover().
  // NotFound (404) when the server does not serve it.
  asio::awaitable<Result<ResourceInfo>> resolve(const ResourceSpec& spec);
  // Drops every cached discovery document: the next discover()/resolve() asks the server again
  // (the syncer calls it before each run-time rediscovery round, so a CRD created meanwhile is
  // seen).
  void forgetDiscovery();

 private:
  // A discovery document by path, from the cache or the server (then cached; errors are not).
  // Shared, so that forgetDiscovery() while a coroutine still reads one cannot free it.
  asio::awaitable<Result<std::shared_ptr<const Json>>> discoveryDocument(const std::string& path);
  // The resource `wanted` in the resource list of `group`/`version`; NotFound saying the server
  // does not serve `what` when the list lacks it or the server has no such group version.
  asio::awaitable<Result<ResourceInfo>> findResource(const std::string& group,
                                                     const std::string& version,
                                                     const ResourceSpec& wanted,
                                                     const std::string& what);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  // "/api/v1", "/apis/apps", "/apis/apps/v1" -> the document the server answered
  std::map<std::string, std::shared_ptr<const Json>, std::less<>> discoveryCache_;
};

}  // namespace bisync::kube
