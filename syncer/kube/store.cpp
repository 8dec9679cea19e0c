#include "syncer/kube/store.hpp"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <utility>

#include "syncer/kube/informer.hpp"

namespace bisync::kube {

namespace {

// The parts of a buffer holding `parts` one after another.
std::unique_ptr<char[]> concatenate(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (const std::string_view part : parts) size += part.size();
  auto storage = std::make_unique<char[]>(size);
  char* at = storage.get();
  for (const std::string_view part : parts) at = std::copy(part.begin(), part.end(), at);
  return storage;
}

// The metadata members a CachedObject holds beside its text.
bool isIdentity(std::string_view member) {
  return member == "name" || member == "namespace" || member == "uid" ||
         member == "resourceVersion";
}

// Writes `object` as compact JSON without the identity members of its metadata.
void writeWithoutIdentity(const JsonValue& object, rapidjson::StringBuffer& buffer) {
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& member : object.GetObject()) {
    writer.Key(member.name.GetString(), member.name.GetStringLength());
    if (stringView(member.name) != "metadata" || !member.value.IsObject()) {
      member.value.Accept(writer);
      continue;
    }
    writer.StartObject();
    for (const auto& field : member.value.GetObject()) {
      if (isIdentity(stringView(field.name))) continue;
      writer.Key(field.name.GetString(), field.name.GetStringLength());
      field.value.Accept(writer);
    }
    writer.EndObject();
  }
  writer.EndObject();
}

}  // namespace

CachedObject::CachedObject(std::string_view keyText, std::string_view uidText,
                           std::string_view versionText, std::string_view jsonText)
    : storage_(concatenate({keyText, uidText, versionText, jsonText})),
      key(storage_.get(), keyText.size()),
      uid(key.data() + key.size(), uidText.size()),
      resourceVersion(uid.data() + uid.size(), versionText.size()),
      json(resourceVersion.data() + resourceVersion.size(), jsonText.size()) {}

Json CachedObject::parse() const {
  // parseJson, like every parse, so that numbers come back exactly as they were read.
  Result<Json> parsed = parseJson(json, key);
  if (!parsed || !parsed->IsObject()) {
    // The Store only holds text it serialised itself: failing here is a bug, not bad data.
    throw std::logic_error("cached object " + std::string(key) + " holds invalid JSON");
  }
  Json document = std::move(*parsed);
  auto& allocator = document.GetAllocator();
  auto metadata = document.FindMember("metadata");
  if (metadata == document.MemberEnd()) {
    document.AddMember("metadata", JsonValue(rapidjson::kObjectType), allocator);
    metadata = document.MemberEnd() - 1;
  }
  const auto slash = key.find('/');
  const std::string_view ns = slash == std::string_view::npos ? "" : key.substr(0, slash);
  const std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  for (const auto& [field, value] :
       {std::pair{"name", name}, std::pair{"namespace", ns}, std::pair{"uid", uid},
        std::pair{"resourceVersion", resourceVersion}}) {
    if (value.empty() || metadata->value.HasMember(field)) continue;
    metadata->value.AddMember(rapidjson::StringRef(field), stringValue(value, allocator),
                              allocator);
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
  rapidjson::StringBuffer text;
  writeWithoutIdentity(object, text);
  return std::make_shared<const CachedObject>(objectKey(namespaceOf(object), name), uidOf(object),
                                              resourceVersionOf(object),
                                              std::string_view(text.GetString(), text.GetSize()));
}

void stripManagedFields(Json& object) {
  if (!object.IsObject()) return;
  auto metadata = object.FindMember("metadata");
  if (metadata == object.MemberEnd() || !metadata->value.IsObject()) return;
  metadata->value.RemoveMember("managedFields");
}

CachedObjectPtr Store::get(std::string_view key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : *it;
}

std::vector<std::string> Store::keys() const {
  std::vector<std::string> result;
  result.reserve(objects_.size());
  for (const CachedObjectPtr& object : objects_) result.emplace_back(object->key);
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<CachedObjectPtr> Store::list() const {
  return std::vector<CachedObjectPtr>(objects_.begin(), objects_.end());
}

CachedObjectPtr Store::upsert(CachedObjectPtr object) {
  if (!object) throw std::invalid_argument("Store::upsert: null object");
  jsonBytes_ += object->json.size();
  auto it = objects_.find(object->key);
  if (it == objects_.end()) {
    objects_.insert(std::move(object));
    return nullptr;
  }
  // Same key, so the node can take the new object in place.
  auto node = objects_.extract(it);
  CachedObjectPtr previous = std::move(node.value());
  jsonBytes_ -= previous->json.size();
  node.value() = std::move(object);
  objects_.insert(std::move(node));
  return previous;
}

CachedObjectPtr Store::erase(std::string_view key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  CachedObjectPtr previous = *it;
  objects_.erase(it);
  jsonBytes_ -= previous->json.size();
  return previous;
}

void Store::clear() {
  objects_.clear();
  jsonBytes_ = 0;
}

}  // namespace bisync::kube
