// The ownership record's pure parts: reading the entries of its ConfigMap and writing them.
#include "syncer/engine/ownership_record.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using bisync::engine::CopiedUp;
using bisync::engine::copiedUpEntryKey;
using bisync::engine::entryValue;
using bisync::engine::namespaceEntryKey;
using bisync::engine::OwnedNamespace;
using bisync::engine::parseRecord;
using bisync::kube::Json;
using bisync::unit::parse;

// A record ConfigMap whose data is `data` (key -> value text).
Json recordWith(const std::vector<std::pair<std::string, std::string>>& data) {
  Json object = parse(R"({"metadata":{"name":"kube-bisync-ownership-east"},"data":{}})");
  auto& allocator = object.GetAllocator();
  for (const auto& [key, value] : data) {
    object["data"].AddMember(bisync::kube::JsonValue(key, allocator),
                             bisync::kube::JsonValue(value, allocator), allocator);
  }
  return object;
}

}  // namespace

TEST_CASE("record entries written by the syncer read back the same", "[ownership-record]") {
  const OwnedNamespace owned{"uid-1", "team-a"};
  const CopiedUp copied{"configmaps", "east--team-a", "pull-secret", "t-uid", "s-uid"};
  const Json record =
      recordWith({{namespaceEntryKey("east--team-a"), entryValue(owned)},
                  {copiedUpEntryKey(copied.resource, copied.ns, copied.name), entryValue(copied)}});
  const auto entries = parseRecord(record);
  CHECK(entries.problems.empty());
  REQUIRE(entries.namespaces.size() == 1);
  CHECK(entries.namespaces.at("east--team-a") == owned);
  REQUIRE(entries.copiedUp.size() == 1);
  CHECK(entries.copiedUp.begin()->second == copied);
}

TEST_CASE("a copied-up entry's key names the target object it was made from",
          "[ownership-record]") {
  const std::string key = copiedUpEntryKey("configmaps", "east--team-a", "a");
  CHECK(key.starts_with("copied-up."));
  CHECK(key.size() == std::string("copied-up.").size() + 20);
  CHECK(key == copiedUpEntryKey("configmaps", "east--team-a", "a"));
  CHECK(key != copiedUpEntryKey("secrets", "east--team-a", "a"));
  CHECK(key != copiedUpEntryKey("configmaps", "east--team-b", "a"));
  CHECK(key != copiedUpEntryKey("configmaps", "east--team-a", "b"));
}

TEST_CASE("record entries that do not parse or are incomplete are ignored and reported",
          "[ownership-record]") {
  const CopiedUp copied{"configmaps", "east--team-a", "x", "t", "s"};
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const Json record = recordWith({
      {namespaceEntryKey("east--a"), "not json"},
      {namespaceEntryKey("east--b"), deep},
      {namespaceEntryKey("east--c"), R"({"uid":"u"})"},  // no source namespace
      {namespaceEntryKey("east--d"), R"({"uid":7,"sourceNamespace":"d"})"},
      {namespaceEntryKey(""), R"({"uid":"u","sourceNamespace":"e"})"},
      {"unknown.key", R"({"uid":"u","sourceNamespace":"f"})"},
      // a copied-up entry under a key that is not its own: copied from elsewhere, not ours
      {copiedUpEntryKey("configmaps", "east--team-a", "other"), entryValue(copied)},
      {namespaceEntryKey("east--good"), R"({"uid":"u","sourceNamespace":"good"})"},
  });
  const auto entries = parseRecord(record);
  CHECK(entries.problems.size() == 7);
  REQUIRE(entries.namespaces.size() == 1);
  CHECK(entries.namespaces.begin()->first == "east--good");
  CHECK(entries.copiedUp.empty());
}

TEST_CASE("a mirror of a cluster-scoped object is recorded without a namespace",
          "[ownership-record]") {
  const CopiedUp mirror{"storageclasses.storage.k8s.io", "", "fast", "t", "s"};
  const Json record =
      recordWith({{copiedUpEntryKey(mirror.resource, "", "fast"), entryValue(mirror)}});
  const auto entries = parseRecord(record);
  CHECK(entries.problems.empty());
  REQUIRE(entries.copiedUp.size() == 1);
  CHECK(entries.copiedUp.begin()->second == mirror);
}

TEST_CASE("a record ConfigMap without data, or with data of the wrong type, has no entries",
          "[ownership-record]") {
  for (const char* text : {R"({"metadata":{"name":"r"}})", R"({"data":[1,2]})",
                           R"({"data":{"namespace.a":42}})", "[]"}) {
    INFO(text);
    const auto entries = parseRecord(parse(text));
    CHECK(entries.namespaces.empty());
    CHECK(entries.copiedUp.empty());
  }
}

TEST_CASE("a cluster-scoped copy made on the target has an entry of its own, apart from mirrors",
          "[ownership-record][cluster-scoped]") {
  using bisync::engine::copiedDownEntryKey;
  const CopiedUp down{"priorityclasses.scheduling.k8s.io", "", "east-high", "t-uid", "s-uid"};
  const CopiedUp up{"priorityclasses.scheduling.k8s.io", "", "east-high", "t-2", "s-2"};
  const std::string key = copiedDownEntryKey(down.resource, down.name);
  CHECK(key.starts_with("copied-down."));
  CHECK(key != copiedUpEntryKey(up.resource, up.ns, up.name));
  CHECK(key != copiedDownEntryKey("storageclasses.storage.k8s.io", down.name));
  CopiedUp namespaced = down;
  namespaced.ns = "east--team-a";
  const Json record = recordWith({{key, entryValue(down)},
                                  {copiedUpEntryKey(up.resource, up.ns, up.name), entryValue(up)},
                                  {copiedDownEntryKey("configmaps", "x"), entryValue(namespaced)}});
  const auto entries = parseRecord(record);
  REQUIRE(entries.copiedDown.size() == 1);
  CHECK(entries.copiedDown.at(key) == down);
  REQUIRE(entries.copiedUp.size() == 1);
  CHECK(entries.copiedUp.begin()->second == up);
  CHECK(entries.problems.size() == 1);  // a copied-down entry with a namespace
}
