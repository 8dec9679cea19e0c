#include "syncer/engine/event_copy_rules.hpp"

#include <array>

#include "mapping/identity_mapper.hpp"

namespace bisync::engine {

namespace {

using kube::Json;
using kube::JsonValue;

// The members of an Event a copy is made of; the rest is dropped from the cache.
constexpr std::array<std::string_view, 12> kKeptMembers = {
    "involvedObject",     "reason",           "message",   "type",   "count",
    "firstTimestamp",     "lastTimestamp",    "eventTime", "series", "source",
    "reportingComponent", "reportingInstance"};

// The longest Event name (a DNS subdomain).
constexpr std::size_t kMaxEventName = 253;
// "." and 16 hex digits.
constexpr std::size_t kSuffixLength = 17;

void addString(JsonValue& object, std::string_view name, std::string_view value,
               Json::AllocatorType& allocator) {
  if (value.empty()) return;
  object.AddMember(kube::stringValue(name, allocator), kube::stringValue(value, allocator),
                   allocator);
}

// "2026-12-05T09:00:00.123456Z" -> "2026-12-05T09:00:00Z": metav1.Time holds seconds.
std::string toSeconds(std::string_view time) {
  const std::size_t dot = time.find('.');
  if (dot == std::string_view::npos) return std::string(time);
  return std::string(time.substr(0, dot)) + "Z";
}

std::string firstNonEmpty(std::initializer_list<std::string_view> values) {
  for (const std::string_view value : values) {
    if (!value.empty()) return toSeconds(value);
  }
  return {};
}

JsonValue involvedObjectValue(const JsonValue& hostEvent, const EventSubject& subject,
                              Json::AllocatorType& allocator) {
  JsonValue involved(rapidjson::kObjectType);
  addString(involved, "apiVersion", subject.apiVersion, allocator);
  addString(involved, "kind", subject.kind, allocator);
  addString(involved, "namespace", subject.ns, allocator);
  addString(involved, "name", subject.name, allocator);
  addString(involved, "uid", subject.uid, allocator);
  addString(involved, "fieldPath", kube::stringAt(hostEvent, "/involvedObject/fieldPath"),
            allocator);
  return involved;
}

// The host's reporter: source.component (legacy recorders) or reportingComponent (events.k8s.io),
// and the node of a kubelet's Event (source.host), which is the virtual Node's name too.
JsonValue sourceValue(const JsonValue& hostEvent, Json::AllocatorType& allocator) {
  JsonValue source(rapidjson::kObjectType);
  std::string_view component = kube::stringAt(hostEvent, "/source/component");
  if (component.empty()) component = kube::stringAt(hostEvent, "/reportingComponent");
  addString(source, "component", component, allocator);
  addString(source, "host", kube::stringAt(hostEvent, "/source/host"), allocator);
  return source;
}

}  // namespace

void compactHostEvent(Json& event) {
  Json kept(rapidjson::kObjectType);
  auto& allocator = kept.GetAllocator();
  JsonValue metadata(rapidjson::kObjectType);
  for (const char* field : {"name", "namespace", "uid", "resourceVersion"}) {
    addString(metadata, field, kube::stringAt(event, std::string("/metadata/") + field), allocator);
  }
  kept.AddMember("metadata", metadata, allocator);
  if (event.IsObject()) {
    for (const std::string_view name : kKeptMembers) {
      const JsonValue* value = kube::member(event, name);
      if (value != nullptr) {
        kept.AddMember(kube::stringValue(name, allocator), JsonValue(*value, allocator), allocator);
      }
    }
  }
  event.Swap(kept);
}

std::string_view groupOfApiVersion(std::string_view apiVersion) {
  const std::size_t slash = apiVersion.find('/');
  return slash == std::string_view::npos ? std::string_view() : apiVersion.substr(0, slash);
}

std::optional<InvolvedObject> involvedObjectOf(const JsonValue& event) {
  const JsonValue* involved = kube::member(event, "involvedObject");
  if (involved == nullptr || !involved->IsObject()) return std::nullopt;
  InvolvedObject out{std::string(kube::stringMember(*involved, "apiVersion")),
                     std::string(kube::stringMember(*involved, "kind")),
                     std::string(kube::stringMember(*involved, "namespace")),
                     std::string(kube::stringMember(*involved, "name")),
                     std::string(kube::stringMember(*involved, "uid")),
                     std::string(kube::stringMember(*involved, "fieldPath"))};
  if (out.kind.empty() || out.ns.empty() || out.name.empty() || out.uid.empty()) {
    return std::nullopt;
  }
  return out;
}

EventFacts factsOf(const JsonValue& event) {
  EventFacts facts;
  const std::int64_t count = kube::intMember(event, "count").value_or(0);
  const JsonValue* series = kube::member(event, "series");
  const std::int64_t seriesCount =
      series != nullptr ? kube::intMember(*series, "count").value_or(0) : 0;
  facts.count = count > 0 ? count : (seriesCount > 0 ? seriesCount : 1);
  const std::string_view eventTime = kube::stringAt(event, "/eventTime");
  facts.firstTimestamp = firstNonEmpty({kube::stringAt(event, "/firstTimestamp"), eventTime});
  facts.lastTimestamp = firstNonEmpty({kube::stringAt(event, "/lastTimestamp"),
                                       kube::stringAt(event, "/series/lastObservedTime"), eventTime,
                                       facts.firstTimestamp});
  facts.message = std::string(kube::stringMember(event, "message"));
  return facts;
}

std::string virtualEventName(std::string_view sourceName, std::string_view hostEventUid) {
  Json uid;
  uid.SetString(hostEventUid.data(), static_cast<rapidjson::SizeType>(hostEventUid.size()),
                uid.GetAllocator());
  const std::string hash = mapping::contentHash(uid);  // "sha256:<64 hex digits>"
  const std::string suffix = "." + hash.substr(hash.size() - (kSuffixLength - 1));
  std::string name(sourceName.substr(0, kMaxEventName - kSuffixLength));
  // A name cut after a "." or "-" would not end in an alphanumeric character.
  while (!name.empty() && (name.back() == '.' || name.back() == '-')) name.pop_back();
  return name + suffix;
}

Json virtualEventOf(const JsonValue& hostEvent, const EventSubject& subject,
                    std::string_view instance) {
  Json event(rapidjson::kObjectType);
  auto& allocator = event.GetAllocator();
  addString(event, "apiVersion", "v1", allocator);
  addString(event, "kind", "Event", allocator);
  JsonValue metadata(rapidjson::kObjectType);
  addString(metadata, "name", virtualEventName(subject.name, kube::uidOf(hostEvent)), allocator);
  addString(metadata, "namespace", subject.ns, allocator);
  JsonValue labels(rapidjson::kObjectType);
  addString(labels, mapping::kManagedByLabel, instance, allocator);
  metadata.AddMember("labels", labels, allocator);
  JsonValue annotations(rapidjson::kObjectType);
  addString(annotations, kHostEventAnnotation, kube::uidOf(hostEvent), allocator);
  metadata.AddMember("annotations", annotations, allocator);
  event.AddMember("metadata", metadata, allocator);
  event.AddMember("involvedObject", involvedObjectValue(hostEvent, subject, allocator), allocator);
  addString(event, "reason", kube::stringMember(hostEvent, "reason"), allocator);
  addString(event, "type", kube::stringMember(hostEvent, "type"), allocator);
  const EventFacts facts = factsOf(hostEvent);
  addString(event, "message", facts.message, allocator);
  event.AddMember("count", facts.count, allocator);
  addString(event, "firstTimestamp", facts.firstTimestamp, allocator);
  addString(event, "lastTimestamp", facts.lastTimestamp, allocator);
  event.AddMember("source", sourceValue(hostEvent, allocator), allocator);
  std::string_view controller = kube::stringMember(hostEvent, "reportingComponent");
  if (controller.empty()) controller = kube::stringAt(hostEvent, "/source/component");
  addString(event, "reportingComponent", controller, allocator);
  addString(event, "reportingInstance", kube::stringMember(hostEvent, "reportingInstance"),
            allocator);
  return event;
}

EventWrite decideEventWrite(const std::optional<EventFacts>& written, const EventFacts& wanted) {
  if (!written) return EventWrite::Create;
  return *written == wanted ? EventWrite::None : EventWrite::Update;
}

std::string eventUpdatePatch(const EventFacts& wanted, std::string_view virtualUid) {
  Json patch(rapidjson::kObjectType);
  auto& allocator = patch.GetAllocator();
  JsonValue metadata(rapidjson::kObjectType);
  addString(metadata, "uid", virtualUid, allocator);
  patch.AddMember("metadata", metadata, allocator);
  patch.AddMember("count", wanted.count, allocator);
  addString(patch, "firstTimestamp", wanted.firstTimestamp, allocator);
  addString(patch, "lastTimestamp", wanted.lastTimestamp, allocator);
  patch.AddMember("message", kube::stringValue(wanted.message, allocator), allocator);
  return kube::toJson(patch);
}

bool isOurEventCopy(const JsonValue& existing, std::string_view instance,
                    std::string_view hostEventUid, std::string_view subjectUid) {
  // JSON pointers escape the "/" of a member name as "~1".
  return kube::stringAt(existing, "/metadata/labels/kube-bisync.io~1managed-by") == instance &&
         kube::stringAt(existing, "/metadata/annotations/kube-bisync.io~1host-event-uid") ==
             hostEventUid &&
         kube::stringAt(existing, "/involvedObject/uid") == subjectUid;
}

}  // namespace bisync::engine
