#include "syncer/engine/event_recorder.hpp"

#include <spdlog/spdlog.h>

#include <ctime>

namespace bisync::engine {

namespace {

using kube::Json;
using kube::JsonValue;

void addString(JsonValue& object, const char* name, std::string_view value,
               Json::AllocatorType& allocator) {
  object.AddMember(JsonValue(name, allocator), kube::stringValue(value, allocator), allocator);
}

}  // namespace

std::string rfc3339Now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

EventRecorder::EventRecorder(kube::Client& client, std::string component, std::string instance,
                             std::chrono::seconds repeatAfter)
    : client_(client),
      component_(std::move(component)),
      instance_(std::move(instance)),
      repeatAfter_(repeatAfter) {}

bool EventRecorder::recentlyRecorded(const std::string& fingerprint) {
  const auto now = std::chrono::steady_clock::now();
  // Forget old fingerprints so the map stays as small as the recent problems.
  std::erase_if(lastRecorded_,
                [&](const auto& entry) { return now - entry.second > repeatAfter_; });
  auto [it, inserted] = lastRecorded_.try_emplace(fingerprint, now);
  return !inserted;
}

boost::asio::awaitable<bool> EventRecorder::record(const kube::ResourceInfo& resource,
                                                   const JsonValue& involved, EventType type,
                                                   std::string_view reason,
                                                   std::string_view message) {
  const std::string_view uid = kube::uidOf(involved);
  std::string fingerprint = std::string(uid) + "\n" + std::string(reason) + "\n";
  fingerprint += message;
  if (recentlyRecorded(fingerprint)) co_return false;

  // Events about cluster-scoped objects live in "default", as kubectl expects.
  std::string ns(kube::namespaceOf(involved));
  if (ns.empty()) ns = "default";
  const std::string now = rfc3339Now();

  Json event(rapidjson::kObjectType);
  auto& allocator = event.GetAllocator();
  addString(event, "apiVersion", "v1", allocator);
  addString(event, "kind", "Event", allocator);
  JsonValue metadata(rapidjson::kObjectType);
  addString(metadata, "generateName", component_ + "-", allocator);
  addString(metadata, "namespace", ns, allocator);
  event.AddMember("metadata", metadata, allocator);
  JsonValue subject(rapidjson::kObjectType);
  addString(subject, "apiVersion", resource.apiVersion(), allocator);
  addString(subject, "kind", resource.kind, allocator);
  if (!kube::namespaceOf(involved).empty()) {
    addString(subject, "namespace", kube::namespaceOf(involved), allocator);
  }
  addString(subject, "name", kube::nameOf(involved), allocator);
  addString(subject, "uid", uid, allocator);
  addString(subject, "resourceVersion", kube::resourceVersionOf(involved), allocator);
  event.AddMember("involvedObject", subject, allocator);
  addString(event, "reason", reason, allocator);
  addString(event, "message", message, allocator);
  addString(event, "type", type == EventType::Warning ? "Warning" : "Normal", allocator);
  JsonValue source(rapidjson::kObjectType);
  addString(source, "component", component_, allocator);
  event.AddMember("source", source, allocator);
  addString(event, "reportingComponent", component_, allocator);
  addString(event, "reportingInstance", instance_, allocator);
  addString(event, "firstTimestamp", now, allocator);
  addString(event, "lastTimestamp", now, allocator);
  event.AddMember("count", 1, allocator);

  const kube::ResourceInfo events = kube::resources::events();
  kube::Result<Json> created = co_await client_.create(events, ns, event);
  if (!created) {
    spdlog::warn("could not record {} event on {} {}/{}: {}", reason, resource.kind, ns,
                 kube::nameOf(involved), created.error().describe());
    lastRecorded_.erase(fingerprint);  // try again next time
    co_return false;
  }
  ++recorded_;
  co_return true;
}

}  // namespace bisync::engine
