#include "syncer/kube/informer.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <random>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/kube/backoff.hpp"

namespace bisync::kube {

namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// A watch that ends normally this fast without any event is treated as a server problem, so a
// misbehaving server cannot make us spin.
constexpr auto kShortestNormalWatch = std::chrono::seconds(1);

// Exponential backoff with jitter, like client-go's reflector: each delay is the current step
// stretched by up to half of it, and the step doubles up to the maximum; reset() starts again
// from the first step.
class ReconnectBackoff {
 public:
  ReconnectBackoff(Millis initial, Millis max, ExponentialBackoff::RandomSource random)
      : backoff_({.base = std::max(initial, Millis(1)),
                  .max = max,
                  .jitter = 0.5,
                  .shape = JitterShape::UpOnly},
                 std::move(random)) {}

  Millis next() {
    const Millis delay = std::chrono::duration_cast<Millis>(backoff_.delay(failures_));
    failures_ = std::min(failures_ + 1, kMostDoublings);
    return delay;
  }
  void reset() { failures_ = 0; }

 private:
  static constexpr int kMostDoublings = 64;  // long past any max: the count cannot overflow
  ExponentialBackoff backoff_;
  int failures_ = 0;
};

enum class WatchEnd {
  Expired,  // the server ended the watch normally (its timeout): resume from lastRV
  Gone,     // 410: our resourceVersion is too old, relist
  Failed,   // ERROR event, broken stream, refused request: back off, relist
  Stopped,
};

struct WatchOutcome {
  WatchEnd end = WatchEnd::Expired;
  std::uint64_t events = 0;
};

// One list request that runs while the caller does other work: start() sends it, wait()
// completes with its answer.
class PageFetch : public std::enable_shared_from_this<PageFetch> {
 public:
  static std::shared_ptr<PageFetch> start(Client& client, const ResourceInfo& resource,
                                          const std::string& ns, ListOptions request) {
    auto fetch = std::make_shared<PageFetch>(client.ioContext());
    asio::co_spawn(client.ioContext(), run(fetch, client, resource, ns, std::move(request)),
                   asio::detached);
    return fetch;
  }

  explicit PageFetch(asio::io_context& io) : done_(io, asio::steady_timer::time_point::max()) {}

  // Parameters, not lambda captures: a coroutine's frame keeps copies of its parameters only.
  static asio::awaitable<void> run(std::shared_ptr<PageFetch> fetch, Client& client,
                                   const ResourceInfo& resource, std::string ns,
                                   ListOptions request) {
    fetch->result_ = co_await client.list(resource, ns, request);
    fetch->done_.cancel();
  }

  asio::awaitable<Result<ListResult>> wait() {
    while (!result_) {
      boost::system::error_code ignored;
      co_await done_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return std::move(*result_);
  }

 private:
  std::optional<Result<ListResult>> result_;
  asio::steady_timer done_;  // never expires: cancel() wakes wait()
};

}  // namespace

struct Informer::Impl : std::enable_shared_from_this<Impl> {
  Impl(Client& c, ResourceInfo r, InformerOptions o, InformerHandlers h)
      : client(c),
        resource(std::move(r)),
        options(std::move(o)),
        handlers(std::move(h)),
        backoffTimer(c.ioContext()),
        syncedSignal(c.ioContext(), Clock::time_point::max()),
        random(std::random_device{}()) {}

  Client& client;
  const ResourceInfo resource;
  const InformerOptions options;
  const InformerHandlers handlers;

  Store store;
  std::string lastResourceVersion;
  InformerStats stats;
  bool synced = false;
  bool started = false;
  std::atomic<bool> running{false};
  std::atomic<bool> stopped{false};
  std::shared_ptr<WatchCancel> watchCancel;
  asio::steady_timer backoffTimer;
  // Never expires: waitForSync() waiters wait on it and cancel() wakes them all.
  asio::steady_timer syncedSignal;
  std::mt19937_64 random;

  static asio::awaitable<void> runLoop(std::shared_ptr<Impl> self) {
    // Cleared however the loop ends, an exception included.
    struct Running {
      Impl& impl;
      ~Running() { impl.running = false; }
    } running{*self};
    co_await self->run();
  }

  asio::awaitable<void> run();
  asio::awaitable<Result<void>> relist();
  asio::awaitable<Result<Store>> listAll(std::string& resourceVersion);
  void addListItem(Store& next, JsonValue& item, Json& page);
  asio::awaitable<WatchOutcome> watch();
  void handleEvent(WatchEvent&& event, std::optional<WatchEnd>& endedBy);
  asio::awaitable<void> sleep(Millis delay);
  void cancelAll();
  CachedObjectPtr cache(Json& object, std::string_view what);
  int watchTimeoutSeconds();
  std::string describe() const;

  void notifyAdd(const CachedObjectPtr& object) {
    if (!stopped && handlers.onAdd) handlers.onAdd(object);
  }
  void notifyUpdate(const CachedObjectPtr& old, const CachedObjectPtr& current) {
    if (!stopped && handlers.onUpdate) handlers.onUpdate(old, current);
  }
  void notifyDelete(const CachedObjectPtr& last) {
    if (!stopped && handlers.onDelete) handlers.onDelete(last);
  }
};

std::string Informer::Impl::describe() const {
  std::string text = resource.resource;
  if (!resource.group.empty()) text += "." + resource.group;
  if (!options.ns.empty()) text += " in " + options.ns;
  text += " at " + client.server();
  return text;
}

asio::awaitable<void> Informer::Impl::run() {
  // The informer's generator (it picks watch timeouts too); run() ends before the Impl does.
  ReconnectBackoff backoff(options.backoffInitial, options.backoffMax,
                           [this] { return std::uniform_real_distribution<double>(0, 1)(random); });
  bool needList = true;
  int goneInARow = 0;
  while (!stopped) {
    if (needList) {
      Result<void> listed = co_await relist();
      if (stopped) break;
      if (!listed) {
        stats.lastError = listed.error().describe();
        spdlog::warn("informer {}: list failed, retrying: {}", describe(), stats.lastError);
        if (options.onListError) options.onListError(listed.error());
        co_await sleep(backoff.next());
        continue;
      }
      needList = false;
    }

    const auto watchStart = Clock::now();
    const WatchOutcome outcome = co_await watch();
    if (stopped || outcome.end == WatchEnd::Stopped) break;
    const auto ran = Clock::now() - watchStart;
    if (ran >= options.backoffResetAfter) backoff.reset();
    goneInARow = outcome.end == WatchEnd::Gone ? goneInARow + 1 : 0;

    switch (outcome.end) {
      case WatchEnd::Expired:
        if (outcome.events == 0 && ran < kShortestNormalWatch) {
          spdlog::warn("informer {}: the server ended a watch at once", describe());
          co_await sleep(backoff.next());
        }
        break;
      case WatchEnd::Gone:
        ++stats.relistsAfterGone;
        needList = true;
        // Relisting at once is the point of a 410; a second one in a row means the fresh
        // list's resourceVersion is already too old, so do not hammer the server.
        if (goneInARow > 1) co_await sleep(backoff.next());
        break;
      case WatchEnd::Failed:
        ++stats.relistsAfterError;
        needList = true;
        co_await sleep(backoff.next());
        break;
      case WatchEnd::Stopped: break;
    }
  }
}

asio::awaitable<void> Informer::Impl::sleep(Millis delay) {
  if (stopped) co_return;
  backoffTimer.expires_after(delay);
  // Cancelled by stop(); the outcome does not matter either way.
  co_await backoffTimer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void Informer::Impl::cancelAll() {
  if (watchCancel) watchCancel->cancel();
  backoffTimer.cancel();
  syncedSignal.cancel();
}

CachedObjectPtr Informer::Impl::cache(Json& object, std::string_view what) {
  try {
    if (options.transform) options.transform(object);
    Result<CachedObjectPtr> cached = makeCachedObject(object);
    if (cached) return *cached;
    spdlog::warn("informer {}: skipping {}: {}", describe(), what, cached.error().message);
  } catch (const std::exception& e) {
    // The transform met data it did not expect (RapidJSON's type checks throw here).
    spdlog::warn("informer {}: skipping {}: transform failed: {}", describe(), what, e.what());
  }
  return nullptr;
}

// Lists everything into a fresh Store and swaps it in only once the list is complete, then
// tells the handlers how the fresh list differs from what the cache held: this is where
// deletions missed while disconnected are found.
asio::awaitable<Result<void>> Informer::Impl::relist() {
  std::string resourceVersion;
  Result<Store> listed = co_await listAll(resourceVersion);
  if (!listed) co_return fail(std::move(listed.error()));
  if (stopped) co_return fail(canceledError(client.server(), "informer stopped"));

  Store previous = std::exchange(store, std::move(*listed));
  lastResourceVersion = std::move(resourceVersion);
  ++stats.lists;
  const bool firstSync = !synced;
  synced = true;
  if (firstSync) syncedSignal.cancel();
  spdlog::info("informer {}: listed {} objects at resourceVersion {}", describe(), store.size(),
               lastResourceVersion);

  for (const CachedObjectPtr& current : store.list()) {
    CachedObjectPtr old = previous.erase(current->key);
    if (!old) {
      notifyAdd(current);
    } else if (old != current) {
      notifyUpdate(old, current);
    }
  }
  for (const CachedObjectPtr& gone : previous.list()) notifyDelete(gone);
  co_return Result<void>{};
}

asio::awaitable<Result<Store>> Informer::Impl::listAll(std::string& resourceVersion) {
  ListOptions request;
  request.labelSelector = options.labelSelector;
  request.fieldSelector = options.fieldSelector;
  request.limit = std::max<std::int64_t>(options.pageSize, 0);
  // resourceVersion "" asks for a consistent read from etcd, so the list is the truth.
  Store next;
  std::shared_ptr<PageFetch> ahead;  // the next page, requested while this one is stored
  for (;;) {
    // Not a conditional expression: g++ 12 destroys a co_await's temporaries twice in one.
    std::optional<Result<ListResult>> answer;
    if (ahead) {
      answer.emplace(co_await ahead->wait());
    } else {
      answer.emplace(co_await client.list(resource, options.ns, request));
    }
    ahead.reset();
    Result<ListResult>& page = *answer;
    if (stopped) co_return fail(canceledError(client.server(), "informer stopped"));
    if (!page) {
      if (page.error().isGone() && !request.continueToken.empty()) {
        // The snapshot behind the continue token was compacted away. Like client-go's pager,
        // start over with one unpaged list, which cannot expire half-way.
        spdlog::info("informer {}: list continue token expired, listing again unpaged", describe());
        next.clear();
        request.continueToken.clear();
        request.limit = 0;
        continue;
      }
      co_return fail(std::move(page.error()));
    }
    JsonValue& items = page->items();
    if (!items.IsArray()) {
      co_return fail(
          decodeError(client.server(), "list of " + resource.resource + ": items is not an array"));
    }
    resourceVersion = page->resourceVersion;
    const bool last = page->continueToken.empty();
    if (!last) {
      // The server prepares the next page while this one is stored. Storing cannot fail, so
      // the request is always awaited at the top of the loop: none outlives the list.
      request.continueToken = page->continueToken;
      ahead = PageFetch::start(client, resource, options.ns, request);
    }
    for (JsonValue& item : items.GetArray()) addListItem(next, item, page->document);
    if (last) break;
  }
  co_return next;
}

void Informer::Impl::addListItem(Store& next, JsonValue& item, Json& page) {
  if (!item.IsObject() || nameOf(item).empty()) {
    spdlog::warn("informer {}: skipping a list item without metadata.name", describe());
    return;
  }
  // An object whose version we already hold is kept as is: no transform, no new copy.
  std::string_view version = resourceVersionOf(item);
  CachedObjectPtr held = store.get(objectKey(item));
  if (held && !version.empty() && held->resourceVersion == version && held->uid == uidOf(item)) {
    next.upsert(std::move(held));
    return;
  }
  // Move the item into a document that allocates from the page's pool, so the transform
  // can edit it in place without copying it out of the list.
  Json object(&page.GetAllocator());
  static_cast<JsonValue&>(object).Swap(item);
  if (CachedObjectPtr cached = cache(object, "a list item")) next.upsert(std::move(cached));
}

int Informer::Impl::watchTimeoutSeconds() {
  const auto min = options.watchTimeoutMin.count();
  if (min <= 0) return 0;
  std::uniform_int_distribution<std::int64_t> pick(min, 2 * min - 1);
  return static_cast<int>(pick(random));
}

asio::awaitable<WatchOutcome> Informer::Impl::watch() {
  WatchOptions request;
  request.resourceVersion = lastResourceVersion;
  request.allowWatchBookmarks = true;
  request.timeoutSeconds = watchTimeoutSeconds();
  request.labelSelector = options.labelSelector;
  request.fieldSelector = options.fieldSelector;
  auto cancel = std::make_shared<WatchCancel>();
  watchCancel = cancel;
  ++stats.watches;

  WatchOutcome outcome;
  std::optional<WatchEnd> endedBy;  // set by an ERROR event
  // The call is made outside the co_await: g++ 12 mishandles temporaries (by-value and
  // default arguments) inside a co_await expression.
  std::function<void(WatchEvent &&)> onEvent = [this, &outcome, &endedBy](WatchEvent&& event) {
    ++outcome.events;
    handleEvent(std::move(event), endedBy);
  };
  asio::awaitable<Result<void>> watching =
      client.watch(resource, options.ns, request, std::move(onEvent), cancel);
  Result<void> result = co_await std::move(watching);
  watchCancel.reset();

  if (stopped) {
    outcome.end = WatchEnd::Stopped;
  } else if (endedBy) {
    outcome.end = *endedBy;
  } else if (!result) {
    const Error& error = result.error();
    if (error.isGone()) {
      outcome.end = WatchEnd::Gone;
      spdlog::info("informer {}: resourceVersion {} is gone, relisting", describe(),
                   request.resourceVersion);
    } else {
      outcome.end = error.isCanceled() ? WatchEnd::Stopped : WatchEnd::Failed;
      stats.lastError = error.describe();
      spdlog::warn("informer {}: watch failed: {}", describe(), stats.lastError);
    }
  }
  co_return outcome;
}

void Informer::Impl::handleEvent(WatchEvent&& event, std::optional<WatchEnd>& endedBy) {
  if (stopped || endedBy) return;
  Json& object = event.object;
  switch (event.type) {
    case WatchEventType::Bookmark: {
      std::string_view version = resourceVersionOf(object);
      if (!version.empty()) lastResourceVersion = version;
      ++stats.bookmarks;
      return;
    }
    case WatchEventType::Error: {
      const std::optional<std::int64_t> code = intMember(object, "code");
      std::string_view reason = stringMember(object, "reason");
      const bool gone = code == 410 || reason == "Expired" || reason == "Gone";
      endedBy = gone ? WatchEnd::Gone : WatchEnd::Failed;
      std::string message = "watch ERROR event: " + std::to_string(code.value_or(0)) + " " +
                            std::string(reason) + ": " +
                            std::string(stringMember(object, "message"));
      if (gone) {
        spdlog::info("informer {}: {}, relisting", describe(), message);
      } else {
        spdlog::warn("informer {}: {}", describe(), message);
        stats.lastError = std::move(message);
      }
      return;
    }
    case WatchEventType::Added:
    case WatchEventType::Modified:
    case WatchEventType::Deleted: break;
  }

  std::string version(resourceVersionOf(object));
  CachedObjectPtr current = cache(object, std::string(toString(event.type)) + " event");
  // The server has shown us this version whether or not we could store the object.
  if (!version.empty()) lastResourceVersion = std::move(version);
  if (!current) return;
  if (event.type == WatchEventType::Deleted) {
    // The handler sees the object's final state, as client-go's OnDelete does.
    if (store.erase(current->key)) notifyDelete(current);
    return;
  }
  if (CachedObjectPtr old = store.upsert(current)) {
    notifyUpdate(old, current);
  } else {
    notifyAdd(current);
  }
}

Informer::Informer(Client& client, ResourceInfo resource, InformerOptions options,
                   InformerHandlers handlers)
    : impl_(std::make_shared<Impl>(client, std::move(resource), std::move(options),
                                   std::move(handlers))) {}

Informer::~Informer() { stop(); }

void Informer::start() {
  if (impl_->started || impl_->stopped) return;
  impl_->started = true;
  impl_->running = true;
  // Server data cannot throw out of the loop; what does is a bug (a handler throwing), and it
  // must not vanish silently as it would with asio::detached.
  asio::co_spawn(impl_->client.ioContext(), Impl::runLoop(impl_),
                 [description = impl_->describe()](const std::exception_ptr& error) {
                   if (!error) return;
                   spdlog::critical("informer {}: loop ended by an exception", description);
                   std::rethrow_exception(error);
                 });
}

void Informer::stop() {
  if (impl_->stopped.exchange(true)) return;
  // Cancelling from inside a handler (or another thread) must not re-enter the Client while
  // it is delivering an event: do it as the next step of the loop.
  asio::post(impl_->client.ioContext(), [impl = impl_] { impl->cancelAll(); });
}

bool Informer::running() const { return impl_->running; }
bool Informer::hasSynced() const { return impl_->synced; }

asio::awaitable<void> Informer::waitForSync() {
  std::shared_ptr<Impl> impl = impl_;
  while (!impl->synced && !impl->stopped) {
    co_await impl->syncedSignal.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

const Store& Informer::store() const { return impl_->store; }
const ResourceInfo& Informer::resource() const { return impl_->resource; }
const std::string& Informer::lastResourceVersion() const { return impl_->lastResourceVersion; }
const InformerStats& Informer::stats() const { return impl_->stats; }

}  // namespace bisync::kube
