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

class Store {
 public:
  CachedObjectPtr get(std::string_view key) const;
  std::vector<std::string> keys() const;
  std::vector<CachedObjectPtr> list() const;
  std::size_t size() const { return objects_.size(); }
  // Total bytes of stored JSON, for memory accounting.
  std::size_t jsonBytes() const { return jsonBytes_; }

  // Returns the previous object under the same key, if any.
  CachedObjectPtr upsert(CachedObjectPtr object);
  CachedObjectPtr erase(std::string_view key);
  void clear();

 private:
  std::unordered_map<std::string, CachedObjectPtr> objects_;
  std::size_t jsonBytes_ = 0;
};

}  // namespace bisync::kube
