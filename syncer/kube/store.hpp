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
#include <unordered_map>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::kube {

struct CachedObject {
  std::string key;  // "namespace/name" or "name"
  std::string uid;
  std::string resourceVersion;
  std::string json;  // the stored (transformed) object as compact JSON

  Json parse() const;  // never fails for objects the Store accepted
};

using CachedObjectPtr = std::shared_ptr<const CachedObject>;

std::string objectKey(std::string_view ns, std::string_view name);
std::string objectKey(const JsonValue& object);

// Makes the object a Store keeps: key, uid and resourceVersion read from `object`, which is
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
  // The map's keys view the key string inside the object they map to, so a key is stored
  // once; upsert() re-points the view whenever it replaces the object.
  std::unordered_map<std::string_view, CachedObjectPtr> objects_;
  std::size_t jsonBytes_ = 0;
};

}  // namespace bisync::kube
