// Host Events about synced copies, recreated on the source objects (internal/event_copies.hpp).
// What a copy is, and when it is written, is event_copy_rules.hpp's; here are the informers, the
// queue and the writes.
#include "syncer/engine/internal/event_copies.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

// A copy's involved object may be missing from the target cache only because that cache lags
// the Event watch by a little: the Event is looked at again this many times, with backoff.
constexpr int kMissingCopyRetries = 5;

WorkQueueOptions eventQueueOptions() {
  WorkQueueOptions options;
  options.name = "events";
  options.baseDelay = std::chrono::milliseconds(200);
  options.maxDelay = std::chrono::seconds(60);
  return options;
}

// The synced kind `involved` is an object of, by group and kind (any version); nullptr when the
// syncer does not sync it into target namespaces.
const ResourceSync* syncedKindOf(const SyncState& state, const InvolvedObject& involved) {
  const std::string_view group = groupOfApiVersion(involved.apiVersion);
  for (const auto& [name, sync] : state.resources) {
    if (sync.suspended || sync.clusterScoped) continue;
    const kube::ResourceInfo& resource = sync.translator->resource();
    if (resource.group == group && resource.kind == involved.kind) return &sync;
  }
  return nullptr;
}

}  // namespace

EventCopies::EventCopies(SyncState& state)
    : state_(state), queue_(state.sourceClient.ioContext(), eventQueueOptions()) {}

EventCopies::~EventCopies() {
  queue_.shutDown();
  for (auto& [ns, informer] : informers_) informer->stop();
}

void EventCopies::watch(const std::string& ns) {
  if (informers_.contains(ns)) return;
  kube::InformerOptions options;
  options.ns = ns;
  options.transform = compactHostEvent;
  kube::InformerHandlers handlers;
  handlers.onAdd = [this](const kube::CachedObjectPtr& event) {
    queue_.add(std::string(event->key));
  };
  handlers.onUpdate = [this](const kube::CachedObjectPtr& old, const kube::CachedObjectPtr& event) {
    // The compact form holds only what a copy carries: nothing of it changed, nothing to write.
    if (old->json != event->json) queue_.add(std::string(event->key));
  };
  handlers.onDelete = [this](const kube::CachedObjectPtr& event) {
    // The copy stays: the source's API server expires it with its own Event TTL.
    written_.erase(std::string(event->key));
  };
  std::unique_ptr<kube::Informer>& informer = informers_[ns];
  informer = std::make_unique<kube::Informer>(state_.targetClient, kube::resources::events(),
                                              options, std::move(handlers));
  informer->start();
}

void EventCopies::unwatch(std::string_view ns) {
  const auto it = informers_.find(ns);
  if (it == informers_.end()) return;
  it->second->stop();
  informers_.erase(it);
  const std::string prefix = std::string(ns) + "/";
  std::erase_if(written_, [&](const auto& entry) { return entry.first.starts_with(prefix); });
}

void EventCopies::start() {
  if (started_) return;
  started_ = true;
  queue_.run(2, [this](const std::string& key) { return handle(key); });
}

asio::awaitable<void> EventCopies::shutdown() {
  co_await queue_.drain();
  for (auto& [ns, informer] : informers_) informer->stop();
}

std::vector<kube::Informer*> EventCopies::informers() {
  std::vector<kube::Informer*> out;
  for (auto& [ns, informer] : informers_) out.push_back(informer.get());
  return out;
}

std::optional<EventSubject> EventCopies::subjectOf(const JsonValue& event, bool& retry) const {
  retry = false;
  const std::optional<InvolvedObject> involved = involvedObjectOf(event);
  if (!involved || involved->ns != kube::namespaceOf(event)) return std::nullopt;
  const ResourceSync* sync = syncedKindOf(state_, *involved);
  if (sync == nullptr) return std::nullopt;
  const kube::CachedObjectPtr copy =
      sync->targetObject(kube::objectKey(involved->ns, involved->name));
  if (!copy) {
    retry = true;
    return std::nullopt;
  }
  if (copy->uid != involved->uid) return std::nullopt;  // about another incarnation
  const Json copyJson = copy->parse();
  const auto origin = state_.mapper.originOf(copyJson);
  if (!origin || !ownsCopy(state_, copyJson)) return std::nullopt;
  const kube::CachedObjectPtr source = sync->sourceObject(origin->ns, origin->name);
  // The copy must be of the source object as it is now, not of an earlier one of that name.
  if (!source || source->uid != origin->uid) return std::nullopt;
  return EventSubject{sync->sourceResource.apiVersion(), sync->sourceResource.kind, origin->ns,
                      origin->name, std::string(source->uid)};
}

asio::awaitable<bool> EventCopies::handle(const std::string& key) {
  const std::size_t slash = key.find('/');
  const auto informer = informers_.find(std::string_view(key).substr(0, slash));
  if (slash == std::string::npos || informer == informers_.end()) co_return true;
  const kube::CachedObjectPtr cached = informer->second->store().get(key);
  if (!cached) {
    written_.erase(key);
    co_return true;
  }
  const Json event = cached->parse();
  bool retry = false;
  const std::optional<EventSubject> subject = subjectOf(event, retry);
  if (!subject) co_return !retry || queue_.numRequeues(key) >= kMissingCopyRetries;
  const EventFacts wanted = factsOf(event);
  const auto it = written_.find(key);
  if (it != written_.end() && it->second.foreign) co_return true;
  std::optional<EventFacts> written;
  if (it != written_.end()) written = it->second.facts;
  switch (decideEventWrite(written, wanted)) {
    case EventWrite::None: co_return true;
    case EventWrite::Create: co_return co_await create(key, event, *subject, wanted);
    case EventWrite::Update: co_return co_await update(key, it->second, wanted);
  }
  co_return true;
}

asio::awaitable<bool> EventCopies::create(const std::string& key, const JsonValue& event,
                                          const EventSubject& subject, const EventFacts& wanted) {
  const Json copy = virtualEventOf(event, subject, state_.mapper.config().clusterName);
  const std::string name(kube::nameOf(copy));
  const kube::ResourceInfo events = kube::resources::events();
  const kube::Result<Json> created = co_await state_.sourceClient.create(events, subject.ns, copy);
  if (created) {
    ++stats_.created;
    logWrite(state_, "copied host Event " + key + " to " + subject.ns + "/" + name);
    written_[key] = Written{subject.ns, name, std::string(kube::uidOf(*created)), wanted, false};
    co_return true;
  }
  if (created.error().isAlreadyExists()) {
    const std::string hostEventUid(kube::uidOf(event));
    co_return co_await adopt(key, hostEventUid, subject, name, wanted);
  }
  spdlog::warn("could not copy host Event {} to the source: {}", key, created.error().describe());
  co_return false;
}

asio::awaitable<bool> EventCopies::adopt(const std::string& key, const std::string& hostEventUid,
                                         const EventSubject& subject, const std::string& name,
                                         const EventFacts& wanted) {
  const kube::ResourceInfo events = kube::resources::events();
  const kube::Result<Json> existing = co_await state_.sourceClient.get(events, subject.ns, name);
  if (!existing) co_return false;  // gone meanwhile (a retry creates it) or unreadable
  const std::string uid(kube::uidOf(*existing));
  Written& written = written_[key];
  written = Written{subject.ns, name, uid, factsOf(*existing), false};
  if (!isOurEventCopy(*existing, state_.mapper.config().clusterName, hostEventUid, subject.uid)) {
    written.foreign = true;
    ++stats_.foreign;
    spdlog::warn("Event {}/{} is not the syncer's copy of host Event {}: leaving it", subject.ns,
                 name, key);
    co_return true;
  }
  if (decideEventWrite(written.facts, wanted) == EventWrite::None) co_return true;
  co_return co_await update(key, written, wanted);
}

asio::awaitable<bool> EventCopies::update(const std::string& key, Written& written,
                                          const EventFacts& wanted) {
  const std::string patch = eventUpdatePatch(wanted, written.uid);
  const kube::ResourceInfo events = kube::resources::events();
  const std::string ns = written.ns;
  const std::string name = written.name;
  const kube::Result<Json> patched =
      co_await state_.sourceClient.patch(events, ns, name, kube::PatchType::Merge, patch);
  if (!patched) {
    // Gone (expired, or deleted by the tenant) or another Event at that name: made anew.
    if (patched.error().isNotFound() || patched.error().isConflict()) written_.erase(key);
    spdlog::warn("could not update the copy {}/{} of host Event {}: {}", ns, name, key,
                 patched.error().describe());
    co_return false;
  }
  ++stats_.updated;
  logWrite(state_, "updated the copy " + ns + "/" + name + " of host Event " + key);
  // `written` may be gone: written_ can rehash while the patch is in flight.
  written_[key] = Written{ns, name, std::string(kube::uidOf(*patched)), wanted, false};
  co_return true;
}

}  // namespace bisync::engine::internal
