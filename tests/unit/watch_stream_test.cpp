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
