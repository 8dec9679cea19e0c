#include "tests/support/node_simulator.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/kube/informer.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/node_simulator_objects.hpp"

namespace bisync::testing {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
constexpr std::string_view kFieldManager = "kube-bisync-node-simulator";
constexpr std::string_view kLeaseNamespace = "kube-node-lease";
// A status write that fails is retried for about a minute.
constexpr int kStatusAttempts = 120;
constexpr milliseconds kStatusRetryDelay{500};

std::string now() { return simulated::timestamp(std::chrono::system_clock::now()); }

template <class T>
T require(kube::Result<T> result, const std::string& what) {
  if (!result) {
    throw std::runtime_error("node simulator: " + what + ": " + result.error().describe());
  }
  return std::move(*result);
}

void require(const kube::Result<void>& result, const std::string& what) {
  if (!result) {
    throw std::runtime_error("node simulator: " + what + ": " + result.error().describe());
  }
}

kube::ClientOptions clientOptions(const NodeSimulatorOptions& options) {
  kube::ClientOptions client;
  client.qps = options.qps;
  client.burst = options.burst;
  client.userAgent = "kube-bisync-node-simulator";
  client.side = "nodes";
  return client;
}

kube::PatchOptions patchOptions(std::string_view subresource) {
  kube::PatchOptions options;
  options.fieldManager = std::string(kFieldManager);
  options.subresource = std::string(subresource);
  return options;
}

// A wait on the loop that stop() can cut short.
asio::awaitable<void> sleepFor(asio::steady_timer& timer, milliseconds duration) {
  timer.expires_after(duration);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace

struct NodeSimulator::Impl {
  struct Node {
    int index = 0;
    std::string uid;
    simulated::NodeCondition condition;
    int podsStarted = 0;
  };

  Impl(Testbed& bed, NodeSimulatorOptions opts)
      : testbed(bed),
        options(std::move(opts)),
        client(loop, testbed.restConfig(options.side), clientOptions(options)) {
    names = options.names;
    for (int i = 1; options.names.empty() && i <= options.nodes; ++i) {
      names.push_back(options.namePrefix + std::to_string(i));
    }
    if (names.empty()) {
      names = {options.namePrefix + "1"};
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      nodes[names[i]].index = static_cast<int>(i) + 1;
    }
  }

  Testbed& testbed;
  NodeSimulatorOptions options;
  std::vector<std::string> names;
  // Named objects for co_await expressions (no temporaries there: see client.hpp).
  const kube::ResourceInfo podsResource = simulated::pods();
  const kube::ResourceInfo nodesResource = simulated::nodes();
  const kube::ResourceInfo leasesResource = simulated::leases();
  const kube::ResourceInfo eventsResource = kube::resources::events();
  const kube::PatchOptions mainPatch = patchOptions("");
  const kube::PatchOptions statusPatch = patchOptions("status");
  LoopThread loop;  // before the client and all loop state: it is destroyed last
  LoopClient client;

  // Loop-only state.
  std::map<std::string, Node> nodes;
  std::set<std::string> handledUids;   // Pods marked Running or Failed
  std::set<std::string> deletingUids;  // Pods whose removal is scheduled
  std::unique_ptr<kube::Informer> podInformer;
  std::set<asio::steady_timer*> timers;
  int inFlight = 0;  // coroutines using the client
  bool stopping = false;

  // Read from any thread.
  mutable std::mutex mutex;
  std::map<std::string, std::uint64_t> nodeWrites;
  std::map<std::string, std::uint64_t> podWrites;
  std::map<std::string, std::int64_t> graces;  // "ns/name"
  std::map<std::string, std::string> ips;      // "ns/name"
  bool started = false;
  bool stopped = false;

  kube::Client& api() { return client.client(); }

  void count(std::map<std::string, std::uint64_t>& counter, const std::string& node) {
    std::lock_guard lock(mutex);
    ++counter[node];
  }

  // Runs `task` (a callable returning an awaitable) detached on the loop, counted in inFlight
  // so that stop() waits for it. Call on the loop. The task starts from the loop's queue, not
  // inline: informer handlers run inside the client's transfer callbacks, where a new request
  // would never be started (curl refuses recursive calls).
  template <class Task>
  void spawn(Task task, std::string what) {
    ++inFlight;
    asio::co_spawn(
        loop.io(),
        [this, task = std::move(task), what = std::move(what)]() mutable -> asio::awaitable<void> {
          try {
            co_await asio::post(loop.io(), asio::use_awaitable);
            co_await task();
          } catch (const std::exception& e) {
            if (!stopping) std::cerr << "node simulator: " << what << ": " << e.what() << "\n";
          }
          --inFlight;
        },
        asio::detached);
  }

  asio::awaitable<void> registerNode(const std::string& name);
  asio::awaitable<void> writeNodeStatus(const std::string& name);
  asio::awaitable<void> writeLease(const std::string& name);
  asio::awaitable<void> heartbeats();
  asio::awaitable<void> markRunning(kube::Json pod, std::string node);
  asio::awaitable<bool> patchPodStatus(const kube::Json& pod, const std::string& body);
  asio::awaitable<void> writeEvents(const kube::Json& pod, const std::string& node);
  asio::awaitable<void> removeAfterGrace(kube::Json pod, milliseconds wait);
  asio::awaitable<void> unregisterNodes();

  void onPod(const kube::CachedObjectPtr& cached);
  void startWatch();
  void waitIdle();
};

asio::awaitable<void> NodeSimulator::Impl::registerNode(const std::string& name) {
  Node& node = nodes.at(name);
  const kube::Json object = simulated::nodeObject(name, node.index, options);
  kube::Result<kube::Json> created = co_await api().create(nodesResource, "", object);
  if (!created && created.error().isAlreadyExists()) {
    // A Node of the same name (an earlier simulator's): taken over with our labels and spec.
    const std::string body = kube::toJson(object);
    created =
        co_await api().patch(nodesResource, "", name, kube::PatchType::Merge, body, mainPatch);
  }
  node.uid = std::string(kube::uidOf(require(std::move(created), "register node " + name)));
  const std::string noTaints = kube::toJson(simulated::clearTaintsPatch());
  kube::Result<kube::Json> untainted =
      co_await api().patch(nodesResource, "", name, kube::PatchType::Merge, noTaints, mainPatch);
  require(std::move(untainted), "untaint node " + name);
  node.condition = {.ready = true, .readySince = now(), .createdAt = now()};
  co_await writeNodeStatus(name);
  co_await writeLease(name);
}

asio::awaitable<void> NodeSimulator::Impl::writeNodeStatus(const std::string& name) {
  const Node& node = nodes.at(name);
  const std::string body =
      kube::toJson(simulated::nodeStatusPatch(name, node.index, options, node.condition, now()));
  kube::Result<kube::Json> patched =
      co_await api().patch(nodesResource, "", name, kube::PatchType::Merge, body, statusPatch);
  require(std::move(patched), "node status of " + name);
  count(nodeWrites, name);
}

asio::awaitable<void> NodeSimulator::Impl::writeLease(const std::string& name) {
  const std::string renewed = simulated::microTimestamp(std::chrono::system_clock::now());
  const std::string body = kube::toJson(simulated::leaseRenewPatch(renewed));
  kube::Result<kube::Json> patched = co_await api().patch(leasesResource, kLeaseNamespace, name,
                                                          kube::PatchType::Merge, body, mainPatch);
  if (!patched && patched.error().isNotFound()) {
    const kube::Json lease = simulated::leaseObject(name, nodes.at(name).uid, renewed);
    patched = co_await api().create(leasesResource, kLeaseNamespace, lease);
  }
  require(std::move(patched), "lease of " + name);
}

asio::awaitable<void> NodeSimulator::Impl::heartbeats() {
  asio::steady_timer timer(loop.io());
  timers.insert(&timer);
  while (!stopping) {
    co_await sleepFor(timer, options.heartbeatInterval);
    for (const std::string& name : names) {
      if (stopping) break;
      try {
        co_await writeLease(name);
        co_await writeNodeStatus(name);
      } catch (const std::exception& e) {
        // A server outage of a test: the next beat tries again, as a kubelet does.
        if (!stopping) std::cerr << e.what() << "\n";
      }
    }
  }
  timers.erase(&timer);
}

asio::awaitable<void> NodeSimulator::Impl::markRunning(kube::Json pod, std::string node) {
  const std::string key = kube::objectKey(pod);
  Node& state = nodes.at(node);
  const std::string ip = simulated::podIP(state.index, state.podsStarted++);
  const std::string body =
      kube::toJson(simulated::runningStatusPatch(pod, simulated::nodeIP(state.index), ip, now()));
  if (!co_await patchPodStatus(pod, body)) co_return;
  count(podWrites, node);
  {
    std::lock_guard lock(mutex);
    ips[key] = ip;
  }
  if (options.events) {
    co_await writeEvents(pod, node);
  }
}

// Like a kubelet, retries a status write that failed (a server outage of a test) until the Pod
// is gone or replaced (NotFound; or Invalid, "metadata.uid: field is immutable": the uid in the
// patch is another incarnation's) or refused (Conflict).
asio::awaitable<bool> NodeSimulator::Impl::patchPodStatus(const kube::Json& pod,
                                                          const std::string& body) {
  asio::steady_timer timer(loop.io());
  for (int attempt = 1; !stopping; ++attempt) {
    kube::Result<kube::Json> patched =
        co_await api().patch(podsResource, kube::namespaceOf(pod), kube::nameOf(pod),
                             kube::PatchType::Merge, body, statusPatch);
    if (patched) co_return true;
    const kube::Error& error = patched.error();
    if (error.isNotFound() || error.isInvalid() || error.isApi(409) || attempt == kStatusAttempts) {
      if (!error.isNotFound()) {
        std::cerr << "node simulator: status of " << kube::objectKey(pod) << ": "
                  << error.describe() << "\n";
      }
      co_return false;
    }
    timers.insert(&timer);
    co_await sleepFor(timer, kStatusRetryDelay);
    timers.erase(&timer);
  }
  co_return false;
}

asio::awaitable<void> NodeSimulator::Impl::writeEvents(const kube::Json& pod,
                                                       const std::string& node) {
  const kube::JsonValue* containers = kube::at(pod, "/spec/containers");
  if (containers == nullptr || !containers->IsArray()) co_return;
  for (const kube::JsonValue& container : containers->GetArray()) {
    const std::string name(kube::stringMember(container, "name"));
    const std::string image(kube::stringMember(container, "image"));
    const std::pair<std::string, std::string> events[] = {
        {"Pulled", "Container image \"" + image + "\" already present on machine"},
        {"Created", "Created container " + name},
        {"Started", "Started container " + name}};
    for (const auto& [reason, message] : events) {
      const kube::Json event = simulated::containerEvent(pod, name, reason, message, node, now());
      kube::Result<kube::Json> created =
          co_await api().create(eventsResource, kube::namespaceOf(pod), event);
      require(std::move(created), reason + " Event for " + kube::objectKey(pod));
    }
  }
}

// What a kubelet does once the containers have stopped: the final delete, grace 0, of exactly
// this incarnation.
asio::awaitable<void> NodeSimulator::Impl::removeAfterGrace(kube::Json pod, milliseconds wait) {
  asio::steady_timer timer(loop.io());
  timers.insert(&timer);
  co_await sleepFor(timer, wait);
  timers.erase(&timer);
  if (stopping) co_return;
  kube::DeleteOptions deleteOptions;
  deleteOptions.uid = std::string(kube::uidOf(pod));
  deleteOptions.gracePeriodSeconds = 0;
  kube::Result<void> removed =
      co_await api().remove(podsResource, kube::namespaceOf(pod), kube::nameOf(pod), deleteOptions);
  if (!removed && !removed.error().isNotFound() && !removed.error().isConflict()) {
    require(removed, "remove " + kube::objectKey(pod));
  }
}

void NodeSimulator::Impl::onPod(const kube::CachedObjectPtr& cached) {
  kube::Json pod = cached->parse();
  const std::string node(kube::stringAt(pod, "/spec/nodeName"));
  if (stopping || !nodes.contains(node)) return;
  const std::string uid(cached->uid);
  if (kube::at(pod, "/metadata/deletionTimestamp") != nullptr) {
    if (!deletingUids.insert(uid).second) return;
    const std::int64_t grace =
        kube::intMember(*kube::at(pod, "/metadata"), "deletionGracePeriodSeconds").value_or(0);
    {
      std::lock_guard lock(mutex);
      graces[std::string(cached->key)] = grace;
    }
    const milliseconds wait =
        std::min<milliseconds>(std::chrono::seconds(grace), options.gracePeriodCap);
    spawn([this, pod = std::move(pod),
           wait]() mutable { return removeAfterGrace(std::move(pod), wait); },
          "remove " + std::string(cached->key));
    return;
  }
  const std::string_view phase = kube::stringAt(pod, "/status/phase");
  if (!options.runPods || handledUids.contains(uid) || phase == "Succeeded" || phase == "Failed" ||
      !kube::stringAt(pod, "/status/podIP").empty()) {
    return;
  }
  handledUids.insert(uid);
  spawn([this, pod = std::move(pod), node]() mutable { return markRunning(std::move(pod), node); },
        "start " + std::string(cached->key));
}

void NodeSimulator::Impl::startWatch() {
  kube::InformerOptions informerOptions;
  informerOptions.fieldSelector = "spec.nodeName!=";
  informerOptions.backoffInitial = milliseconds(200);
  informerOptions.backoffMax = milliseconds(2000);
  kube::InformerHandlers handlers{
      .onAdd = [this](const kube::CachedObjectPtr& pod) { onPod(pod); },
      .onUpdate = [this](const kube::CachedObjectPtr&,
                         const kube::CachedObjectPtr& pod) { onPod(pod); },
      .onDelete = {}};
  podInformer = std::make_unique<kube::Informer>(api(), podsResource, std::move(informerOptions),
                                                 std::move(handlers));
  podInformer->start();
}

asio::awaitable<void> NodeSimulator::Impl::unregisterNodes() {
  for (const std::string& name : names) {
    const kube::Result<void> lease = co_await api().remove(leasesResource, kLeaseNamespace, name);
    const kube::Result<void> node = co_await api().remove(nodesResource, "", name);
    if ((!lease && !lease.error().isNotFound()) || (!node && !node.error().isNotFound())) {
      std::cerr << "node simulator: could not unregister " << name << "\n";
    }
  }
}

// Waits until no coroutine of the simulator uses the client (they end quickly once stopping).
void NodeSimulator::Impl::waitIdle() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const bool idle = loop.call([this] {
      for (asio::steady_timer* timer : timers) timer->cancel();
      return inFlight == 0 && (!podInformer || !podInformer->running());
    });
    if (idle) return;
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::cerr << "node simulator: requests still in flight 30 s after stop\n";
}

NodeSimulator::NodeSimulator(Testbed& testbed, NodeSimulatorOptions options)
    : impl_(std::make_unique<Impl>(testbed, std::move(options))) {}

NodeSimulator::~NodeSimulator() {
  try {
    stop();
  } catch (const std::exception& e) {
    std::cerr << "node simulator: stop: " << e.what() << "\n";
  }
}

void NodeSimulator::start() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.started) throw std::logic_error("NodeSimulator::start called twice");
    impl.started = true;
  }
  impl.loop.run([&impl]() -> asio::awaitable<void> {
    for (const std::string& name : impl.names) {
      co_await impl.registerNode(name);
    }
    impl.startWatch();
    co_await impl.podInformer->waitForSync();
  }());
  impl.loop.call([&impl] {
    impl.spawn([&impl] { return impl.heartbeats(); }, "heartbeats");
    return 0;
  });
}

void NodeSimulator::stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    if (!impl.started || impl.stopped) return;
    impl.stopped = true;
  }
  impl.loop.call([&impl] {
    impl.stopping = true;
    if (impl.podInformer) impl.podInformer->stop();
    return 0;
  });
  impl.waitIdle();
  impl.loop.call([&impl] {
    impl.podInformer.reset();
    return 0;
  });
  if (impl.options.deleteNodesOnStop) {
    impl.loop.run(impl.unregisterNodes());
  }
}

const std::vector<std::string>& NodeSimulator::nodeNames() const { return impl_->names; }

void NodeSimulator::failPod(const std::string& ns, const std::string& name,
                            const std::string& reason, const std::string& message) {
  Impl& impl = *impl_;
  impl.loop.run([&]() -> asio::awaitable<void> {
    kube::Result<kube::Json> got = co_await impl.api().get(impl.podsResource, ns, name);
    const kube::Json pod = require(std::move(got), "get " + ns + "/" + name);
    impl.handledUids.insert(std::string(kube::uidOf(pod)));
    const std::string body =
        kube::toJson(simulated::failedStatusPatch(pod, reason, message, now()));
    kube::Result<kube::Json> patched = co_await impl.api().patch(
        impl.podsResource, ns, name, kube::PatchType::Merge, body, impl.statusPatch);
    require(std::move(patched), "fail " + ns + "/" + name);
    impl.count(impl.podWrites, std::string(kube::stringAt(pod, "/spec/nodeName")));
  }());
}

void NodeSimulator::evictPod(const std::string& ns, const std::string& name) {
  Impl& impl = *impl_;
  impl.loop.run([&]() -> asio::awaitable<void> {
    const kube::Json eviction = simulated::evictionObject(ns, name);
    const kube::ResourceInfo evictions = simulated::podEviction(name);
    kube::Result<kube::Json> evicted = co_await impl.api().create(evictions, ns, eviction);
    require(std::move(evicted), "evict " + ns + "/" + name);
  }());
}

void NodeSimulator::setNodeReady(const std::string& node, bool ready) {
  Impl& impl = *impl_;
  impl.loop.run([&]() -> asio::awaitable<void> {
    auto found = impl.nodes.find(node);
    if (found == impl.nodes.end()) throw std::invalid_argument("not a simulated node: " + node);
    if (found->second.condition.ready != ready) {
      found->second.condition.ready = ready;
      found->second.condition.readySince = now();
    }
    co_await impl.writeNodeStatus(node);
  }());
}

std::uint64_t NodeSimulator::nodeStatusWrites(const std::string& node) const {
  std::lock_guard lock(impl_->mutex);
  auto found = impl_->nodeWrites.find(node);
  return found == impl_->nodeWrites.end() ? 0 : found->second;
}

std::uint64_t NodeSimulator::podStatusWrites(const std::string& node) const {
  std::lock_guard lock(impl_->mutex);
  auto found = impl_->podWrites.find(node);
  return found == impl_->podWrites.end() ? 0 : found->second;
}

std::optional<std::int64_t> NodeSimulator::observedGracePeriod(const std::string& ns,
                                                               const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  auto found = impl_->graces.find(ns + "/" + name);
  return found == impl_->graces.end() ? std::nullopt : std::optional(found->second);
}

std::string NodeSimulator::podIP(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  auto found = impl_->ips.find(ns + "/" + name);
  return found == impl_->ips.end() ? std::string() : found->second;
}

}  // namespace bisync::testing
