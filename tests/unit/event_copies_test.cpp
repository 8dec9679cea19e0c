// Host Events copied to the source objects (syncer/engine/event_copy_rules.hpp): what the cache
// keeps of a host Event, what the copy holds, its stable name, and when it is written.
#include <optional>
#include <string>

#include "syncer/engine/event_copy_rules.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using bisync::engine::compactHostEvent;
using bisync::engine::decideEventWrite;
using bisync::engine::EventFacts;
using bisync::engine::EventSubject;
using bisync::engine::eventUpdatePatch;
using bisync::engine::EventWrite;
using bisync::engine::factsOf;
using bisync::engine::groupOfApiVersion;
using bisync::engine::involvedObjectOf;
using bisync::engine::isOurEventCopy;
using bisync::engine::virtualEventName;
using bisync::engine::virtualEventOf;
using bisync::kube::Json;
using bisync::kube::stringAt;
using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;

// The kubelet's legacy Event about a host Pod that is a copy of ours.
const char* kKubeletEvent = R"({"apiVersion":"v1","kind":"Event",
  "metadata":{"name":"web-x-1.17d","namespace":"vc--team","uid":"h-1","resourceVersion":"50",
    "creationTimestamp":"2026-12-05T09:00:00Z",
    "managedFields":[{"manager":"kubelet","operation":"Update"}]},
  "involvedObject":{"apiVersion":"v1","kind":"Pod","namespace":"vc--team","name":"web-x-1",
    "uid":"t-pod","resourceVersion":"40","fieldPath":"spec.containers{app}"},
  "reason":"BackOff","message":"Back-off restarting failed container","type":"Warning",
  "count":3,"firstTimestamp":"2026-12-05T09:00:00Z","lastTimestamp":"2026-12-05T09:02:00Z",
  "source":{"component":"kubelet","host":"node-1"},
  "related":{"kind":"Node","name":"node-1"},"action":"Restarting",
  "reportingComponent":"","reportingInstance":""})";

// The scheduler's events.k8s.io Event, as the core API shows it.
const char* kSchedulerEvent = R"({"metadata":{"name":"web.1","namespace":"vc--team","uid":"h-2"},
  "involvedObject":{"kind":"Pod","namespace":"vc--team","name":"web","uid":"t-pod"},
  "reason":"Scheduled","message":"Successfully assigned vc--team/web to node-1","type":"Normal",
  "eventTime":"2026-12-05T09:00:00.123456Z","firstTimestamp":null,"lastTimestamp":null,
  "reportingComponent":"default-scheduler","reportingInstance":"default-scheduler-host"})";

EventSubject subject() { return {"v1", "Pod", "team", "web", "s-pod"}; }

}  // namespace

TEST_CASE("the host Event cache keeps what a copy is made of and nothing else", "[events]") {
  Json event = parse(kKubeletEvent);
  compactHostEvent(event);
  CHECK(canonical(event) == canonicalText(R"({
    "metadata":{"name":"web-x-1.17d","namespace":"vc--team","uid":"h-1","resourceVersion":"50"},
    "involvedObject":{"apiVersion":"v1","kind":"Pod","namespace":"vc--team","name":"web-x-1",
      "uid":"t-pod","resourceVersion":"40","fieldPath":"spec.containers{app}"},
    "reason":"BackOff","message":"Back-off restarting failed container","type":"Warning",
    "count":3,"firstTimestamp":"2026-12-05T09:00:00Z","lastTimestamp":"2026-12-05T09:02:00Z",
    "source":{"component":"kubelet","host":"node-1"},
    "reportingComponent":"","reportingInstance":""})"));
}

TEST_CASE("an Event names an involved object only with kind, namespace, name and uid", "[events]") {
  const auto involved = involvedObjectOf(parse(kKubeletEvent));
  REQUIRE(involved);
  CHECK(involved->kind == "Pod");
  CHECK(involved->uid == "t-pod");
  CHECK(involved->fieldPath == "spec.containers{app}");
  CHECK_FALSE(
      involvedObjectOf(parse(R"({"involvedObject":{"kind":"Node","name":"n","uid":"u"}})")));
  CHECK_FALSE(involvedObjectOf(parse(R"({"involvedObject":{"kind":"Pod","namespace":"a",
    "name":"n"}})")));
  CHECK(groupOfApiVersion("apps/v1") == "apps");
  CHECK(groupOfApiVersion("v1").empty());
}

TEST_CASE("the copy of a host Event names the source object and keeps the host's facts",
          "[events]") {
  const Json copy = virtualEventOf(parse(kKubeletEvent), subject(), "vc");
  CHECK(canonical(copy) == canonicalText(R"({"apiVersion":"v1","kind":"Event",
    "metadata":{"name":")" + virtualEventName("web", "h-1") +
                                         R"(","namespace":"team",
      "labels":{"kube-bisync.io/managed-by":"vc"},
      "annotations":{"kube-bisync.io/host-event-uid":"h-1"}},
    "involvedObject":{"apiVersion":"v1","kind":"Pod","namespace":"team","name":"web",
      "uid":"s-pod","fieldPath":"spec.containers{app}"},
    "reason":"BackOff","message":"Back-off restarting failed container","type":"Warning",
    "count":3,"firstTimestamp":"2026-12-05T09:00:00Z","lastTimestamp":"2026-12-05T09:02:00Z",
    "source":{"component":"kubelet","host":"node-1"},"reportingComponent":"kubelet"})"));
}

TEST_CASE("an events.k8s.io Event is copied with count and timestamps from eventTime", "[events]") {
  const Json copy = virtualEventOf(parse(kSchedulerEvent), subject(), "vc");
  CHECK(stringAt(copy, "/firstTimestamp") == "2026-12-05T09:00:00Z");
  CHECK(stringAt(copy, "/lastTimestamp") == "2026-12-05T09:00:00Z");
  CHECK(copy["count"].GetInt64() == 1);
  CHECK(stringAt(copy, "/source/component") == "default-scheduler");
  CHECK(stringAt(copy, "/reportingComponent") == "default-scheduler");
  CHECK(stringAt(copy, "/reportingInstance") == "default-scheduler-host");
  const EventFacts series = factsOf(parse(R"({"eventTime":"2026-12-05T09:00:00.5Z",
    "series":{"count":4,"lastObservedTime":"2026-12-05T09:05:00.25Z"},"message":"m"})"));
  CHECK(series == EventFacts{4, "2026-12-05T09:00:00Z", "2026-12-05T09:05:00Z", "m"});
}

TEST_CASE("the copy's name is stable per host Event and a valid Event name", "[events]") {
  CHECK(virtualEventName("web", "h-1") == virtualEventName("web", "h-1"));
  CHECK(virtualEventName("web", "h-1") != virtualEventName("web", "h-2"));
  CHECK(virtualEventName("web", "h-1").starts_with("web."));
  CHECK(virtualEventName("web", "h-1").size() == 3 + 17);
  const std::string longName = std::string(235, 'a') + "-" + std::string(30, 'b');
  const std::string cut = virtualEventName(longName, "h-1");
  CHECK(cut.size() <= 253);
  CHECK(cut.find("-.") == std::string::npos);
}

TEST_CASE("a copy is written once, and again only when count, timestamps or message change",
          "[events]") {
  const EventFacts facts{3, "2026-12-05T09:00:00Z", "2026-12-05T09:02:00Z", "m"};
  CHECK(decideEventWrite(std::nullopt, facts) == EventWrite::Create);
  CHECK(decideEventWrite(facts, facts) == EventWrite::None);
  EventFacts counted = facts;
  counted.count = 4;
  CHECK(decideEventWrite(facts, counted) == EventWrite::Update);
  EventFacts later = facts;
  later.lastTimestamp = "2026-12-05T09:03:00Z";
  CHECK(decideEventWrite(facts, later) == EventWrite::Update);
  EventFacts reworded = facts;
  reworded.message = "m2";
  CHECK(decideEventWrite(facts, reworded) == EventWrite::Update);
  CHECK(canonicalText(eventUpdatePatch(counted, "v-1")) == canonicalText(R"({
    "metadata":{"uid":"v-1"},"count":4,"firstTimestamp":"2026-12-05T09:00:00Z",
    "lastTimestamp":"2026-12-05T09:02:00Z","message":"m"})"));
}

TEST_CASE("only an Event with our marker, host Event uid and subject uid is our copy", "[events]") {
  const Json copy = virtualEventOf(parse(kKubeletEvent), subject(), "vc");
  CHECK(isOurEventCopy(copy, "vc", "h-1", "s-pod"));
  CHECK_FALSE(isOurEventCopy(copy, "other", "h-1", "s-pod"));
  CHECK_FALSE(isOurEventCopy(copy, "vc", "h-2", "s-pod"));
  CHECK_FALSE(isOurEventCopy(copy, "vc", "h-1", "s-other"));
  CHECK_FALSE(isOurEventCopy(parse(R"({"metadata":{"name":"x"}})"), "vc", "h-1", "s-pod"));
}
