#include "tests/bench/workload.hpp"

#include <cstdio>
#include <future>
#include <memory>
#include <string_view>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "tests/bench/sync_tracker.hpp"
#include "tests/support/sync_scene.hpp"

namespace bisync::bench {
namespace {

// Printable characters that differ per object, so no two payloads are the same.
std::string payloadFor(std::size_t index, std::size_t bytes) {
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string payload(bytes, 'x');
  std::uint64_t state = index * 0x9E3779B97F4A7C15ULL + 1;
  for (char& c : payload) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    c = kAlphabet[state % kAlphabet.size()];
  }
  return payload;
}

void addString(kube::JsonValue& object, std::string_view name, std::string_view value,
               kube::Json::AllocatorType& allocator) {
  object.AddMember(kube::stringValue(name, allocator), kube::stringValue(value, allocator),
                   allocator);
}

// A copy of the string members of source[pointer], plus `extra`.
kube::JsonValue stringMapCopy(const kube::JsonValue& source, std::string_view pointer,
                              const std::vector<std::pair<std::string, std::string>>& extra,
                              kube::Json::AllocatorType& allocator) {
  kube::JsonValue map(rapidjson::kObjectType);
  if (const kube::JsonValue* from = kube::at(source, pointer);
      from != nullptr && from->IsObject()) {
    for (const auto& entry : from->GetObject()) {
      if (entry.value.IsString()) {
        addString(map, kube::stringView(entry.name), kube::stringView(entry.value), allocator);
      }
    }
  }
  for (const auto& [name, value] : extra) addString(map, name, value, allocator);
  return map;
}

}  // namespace

std::string padded(std::size_t value, int width) {
  std::string text = std::to_string(value);
  return text.size() >= static_cast<std::size_t>(width)
             ? text
             : std::string(static_cast<std::size_t>(width) - text.size(), '0') + text;
}

kube::ClientOptions driverClientOptions() {
  kube::ClientOptions options;
  options.qps = 0;
  options.userAgent = "kube-bisync-bench";
  return options;
}

kube::ClientOptions baselineClientOptions(double qps, int burst) {
  kube::ClientOptions options;
  options.qps = qps;
  options.burst = burst;
  options.maxRetries = 2;
  options.userAgent = "kube-bisync-bench-baseline";
  return options;
}

std::string sourceNamespace(std::size_t i) { return "load-" + padded(i, 2); }

std::string objectName(const BenchKind& kind, std::size_t i) {
  return kind.namePrefix + "-" + padded(i, 6);
}

std::string seqText(std::uint64_t seq) { return padded(seq, 12); }

kube::Json benchObject(const BenchKind& kind, const std::string& ns, const std::string& name,
                       std::size_t index, std::size_t payloadBytes) {
  kube::Json object(rapidjson::kObjectType);
  auto& allocator = object.GetAllocator();
  addString(object, "apiVersion", kind.resource.apiVersion(), allocator);
  addString(object, "kind", kind.resource.kind, allocator);
  kube::JsonValue metadata(rapidjson::kObjectType);
  addString(metadata, "name", name, allocator);
  addString(metadata, "namespace", ns, allocator);
  kube::JsonValue labels(rapidjson::kObjectType);
  addString(labels, kBenchLabel, "true", allocator);
  metadata.AddMember("labels", labels, allocator);
  object.AddMember("metadata", metadata, allocator);
  kube::JsonValue content(rapidjson::kObjectType);
  addString(content, "payload", payloadFor(index, payloadBytes), allocator);
  addString(content, kSeqKey, seqText(0), allocator);
  object.AddMember(kube::stringValue(kind.content, allocator), content, allocator);
  return object;
}

std::string runJobs(testing::LoopThread& loop, std::size_t count, std::size_t workers,
                    const std::function<asio::awaitable<std::string>(std::size_t)>& job) {
  std::size_t next = 0;  // only touched on the loop thread
  std::vector<std::future<std::string>> running;
  for (std::size_t w = 0; w < std::max<std::size_t>(workers, 1); ++w) {
    running.push_back(asio::co_spawn(
        loop.io(),
        [&]() -> asio::awaitable<std::string> {
          std::string failure;
          while (next < count) {
            const std::size_t i = next++;
            std::string problem = co_await job(i);
            if (failure.empty()) failure = std::move(problem);
          }
          co_return failure;
        },
        asio::use_future));
  }
  // Every worker is awaited before returning: they use `next` and `job`.
  std::string failure;
  for (auto& worker : running) {
    std::string problem = worker.get();
    if (failure.empty()) failure = std::move(problem);
  }
  return failure;
}

asio::awaitable<std::string> createObject(kube::Client& client, const kube::ResourceInfo& resource,
                                          const kube::Json& object, std::string applyManager) {
  const std::string ns(kube::namespaceOf(object));
  std::string failure;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) {
      asio::steady_timer pause(co_await asio::this_coro::executor,
                               std::chrono::milliseconds(200 * attempt));
      co_await pause.async_wait(asio::use_awaitable);
    }
    kube::Result<kube::Json> created(kube::Json{});
    if (applyManager.empty()) {
      created = co_await client.create(resource, ns, object);
    } else {
      kube::ApplyOptions options;
      options.fieldManager = applyManager;
      created =
          co_await client.apply(resource, ns, std::string(kube::nameOf(object)), object, options);
    }
    if (created || created.error().isAlreadyExists()) co_return std::string();
    failure = "create " + ns + "/" + std::string(kube::nameOf(object)) + ": " +
              created.error().describe();
  }
  co_return failure;
}

asio::awaitable<kube::Result<std::vector<kube::ListResult>>> listPages(
    kube::Client& client, const kube::ResourceInfo& resource, std::string ns, std::string selector,
    std::int64_t pageSize) {
  std::vector<kube::ListResult> pages;
  kube::ListOptions options;
  options.labelSelector = selector;
  options.limit = pageSize;
  while (true) {
    kube::Result<kube::ListResult> page = co_await client.list(resource, ns, options);
    if (!page) co_return kube::fail(page.error());
    options.continueToken = page->continueToken;
    pages.push_back(std::move(*page));
    if (options.continueToken.empty()) break;
  }
  co_return pages;
}

std::size_t countItems(const std::vector<kube::ListResult>& pages) {
  std::size_t count = 0;
  for (const kube::ListResult& page : pages) count += page.items().Size();
  return count;
}

kube::Json baselineCopy(const BenchKind& kind, const kube::JsonValue& source, const std::string& ns,
                        const std::string& owner) {
  const std::string sourceNs(kube::namespaceOf(source));
  const std::string sourceName(kube::nameOf(source));
  kube::Json copy(rapidjson::kObjectType);
  auto& allocator = copy.GetAllocator();
  addString(copy, "apiVersion", kind.resource.apiVersion(), allocator);
  addString(copy, "kind", kind.resource.kind, allocator);
  kube::JsonValue metadata(rapidjson::kObjectType);
  addString(metadata, "name", sourceName, allocator);
  addString(metadata, "namespace", ns, allocator);
  metadata.AddMember("labels",
                     stringMapCopy(source, "/metadata/labels",
                                   {{testing::kManagedBy, owner},
                                    {testing::kSourceNamespace, sourceNs},
                                    {testing::kSourceName, sourceName}},
                                   allocator),
                     allocator);
  metadata.AddMember("annotations",
                     stringMapCopy(source, "/metadata/annotations",
                                   {{testing::kSourceCluster, owner},
                                    {testing::kSourceNamespace, sourceNs},
                                    {testing::kSourceName, sourceName},
                                    {testing::kSourceUid, std::string(kube::uidOf(source))},
                                    {testing::kLastSynced, "sha256:" + std::string(64, '0')}},
                                   allocator),
                     allocator);
  copy.AddMember("metadata", metadata, allocator);
  kube::JsonValue content(rapidjson::kObjectType);
  if (const kube::JsonValue* from = kube::member(source, kind.content)) {
    content.CopyFrom(*from, allocator);
  }
  copy.AddMember(kube::stringValue(kind.content, allocator), content, allocator);
  return copy;
}

}  // namespace bisync::bench
