// The informer's cache: the objects of one resource type as last seen, keyed by
// "namespace/name" ("name" for cluster-scoped objects). Objects are kept as compact JSON
// text after a transform strips what reconciling does not need (managedFields by default),
// because parsed RapidJSON documents cost several times their text in memory.
// Loop-affine: read and written only on the io_context thread of its Informer.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::kube {

// One object as a Store keeps it: its key, uid and resourceVersion, and the rest of it as compact
// JSON text without metadata.name, namespace, uid and resourceVersion (parse() puts them back),
// all in one allocation: a cache holds one of these per object of its kind.
class CachedObject {
 public:
  // `json` is the object's text; identity members it still holds are kept as they are.
  CachedObject(std::string_view key, std::string_view uid, std::string_view resourceVersion,
               std::string_view json);

 private:
  std::unique_ptr<char[]> storage_;  // key, uid, resourceVersion and json, one after another

 public:
  const std::string_view key;  // "namespace/name" or "name"
  const std::string_view uid;
  const std::string_view resourceVersion;
  const std::string_view json;  // the stored (transformed) object without its identity

  Json parse() const;  // the whole object; never fails for objects the Store accepted
};

using CachedObjectPtr = std::shared_ptr<const CachedObject>;

std::string objectKey(std::string_view ns, std::string_view name);
std::string objectKey(const JsonValue& object);

// Makes the object a Store keeps: key, uid and resourceVersion read from `object`, the rest
// stored as compact JSON. A Decode error when the object is not an object or has no
// metadata.name, so malformed server data is skipped, never stored.
Result<CachedObjectPtr> makeCachedObject(const JsonValue& object);

class Store {
 public:
  CachedObjectPtr get(std::string_view key) const;
  std::vector<std::string> keys() const;      // sorted
  std::vector<CachedObjectPtr> list() const;  // in no particular order
  std::size_t size() const { return objects_.size(); }
  // Total bytes of stored JSON, for memory accounting.
  std::size_t jsonBytes() const { return jsonBytes_; }

  // Returns the previous object under the same key, if any. `object` must not be null.
  CachedObjectPtr upsert(CachedObjectPtr object);
  CachedObjectPtr erase(std::string_view key);
  void clear();

 private:
  // Objects found by the key they hold: the key is stored once, in the object.
  struct ByKey {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>{}(key);
    }
    std::size_t operator()(const CachedObjectPtr& object) const { return (*this)(object->key); }
    static std::string_view keyOf(std::string_view key) { return key; }
    static std::string_view keyOf(const CachedObjectPtr& object) { return object->key; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return keyOf(a) == keyOf(b);
    }
  };
  std::unordered_set<CachedObjectPtr, ByKey, ByKey> objects_;
  std::size_t jsonBytes_ = 0;
};

}  // namespace bisync::kube
