// Informer against real kube-apiservers (tests/support/testbed.hpp): listing, event order,
// relists after outages and compaction, bookmarks. Each test makes its own namespaces and
// removes them; waits poll with a deadline and print what they saw on timeout.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/informer.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/testbed.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace asio = boost::asio;
namespace kube = bisync::kube;
using bisync::testing::configMapObject;
using bisync::testing::LoopClient;
using bisync::testing::LoopThread;
using bisync::testing::namespaceObject;
using bisync::testing::Side;
using bisync::testing::Testbed;
using bisync::testing::waitFor;
using kube::CachedObjectPtr;
using namespace std::chrono_literals;

using Versions = std::map<std::string, std::string>;  // key -> resourceVersion

std::string describe(const Versions& versions) {
  std::ostringstream out;
  out << "{";
  for (const auto& [key, version] : versions) out << " " << key << "@" << version;
  out << " }";
  return out.str();
}

template <class T>
T must(kube::Result<T> result, const std::string& what) {
  INFO(what << ": " << (result ? std::string("ok") : result.error().describe()));
  REQUIRE(result);
  return std::move(*result);
}

void must(kube::Result<void> result, const std::string& what) {
  INFO(what << ": " << (result ? std::string("ok") : result.error().describe()));
  REQUIRE(result);
}

std::int64_t versionNumber(const std::string& version) {
  try {
    return std::stoll(version);
  } catch (const std::exception&) {
    return -1;
  }
}

// A client on the test's loop with the configmap writes these tests make; each write must
// succeed and returns the object's new resourceVersion.
class ConfigMapClient : public LoopClient {
 public:
  using LoopClient::LoopClient;

  std::string createConfigMap(const std::string& ns, const std::string& name,
                              const std::string& value) {
    kube::Json created = must(run(client().create(kube::resources::configMaps(), ns,
                                                  configMapObject(ns, name, "value", value))),
                              "create configmap " + ns + "/" + name);
    return std::string(kube::resourceVersionOf(created));
  }
  std::string updateConfigMap(const std::string& ns, const std::string& name,
                              const std::string& value) {
    kube::Json patch(rapidjson::kObjectType);
    kube::JsonValue data(rapidjson::kObjectType);
    data.AddMember("value", kube::JsonValue(value, patch.GetAllocator()), patch.GetAllocator());
    patch.AddMember("data", data, patch.GetAllocator());
    kube::Json patched = must(run(client().patch(kube::resources::configMaps(), ns, name,
                                                 kube::PatchType::Merge, kube::toJson(patch))),
                              "patch configmap " + ns + "/" + name);
    return std::string(kube::resourceVersionOf(patched));
  }
  void deleteConfigMap(const std::string& ns, const std::string& name) {
    must(run(client().remove(kube::resources::configMaps(), ns, name)),
         "delete configmap " + ns + "/" + name);
  }
  Versions listConfigMaps(const std::string& ns) {
    kube::ListResult list =
        must(run(client().list(kube::resources::configMaps(), ns)), "list configmaps in " + ns);
    Versions versions;
    for (const kube::JsonValue& item : list.items().GetArray()) {
      versions[kube::objectKey(item)] = std::string(kube::resourceVersionOf(item));
    }
    return versions;
  }
};

// A namespace of the test's own; removed with its configmaps. The finalizer is cleared by
// hand, as the namespace controller would after emptying it, so the namespace is gone at once
// instead of whenever the testbed's controller manager gets to it.
class TestNamespace {
 public:
  TestNamespace(LoopClient& client, const std::string& prefix)
      : client_(client), name_("it-informer-" + prefix + "-" + bisync::testing::randomHex(3)) {
    must(client_.run(client_->create(kube::resources::namespaces(), "", namespaceObject(name_))),
         "create namespace " + name_);
  }
  ~TestNamespace() {
    // Best effort: a failed test may leave the server down; errors are ignored.
    client_.run(cleanup(*client_, name_));
  }
  const std::string& name() const { return name_; }

 private:
  // Arguments are named locals: g++ 12 mishandles temporaries (default arguments included)
  // inside a co_await expression and frees them twice.
  static asio::awaitable<void> cleanup(kube::Client& client, std::string ns) {
    const kube::ResourceInfo configMaps = kube::resources::configMaps();
    const kube::ResourceInfo namespaces = kube::resources::namespaces();
    const kube::ListOptions everything;
    const kube::DeleteOptions plainDelete;
    auto list = co_await client.list(configMaps, ns, everything);
    if (list) {
      for (const kube::JsonValue& item : list->items().GetArray()) {
        const std::string name(kube::nameOf(item));
        co_await client.remove(configMaps, ns, name, plainDelete);
      }
    }
    const std::string noSubresource;
    auto current = co_await client.get(namespaces, "", ns, noSubresource);
    if (current && current->IsObject()) {
      kube::JsonValue spec(rapidjson::kObjectType);
      spec.AddMember("finalizers", kube::JsonValue(rapidjson::kArrayType), current->GetAllocator());
      current->RemoveMember("spec");
      current->AddMember("spec", spec, current->GetAllocator());
      const std::string finalize = "finalize";
      const kube::WriteOptions plainWrite;
      co_await client.update(namespaces, "", *current, finalize, plainWrite);
    }
    co_await client.remove(namespaces, "", ns, plainDelete);
  }

  LoopClient& client_;
  std::string name_;
};

// What the handlers were called with, in order, as "add key@rv", "update key@old->new",
// "delete key".
class Recorder {
 public:
  kube::InformerHandlers handlers() {
    return {
        [this](const CachedObjectPtr& object) {
          record("add " + std::string(object->key) + "@" + std::string(object->resourceVersion));
        },
        [this](const CachedObjectPtr& old, const CachedObjectPtr& current) {
          record("update " + std::string(current->key) + "@" + std::string(old->resourceVersion) +
                 "->" + std::string(current->resourceVersion));
        },
        [this](const CachedObjectPtr& last) { record("delete " + std::string(last->key)); },
    };
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool saw(const std::string& event) const {
    std::lock_guard lock(mutex_);
    return std::find(events_.begin(), events_.end(), event) != events_.end();
  }
  std::string describe() const {
    std::ostringstream out;
    for (const std::string& event : events()) out << "\n  " << event;
    return out.str();
  }

 private:
  void record(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

// An informer made, read and destroyed on the loop thread. Teardown waits for its loop to
// return, so the Client it uses can go next.
class InformerUnderTest {
 public:
  InformerUnderTest(LoopThread& loop, kube::Client& client, kube::InformerOptions options,
                    kube::InformerHandlers handlers)
      : loop_(loop) {
    informer_ = loop_.call([&] {
      auto informer = std::make_unique<kube::Informer>(client, kube::resources::configMaps(),
                                                       std::move(options), std::move(handlers));
      informer->start();
      return informer;
    });
  }
  ~InformerUnderTest() {
    loop_.call([this] { informer_->stop(); });
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (loop_.call([this] { return informer_->running(); }) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    loop_.call([this] { informer_.reset(); });
  }

  void waitForSync(std::chrono::seconds timeout) {
    auto synced = asio::co_spawn(loop_.io(), informer_->waitForSync(), asio::use_future);
    if (synced.wait_for(timeout) != std::future_status::ready) {
      FAIL("informer not synced after " << timeout.count() << " s; stats: " << describeStats());
    }
    synced.get();
    REQUIRE(loop_.call([this] { return informer_->hasSynced(); }));
  }
  Versions cache() {
    return loop_.call([this] {
      Versions versions;
      for (const CachedObjectPtr& object : informer_->store().list()) {
        versions[std::string(object->key)] = std::string(object->resourceVersion);
      }
      return versions;
    });
  }
  kube::InformerStats stats() {
    return loop_.call([this] { return informer_->stats(); });
  }
  std::string lastResourceVersion() {
    return loop_.call([this] { return informer_->lastResourceVersion(); });
  }
  std::string describeStats() {
    kube::InformerStats s = stats();
    std::ostringstream out;
    out << "lists=" << s.lists << " watches=" << s.watches
        << " relistsAfterGone=" << s.relistsAfterGone
        << " relistsAfterError=" << s.relistsAfterError << " bookmarks=" << s.bookmarks
        << " lastRV=" << lastResourceVersion() << " lastError='" << s.lastError << "'";
    return out.str();
  }
  // Waits until the cache holds exactly what a fresh list of `ns` returns.
  void waitForExactCache(ConfigMapClient& client, const std::string& ns,
                         std::chrono::seconds timeout) {
    REQUIRE(waitFor("the cache equals the server's list", timeout, [&](std::string& seen) {
      const Versions server = client.listConfigMaps(ns);
      const Versions cached = cache();
      seen = "server " + describe(server) + ", cache " + describe(cached) + ", " + describeStats();
      return cached == server;
    }));
  }

 private:
  LoopThread& loop_;
  std::unique_ptr<kube::Informer> informer_;
};

// A testbed of the test's own whose API servers run without the watch cache: watches are
// then served by etcd, so a resourceVersion older than a compaction is answered 410 Gone.
// (With the watch cache, a server restarted at etcd's current revision still resumes from an
// older version as long as nothing was written in between, and compaction does not touch it.)
std::unique_ptr<Testbed> etcdServedTestbed() {
  bisync::testing::TestbedOptions options = bisync::testing::TestbedOptions::fromEnvironment();
  options.watchCache = false;
  return std::make_unique<Testbed>(options);
}

kube::InformerOptions optionsFor(const std::string& ns) {
  kube::InformerOptions options;
  options.ns = ns;
  options.pageSize = 2;  // small pages, so every list here is a paged one
  return options;
}

}  // namespace

TEST_CASE("an informer lists, then delivers add, update and delete events in order", "[informer]") {
  Testbed& testbed = bisync::testing::sharedTestbed();
  LoopThread loop;
  ConfigMapClient client(loop, testbed.restConfig(Side::Source));
  TestNamespace ns(client, "order");
  const std::string rvA = client.createConfigMap(ns.name(), "listed-a", "1");
  const std::string rvB = client.createConfigMap(ns.name(), "listed-b", "1");
  const std::string rvC = client.createConfigMap(ns.name(), "listed-c", "1");

  Recorder recorder;
  InformerUnderTest informer(loop, *client, optionsFor(ns.name()), recorder.handlers());
  informer.waitForSync(30s);
  CHECK(informer.cache() == Versions{{ns.name() + "/listed-a", rvA},
                                     {ns.name() + "/listed-b", rvB},
                                     {ns.name() + "/listed-c", rvC}});
  std::vector<std::string> listed = recorder.events();
  std::sort(listed.begin(), listed.end());
  CHECK(listed == std::vector<std::string>{"add " + ns.name() + "/listed-a@" + rvA,
                                           "add " + ns.name() + "/listed-b@" + rvB,
                                           "add " + ns.name() + "/listed-c@" + rvC});

  const std::string key = ns.name() + "/live";
  const std::string created = client.createConfigMap(ns.name(), "live", "first");
  const std::string updated = client.updateConfigMap(ns.name(), "live", "second");
  client.deleteConfigMap(ns.name(), "live");
  REQUIRE(waitFor("the delete of " + key + " is delivered", 30s, [&](std::string& seen) {
    const bool delivered = recorder.saw("delete " + key);
    seen = recorder.describe() + "\n" + informer.describeStats();
    return delivered;
  }));

  const std::vector<std::string> all = recorder.events();
  REQUIRE(all.size() >= 3);
  const std::vector<std::string> live(all.begin() + 3, all.end());
  CHECK(live == std::vector<std::string>{"add " + key + "@" + created,
                                         "update " + key + "@" + created + "->" + updated,
                                         "delete " + key});
  CHECK(versionNumber(informer.lastResourceVersion()) > versionNumber(updated));
  informer.waitForExactCache(client, ns.name(), 10s);
  CHECK(informer.stats().lists == 1);
}

// Disconnection, for real: the informer's API server is stopped. The informer (its own
// Client without request retries, a fixed 30 s backoff) notices the broken watch and waits;
// meanwhile the server is started again, objects are deleted, updated and created, and etcd is
// compacted, so the informer's last resourceVersion cannot be resumed (checked with a watch
// from it, on an etcd-served testbed). When the informer comes back it must relist (a broken
// stream always relists; a resumed watch would be answered 410) and find the deletions by
// diffing the fresh list against its cache.
TEST_CASE(
    "an informer whose resourceVersion was compacted away relists and ends with exactly "
    "the server's objects, including deletions made while it was disconnected",
    "[informer]") {
  std::unique_ptr<Testbed> ownTestbed = etcdServedTestbed();
  Testbed& testbed = *ownTestbed;
  LoopThread loop;
  ConfigMapClient client(loop, testbed.restConfig(Side::Source));
  kube::ClientOptions noRetries;
  noRetries.maxRetries = 0;
  LoopClient informerClient(loop, testbed.restConfig(Side::Source), noRetries);
  TestNamespace ns(client, "compacted");
  for (const char* name : {"kept", "deleted-1", "deleted-2"}) {
    client.createConfigMap(ns.name(), name, "before");
  }
  const std::string updatedBefore = client.createConfigMap(ns.name(), "updated", "before");

  Recorder recorder;
  kube::InformerOptions options = optionsFor(ns.name());
  // Long enough for a stop (up to 3 s grace), a start (~10 s) and the writes below.
  options.backoffInitial = 30s;
  options.backoffMax = 30s;
  InformerUnderTest informer(loop, *informerClient, options, recorder.handlers());
  informer.waitForSync(30s);
  informer.waitForExactCache(client, ns.name(), 10s);
  const std::string staleVersion = informer.lastResourceVersion();
  const std::size_t eventsBefore = recorder.events().size();

  testbed.stop(Side::Source);
  REQUIRE(waitFor("the informer notices its server is gone", 30s, [&](std::string& seen) {
    const kube::InformerStats stats = informer.stats();
    seen = informer.describeStats();
    return stats.relistsAfterError + stats.relistsAfterGone > 0;
  }));
  testbed.start(Side::Source);

  client.deleteConfigMap(ns.name(), "deleted-1");
  client.deleteConfigMap(ns.name(), "deleted-2");
  const std::string updatedVersion = client.updateConfigMap(ns.name(), "updated", "after");
  const std::string createdVersion = client.createConfigMap(ns.name(), "created", "after");
  const std::int64_t compactedTo = testbed.compactEtcd();
  CHECK(compactedTo >= versionNumber(createdVersion));

  INFO("the informer must still be disconnected here; stats: " << informer.describeStats());
  REQUIRE(informer.stats().lists == 1);
  kube::WatchOptions resume;
  resume.resourceVersion = staleVersion;
  resume.timeoutSeconds = 2;
  auto resumed = loop.run(
      client->watch(kube::resources::configMaps(), ns.name(), resume, [](kube::WatchEvent&&) {}));
  INFO("a watch from the informer's last resourceVersion "
       << staleVersion << " must be gone: " << (resumed ? "ok" : resumed.error().describe()));
  REQUIRE_FALSE(resumed);
  REQUIRE(resumed.error().isGone());

  informer.waitForExactCache(client, ns.name(), 90s);
  const kube::InformerStats stats = informer.stats();
  CHECK(stats.lists == 2);
  CHECK(stats.relistsAfterError + stats.relistsAfterGone >= 1);
  const std::vector<std::string> all = recorder.events();
  std::vector<std::string> afterRelist(all.begin() + static_cast<std::ptrdiff_t>(eventsBefore),
                                       all.end());
  std::sort(afterRelist.begin(), afterRelist.end());
  const Versions cache = informer.cache();
  const std::string updatedKey = ns.name() + "/updated";
  INFO("handler calls:" << recorder.describe());
  CHECK(afterRelist == std::vector<std::string>{
                           "add " + ns.name() + "/created@" + createdVersion,
                           "delete " + ns.name() + "/deleted-1",
                           "delete " + ns.name() + "/deleted-2",
                           "update " + updatedKey + "@" + updatedBefore + "->" + updatedVersion,
                       });
  CHECK(cache.at(updatedKey) == updatedVersion);
}

TEST_CASE(
    "an informer survives its API server being stopped for 10 s and restarted, and ends "
    "with an exact cache",
    "[informer]") {
  Testbed& testbed = bisync::testing::sharedTestbed();
  LoopThread loop;
  ConfigMapClient client(loop, testbed.restConfig(Side::Source));
  TestNamespace ns(client, "outage");
  for (const char* name : {"a", "b", "c"}) client.createConfigMap(ns.name(), name, "before");

  Recorder recorder;
  kube::InformerOptions options = optionsFor(ns.name());
  options.backoffInitial = 200ms;
  options.backoffMax = 2s;
  InformerUnderTest informer(loop, *client, options, recorder.handlers());
  informer.waitForSync(30s);

  testbed.outage(Side::Source, 10s);
  client.deleteConfigMap(ns.name(), "a");
  const std::string updated = client.updateConfigMap(ns.name(), "b", "after");
  const std::string createdD = client.createConfigMap(ns.name(), "d", "after");
  const std::string createdE = client.createConfigMap(ns.name(), "e", "after");

  informer.waitForExactCache(client, ns.name(), 90s);
  const kube::InformerStats stats = informer.stats();
  INFO(informer.describeStats() << "; handler calls:" << recorder.describe());
  CHECK(stats.relistsAfterError + stats.relistsAfterGone >= 1);
  CHECK(stats.lists >= 2);
  CHECK(recorder.saw("delete " + ns.name() + "/a"));
  CHECK(recorder.saw("add " + ns.name() + "/d@" + createdD));
  CHECK(recorder.saw("add " + ns.name() + "/e@" + createdE));
  CHECK(informer.cache().at(ns.name() + "/b") == updated);
}

// kube-apiserver 1.20 sends a watcher that allows bookmarks one BOOKMARK 2 s before its
// timeoutSeconds, carrying the resourceVersion of the last event its watch cache dispatched
// for the resource type, and only when that version is newer than the watch's start. Writes
// in another namespace move that version while the informer's own namespace stays quiet, so
// only a bookmark can advance the informer past its list.
//
// One write is not enough: when it reaches the watch cache before a watch from the list's
// version is registered, the cache moves that watch's start to the write's version (the
// newest event it holds, although this watcher's filter drops it), so the bookmark carrying
// that same version is never sent; the informer resumes from its list's version and the next
// watch starts past the write again, forever. Whether the write or the watch comes first is a
// race between two requests (lost in CI right after a test had restarted the server). So the
// other namespace is written to throughout the wait, and a watch sees a newer version to
// bookmark.
TEST_CASE("bookmarks advance the informer's resourceVersion", "[informer]") {
  Testbed& testbed = bisync::testing::sharedTestbed();
  LoopThread loop;
  ConfigMapClient client(loop, testbed.restConfig(Side::Source));
  TestNamespace quiet(client, "quiet");
  TestNamespace busy(client, "busy");

  Recorder recorder;
  kube::InformerOptions options = optionsFor(quiet.name());
  options.watchTimeoutMin = 3s;
  InformerUnderTest informer(loop, *client, options, recorder.handlers());
  informer.waitForSync(30s);
  const std::string listedAt = informer.lastResourceVersion();
  const std::string elsewhere = client.createConfigMap(busy.name(), "elsewhere", "0");
  REQUIRE(versionNumber(elsewhere) > versionNumber(listedAt));

  int writes = 1;
  REQUIRE(waitFor(
      "a bookmark moves the informer from its list's resourceVersion " + listedAt + " to " +
          elsewhere + " or later",
      30s,
      [&](std::string& seen) {
        const kube::InformerStats stats = informer.stats();
        // Nothing but a bookmark moves the version: the informer's namespace has no events
        // (checked below) and it has listed once.
        const bool advanced =
            stats.bookmarks > 0 && stats.lists == 1 &&
            versionNumber(informer.lastResourceVersion()) >= versionNumber(elsewhere);
        seen = informer.describeStats() + " writes elsewhere=" + std::to_string(writes);
        if (!advanced) {
          client.updateConfigMap(busy.name(), "elsewhere", std::to_string(writes++));
        }
        return advanced;
      },
      500ms));
  CHECK(recorder.events().empty());
  CHECK(informer.stats().lists == 1);
  CHECK(informer.stats().relistsAfterGone + informer.stats().relistsAfterError == 0);
}

// Without the watch cache, watches are served by etcd, so resuming from a compacted
// resourceVersion is answered 410 deterministically. The informer's namespace stays quiet,
// so its resourceVersion stays at its list's; writes elsewhere and a compaction make it
// gone (etcd resumes at version+1, so that must be older than the compaction: two writes);
// the server ends the watch at timeoutSeconds and the resumed watch gets the 410.
TEST_CASE(
    "a watch resumed from a compacted resourceVersion gets 410 Gone and the informer "
    "relists without calling handlers for unchanged objects",
    "[informer]") {
  std::unique_ptr<Testbed> ownTestbed = etcdServedTestbed();
  Testbed& testbed = *ownTestbed;
  LoopThread loop;
  ConfigMapClient client(loop, testbed.restConfig(Side::Source));
  TestNamespace quiet(client, "gone");
  TestNamespace busy(client, "gone-busy");
  for (const char* name : {"x", "y", "z"}) client.createConfigMap(quiet.name(), name, "v");

  Recorder recorder;
  kube::InformerOptions options = optionsFor(quiet.name());
  options.watchTimeoutMin = 2s;
  InformerUnderTest informer(loop, *client, options, recorder.handlers());
  informer.waitForSync(30s);
  REQUIRE(recorder.events().size() == 3);
  const std::string listedAt = informer.lastResourceVersion();

  client.createConfigMap(busy.name(), "elsewhere", "x");
  client.updateConfigMap(busy.name(), "elsewhere", "y");
  const std::int64_t compactedTo = testbed.compactEtcd();
  REQUIRE(compactedTo > versionNumber(listedAt) + 1);

  REQUIRE(waitFor("the informer relists after a 410", 30s, [&](std::string& seen) {
    const bool relisted = informer.stats().relistsAfterGone > 0 && informer.stats().lists >= 2;
    seen = informer.describeStats();
    return relisted;
  }));
  informer.waitForExactCache(client, quiet.name(), 10s);
  CHECK(informer.stats().relistsAfterError == 0);
  INFO("handler calls:" << recorder.describe());
  CHECK(recorder.events().size() == 3);
}
