#include "syncer/kube/store.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "syncer/kube/informer.hpp"

namespace bisync::kube {

Json CachedObject::parse() const {
  Json document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    // The Store only holds text it serialised itself: failing here is a bug, not bad data.
    throw std::logic_error("cached object " + key + " holds invalid JSON");
  }
  return document;
}

std::string objectKey(std::string_view ns, std::string_view name) {
  std::string key;
  if (ns.empty()) {
    key = name;
    return key;
  }
  key.reserve(ns.size() + 1 + name.size());
  key += ns;
  key += '/';
  key += name;
  return key;
}

std::string objectKey(const JsonValue& object) {
  return objectKey(namespaceOf(object), nameOf(object));
}

Result<CachedObjectPtr> makeCachedObject(const JsonValue& object) {
  if (!object.IsObject()) return fail(decodeError("object", "not a JSON object"));
  std::string_view name = nameOf(object);
  if (name.empty()) return fail(decodeError("object", "no metadata.name"));
  CachedObject cached;
  cached.key = objectKey(namespaceOf(object), name);
  cached.uid = uidOf(object);
  cached.resourceVersion = resourceVersionOf(object);
  cached.json = toJson(object);
  return std::make_shared<const CachedObject>(std::move(cached));
}

void stripManagedFields(Json& object) {
  if (!object.IsObject()) return;
  auto metadata = object.FindMember("metadata");
  if (metadata == object.MemberEnd() || !metadata->value.IsObject()) return;
  metadata->value.RemoveMember("managedFields");
}

CachedObjectPtr Store::get(std::string_view key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<std::string> Store::keys() const {
  std::vector<std::string> result;
  result.reserve(objects_.size());
  for (const auto& entry : objects_) result.emplace_back(entry.first);
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<CachedObjectPtr> Store::list() const {
  std::vector<CachedObjectPtr> result;
  result.reserve(objects_.size());
  for (const auto& entry : objects_) result.push_back(entry.second);
  return result;
}

CachedObjectPtr Store::upsert(CachedObjectPtr object) {
  if (!object) throw std::invalid_argument("Store::upsert: null object");
  jsonBytes_ += object->json.size();
  auto it = objects_.find(object->key);
  if (it == objects_.end()) {
    std::string_view key = object->key;
    objects_.emplace(key, std::move(object));
    return nullptr;
  }
  // The key must view the new object's string: the old one may be freed with the old object.
  auto node = objects_.extract(it);
  CachedObjectPtr previous = std::move(node.mapped());
  jsonBytes_ -= previous->json.size();
  node.key() = object->key;
  node.mapped() = std::move(object);
  objects_.insert(std::move(node));
  return previous;
}

CachedObjectPtr Store::erase(std::string_view key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  CachedObjectPtr previous = std::move(it->second);
  objects_.erase(it);
  jsonBytes_ -= previous->json.size();
  return previous;
}

void Store::clear() {
  objects_.clear();
  jsonBytes_ = 0;
}

}  // namespace bisync::kube
