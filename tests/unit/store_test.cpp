#include <memory>
#include <string>

#include "syncer/kube/informer.hpp"
#include "syncer/kube/store.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using bisync::kube::CachedObject;
using bisync::kube::CachedObjectPtr;
using bisync::kube::Json;
using bisync::kube::makeCachedObject;
using bisync::kube::objectKey;
using bisync::kube::Store;

using bisync::unit::parse;

CachedObjectPtr cached(const std::string& key, const std::string& version,
                       const std::string& json = R"({"a":1})") {
  return std::make_shared<const CachedObject>(key, "uid-" + key, version, json);
}

}  // namespace

TEST_CASE("objectKey is namespace/name for namespaced objects and name for cluster-scoped ones",
          "[store]") {
  CHECK(objectKey("team-a", "settings") == "team-a/settings");
  CHECK(objectKey("", "team-a") == "team-a");
  CHECK(objectKey(parse(R"({"metadata":{"namespace":"ns","name":"cm"}})")) == "ns/cm");
  CHECK(objectKey(parse(R"({"metadata":{"name":"node-1"}})")) == "node-1");
  // Wrong types are read as absent, never asserted on.
  CHECK(objectKey(parse(R"({"metadata":{"namespace":7,"name":"x"}})")) == "x");
  CHECK(objectKey(parse(R"({"metadata":"oops"})")).empty());
  CHECK(objectKey(parse(R"([1,2])")).empty());
}

TEST_CASE(
    "makeCachedObject keeps key, uid and resourceVersion beside compact JSON, and parse() gives "
    "the whole object back",
    "[store]") {
  Json object = parse(R"({ "kind": "ConfigMap",
      "metadata": {"namespace": "ns", "name": "cm", "uid": "u-1", "resourceVersion": "42",
                   "labels": {"a": "b"}},
      "data": {"k": "v"} })");
  auto result = makeCachedObject(object);
  REQUIRE(result);
  const CachedObject& stored = **result;
  CHECK(stored.key == "ns/cm");
  CHECK(stored.uid == "u-1");
  CHECK(stored.resourceVersion == "42");
  // The identity is not stored twice.
  CHECK(stored.json == R"({"kind":"ConfigMap","metadata":{"labels":{"a":"b"}},"data":{"k":"v"}})");
  const Json back = stored.parse();
  CHECK(back == object);

  // A cluster-scoped object has no namespace to put back.
  auto node = makeCachedObject(parse(R"({"metadata":{"name":"n1","uid":"u-2"}})"));
  REQUIRE(node);
  CHECK((*node)->key == "n1");
  CHECK((*node)->parse() == parse(R"({"metadata":{"name":"n1","uid":"u-2"}})"));
}

TEST_CASE("makeCachedObject refuses objects without a usable metadata.name", "[store]") {
  CHECK_FALSE(makeCachedObject(parse(R"({"metadata":{"namespace":"ns"}})")));
  CHECK_FALSE(makeCachedObject(parse(R"({"metadata":{"name":5}})")));
  CHECK_FALSE(makeCachedObject(parse(R"({"metadata":{"name":""}})")));
  CHECK_FALSE(makeCachedObject(parse(R"("just a string")")));
  auto refused = makeCachedObject(parse(R"({})"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == bisync::kube::ErrorKind::Decode);
}

TEST_CASE("Store upsert returns the previous object and keeps byte accounting", "[store]") {
  Store store;
  CHECK(store.size() == 0);
  CHECK(store.jsonBytes() == 0);

  CHECK(store.upsert(cached("ns/a", "1", R"({"x":1})")) == nullptr);
  CHECK(store.upsert(cached("ns/b", "2", R"({"y":22})")) == nullptr);
  CHECK(store.size() == 2);
  CHECK(store.jsonBytes() == 7 + 8);

  auto replacement = cached("ns/a", "3", R"({"x":333})");
  CachedObjectPtr previous = store.upsert(replacement);
  REQUIRE(previous);
  CHECK(previous->resourceVersion == "1");
  CHECK(store.size() == 2);
  CHECK(store.jsonBytes() == 9 + 8);
  CHECK(store.get("ns/a") == replacement);
}

TEST_CASE("Store keys stay valid after the object they came from is replaced and released",
          "[store]") {
  Store store;
  store.upsert(cached("ns/long-enough-name-to-live-on-the-heap", "1"));
  // The only owner of the first object is the store; replacing it frees its key string.
  store.upsert(cached("ns/long-enough-name-to-live-on-the-heap", "2"));
  CachedObjectPtr found = store.get("ns/long-enough-name-to-live-on-the-heap");
  REQUIRE(found);
  CHECK(found->resourceVersion == "2");
  CHECK(store.keys() == std::vector<std::string>{"ns/long-enough-name-to-live-on-the-heap"});
}

TEST_CASE("Store erase, get, keys, list and clear", "[store]") {
  Store store;
  store.upsert(cached("ns/c", "3"));
  store.upsert(cached("ns/a", "1"));
  store.upsert(cached("cluster-wide", "2"));

  CHECK(store.keys() == std::vector<std::string>{"cluster-wide", "ns/a", "ns/c"});
  CHECK(store.list().size() == 3);
  CHECK(store.get("ns/missing") == nullptr);

  CachedObjectPtr erased = store.erase("ns/a");
  REQUIRE(erased);
  CHECK(erased->key == "ns/a");
  CHECK(store.erase("ns/a") == nullptr);
  CHECK(store.get("ns/a") == nullptr);
  CHECK(store.size() == 2);
  CHECK(store.jsonBytes() == 2 * std::string(R"({"a":1})").size());

  store.clear();
  CHECK(store.size() == 0);
  CHECK(store.jsonBytes() == 0);
  CHECK(store.keys().empty());
}

TEST_CASE("stripManagedFields removes metadata.managedFields and nothing else", "[store]") {
  Json object = parse(R"({"metadata":{"name":"cm","managedFields":[{"manager":"kubectl"}],
                          "labels":{"a":"b"}},"data":{"managedFields":"kept"}})");
  bisync::kube::stripManagedFields(object);
  CHECK(bisync::kube::toJson(object) ==
        R"({"metadata":{"name":"cm","labels":{"a":"b"}},"data":{"managedFields":"kept"}})");

  // Objects of unexpected shapes are left alone.
  Json noMetadata = parse(R"({"kind":"X"})");
  bisync::kube::stripManagedFields(noMetadata);
  CHECK(bisync::kube::toJson(noMetadata) == R"({"kind":"X"})");
  Json badMetadata = parse(R"({"metadata":[1]})");
  bisync::kube::stripManagedFields(badMetadata);
  CHECK(bisync::kube::toJson(badMetadata) == R"({"metadata":[1]})");
  Json notAnObject = parse(R"(3)");
  bisync::kube::stripManagedFields(notAnObject);
  CHECK(bisync::kube::toJson(notAnObject) == "3");
}

TEST_CASE("a cached object gives its numbers back exactly as parseJson read them", "[store]") {
  const Json object = parse(R"({"spec":{"x":381111111888811111111132,"y":0.30000000000000004}})");
  const CachedObject stored("ns/a", "u", "1", bisync::kube::toJson(object));
  const Json back = stored.parse();
  CHECK(back["spec"]["x"].GetDouble() == object["spec"]["x"].GetDouble());
  CHECK(back["spec"]["y"].GetDouble() == object["spec"]["y"].GetDouble());
}
