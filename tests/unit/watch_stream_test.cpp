#include "syncer/kube/watch_stream.hpp"

#include <string>
#include <vector>

#include "tests/support/catch.hpp"

using namespace bisync::kube;

namespace {

// Three events as kube-apiserver writes them: one JSON object per line, with strings
// containing braces, quotes and escaped characters that a naive splitter would trip on.
const std::string kStream =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","resourceVersion":"10"},"data":{"k":"{not a brace}","q":"say \"}\" twice \\"}}})"
    "\n"
    R"({"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","resourceVersion":"11"},"data":{"list":"[1,2]"}}})"
    "\n"
    R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"12"}}})"
    "\n"
    R"({"type":"DELETED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","resourceVersion":"13"}}})"
    "\n";

struct Seen {
  WatchEventType type;
  std::string object;
};

std::vector<Seen> feedInChunks(const std::vector<std::string_view>& chunks) {
  WatchStreamParser parser("test");
  std::vector<Seen> seen;
  for (std::string_view chunk : chunks) {
    Result<void> fed = parser.feed(chunk, [&](WatchEvent&& event) {
      seen.push_back({event.type, toJson(event.object)});
    });
    REQUIRE(fed);
  }
  REQUIRE(parser.pendingBytes() == 0);
  return seen;
}

}  // namespace

TEST_CASE("a watch stream yields each event with its type and object", "[watch]") {
  std::vector<Seen> events = feedInChunks({kStream});
  REQUIRE(events.size() == 4);
  CHECK(events[0].type == WatchEventType::Added);
  CHECK(events[1].type == WatchEventType::Modified);
  CHECK(events[2].type == WatchEventType::Bookmark);
  CHECK(events[3].type == WatchEventType::Deleted);
  Result<Json> first = parseJson(events[0].object, "test");
  REQUIRE(first);
  CHECK(stringAt(*first, "/data/k") == "{not a brace}");
  CHECK(stringAt(*first, "/data/q") == "say \"}\" twice \\");
  CHECK(resourceVersionOf(*first) == "10");
  CHECK(stringMember(*first, "kind") == "ConfigMap");
}

TEST_CASE("a watch stream split at every byte boundary gives the same events", "[watch]") {
  const std::vector<Seen> whole = feedInChunks({kStream});
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    std::string_view all(kStream);
    std::vector<Seen> split = feedInChunks({all.substr(0, cut), all.substr(cut)});
    INFO("split at byte " << cut);
    REQUIRE(split.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) {
      CHECK(split[i].type == whole[i].type);
      CHECK(split[i].object == whole[i].object);
    }
  }
}

TEST_CASE("a watch stream fed one byte at a time gives the same events", "[watch]") {
  const std::vector<Seen> whole = feedInChunks({kStream});
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < kStream.size(); ++i)
    bytes.push_back(std::string_view(kStream).substr(i, 1));
  std::vector<Seen> split = feedInChunks(bytes);
  REQUIRE(split.size() == whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) CHECK(split[i].object == whole[i].object);
}

TEST_CASE("an incomplete event is held back until its end arrives", "[watch]") {
  WatchStreamParser parser("test");
  int count = 0;
  auto sink = [&](WatchEvent&&) { ++count; };
  std::string_view all(kStream);
  std::size_t firstEnd = all.find('\n');
  REQUIRE(parser.feed(all.substr(0, firstEnd - 5), sink));
  CHECK(count == 0);
  CHECK(parser.pendingBytes() == firstEnd - 5);
  REQUIRE(parser.feed(all.substr(firstEnd - 5, 5), sink));
  CHECK(count == 1);
}

TEST_CASE("an ERROR event carries the Status object", "[watch]") {
  WatchStreamParser parser("test");
  std::vector<WatchEvent> events;
  std::string error =
      R"json({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (42)","reason":"Expired","code":410}})json"
      "\n";
  REQUIRE(parser.feed(error, [&](WatchEvent&& event) { events.push_back(std::move(event)); }));
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == WatchEventType::Error);
  CHECK(intMember(events[0].object, "code") == 410);
}

TEST_CASE("garbage between watch events is a decode error, not a crash", "[watch]") {
  WatchStreamParser parser("https://server");
  auto sink = [](WatchEvent&&) {};
  Result<void> fed = parser.feed("<html>proxy error</html>", sink);
  REQUIRE_FALSE(fed);
  CHECK(fed.error().kind == ErrorKind::Decode);
  CHECK(fed.error().origin == "https://server");
}

TEST_CASE("an event with an unknown type or no object is a decode error", "[watch]") {
  CHECK_FALSE(decodeWatchEvent(R"({"type":"RENAMED","object":{}})", "t"));
  CHECK_FALSE(decodeWatchEvent(R"({"type":"ADDED"})", "t"));
  CHECK_FALSE(decodeWatchEvent(R"({"type":"ADDED","object":"text"})", "t"));
  CHECK_FALSE(decodeWatchEvent(R"({"type":"ADDED","object":{"a":)", "t"));
}

TEST_CASE("a 200,000-deep watch event ends the stream at the depth limit", "[watch][limits]") {
  WatchStreamParser parser("https://server");
  int events = 0;
  const std::string deep =
      R"({"type":"ADDED","object":{"a":)" + std::string(200'000, '[') + std::string(200'000, ']');
  Result<void> fed = parser.feed(deep, [&](WatchEvent&&) { ++events; });
  REQUIRE_FALSE(fed);
  CHECK(events == 0);
  CHECK(fed.error().kind == ErrorKind::Decode);
  CHECK_THAT(fed.error().describe(),
             Catch::Contains("a watch event nesting deeper than 511 levels"));
}

TEST_CASE("an event nested exactly to the depth limit is delivered, one level more is refused",
          "[watch][limits]") {
  const auto eventOfDepth = [](std::size_t depth) {
    // The event and its object are two levels; the rest are arrays inside the object.
    return R"({"type":"ADDED","object":{"a":)" + std::string(depth - 2, '[') +
           std::string(depth - 2, ']') + "}}\n";
  };
  const JsonLimits fourLevels{4, kMaxWatchEventBytes};
  int events = 0;
  const auto sink = [&](WatchEvent&&) { ++events; };
  WatchStreamParser atLimit("t", fourLevels);
  CHECK(atLimit.feed(eventOfDepth(4), sink));
  CHECK(events == 1);
  WatchStreamParser pastLimit("t", fourLevels);
  CHECK_FALSE(pastLimit.feed(eventOfDepth(5), sink));
  WatchStreamParser defaults("t");
  CHECK(defaults.feed(eventOfDepth(kMaxWatchEventDepth), sink));
  CHECK_FALSE(defaults.feed(eventOfDepth(kMaxWatchEventDepth + 1), sink));
  CHECK(events == 2);
}

TEST_CASE("an event larger than the size cap ends the stream, complete or not", "[watch][limits]") {
  const std::string event = R"({"type":"ADDED","object":{"data":"0123456789"}})";
  int events = 0;
  const auto sink = [&](WatchEvent&&) { ++events; };
  const JsonLimits exact{kMaxJsonDepth, event.size()};
  WatchStreamParser fits("t", exact);
  CHECK(fits.feed(event + "\n" + event, sink));
  CHECK(events == 2);

  const JsonLimits oneLess{kMaxJsonDepth, event.size() - 1};
  WatchStreamParser complete("t", oneLess);
  Result<void> whole = complete.feed(event, sink);
  REQUIRE_FALSE(whole);
  CHECK_THAT(whole.error().message, Catch::Contains("47 bytes, more than the 46-byte cap"));

  // Held back while incomplete: the cap applies before the event ends, so a server that never
  // ends one cannot grow the buffer.
  WatchStreamParser incomplete("t", JsonLimits{kMaxJsonDepth, 30});
  const std::string_view all(event);
  CHECK(incomplete.feed(all.substr(0, 30), sink));
  Result<void> grown = incomplete.feed(all.substr(30, 10), sink);
  REQUIRE_FALSE(grown);
  CHECK_THAT(grown.error().message,
             Catch::Contains("a watch event of 40 bytes so far, more than the 30-byte cap"));
  CHECK(events == 2);
}

TEST_CASE("the default watch event cap holds the largest object etcd stores many times over",
          "[watch][limits]") {
  constexpr std::size_t kEtcdDefaultRequestBytes = 1536 * 1024;
  CHECK(kWatchEventLimits.maxBytes >= 40 * kEtcdDefaultRequestBytes);
}

TEST_CASE("a watch event holds exactly the objects a list page holds", "[watch][limits]") {
  // The deepest object a list page of parseJson's default limits can hold: the page and its
  // items array are two levels, the object the rest.
  const std::size_t objectDepth = kMaxJsonDepth - 2;
  const std::string object =
      R"({"a":)" + std::string(objectDepth - 1, '[') + std::string(objectDepth - 1, ']') + "}";
  CHECK(parseJson(R"({"items":[)" + object + "]}", "list"));
  WatchStreamParser parser("watch");
  CHECK(parser.feed(R"({"type":"ADDED","object":)" + object + "}", [](WatchEvent&&) {}));

  const std::string deeper =
      R"({"a":)" + std::string(objectDepth, '[') + std::string(objectDepth, ']') + "}";
  CHECK_FALSE(parseJson(R"({"items":[)" + deeper + "]}", "list"));
  WatchStreamParser refusing("watch");
  CHECK_FALSE(refusing.feed(R"({"type":"ADDED","object":)" + deeper + "}", [](WatchEvent&&) {}));
}
