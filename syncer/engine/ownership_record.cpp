#include "syncer/engine/ownership_record.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "mapping/names.hpp"
#include "syncer/engine/internal/sync_state.hpp"

namespace bisync::engine {

namespace {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

constexpr std::string_view kNamespacePrefix = "namespace.";
constexpr std::string_view kCopiedUpPrefix = "copied-up.";
constexpr std::string_view kCopiedDownPrefix = "copied-down.";
// 80 bits of SHA-256 of "resource/namespace/name": the entry's full identity is in its value.
constexpr std::size_t kCopiedUpHashLength = 20;

std::string stringOf(const JsonValue& object, std::string_view member) {
  return std::string(kube::stringMember(object, member));
}

std::optional<OwnedNamespace> namespaceEntry(const JsonValue& value) {
  OwnedNamespace entry{stringOf(value, "uid"), stringOf(value, "sourceNamespace")};
  if (entry.uid.empty() || entry.sourceNamespace.empty()) return std::nullopt;
  return entry;
}

// A copied-up or copied-down entry (copied-down ones have no namespace). Only a copied-up one
// may lack its source uid: the intent written before the source object is created.
std::optional<CopiedUp> copiedUpEntry(const JsonValue& value, bool mayBePending) {
  CopiedUp entry{stringOf(value, "resource"), stringOf(value, "namespace"), stringOf(value, "name"),
                 stringOf(value, "targetUid"), stringOf(value, "sourceUid")};
  // No namespace: a cluster-scoped object mirrored into the source (cluster_mirror.cpp).
  if (entry.resource.empty() || entry.name.empty() || entry.targetUid.empty() ||
      (entry.sourceUid.empty() && !mayBePending)) {
    return std::nullopt;
  }
  return entry;
}

// Adds the entry under `key` (with `text` its value) to `entries`, or says why not.
void addEntry(RecordEntries& entries, std::string_view key, std::string_view text) {
  const std::string where = "entry " + std::string(key);
  kube::Result<Json> value = kube::parseJson(text, where);
  if (!value || !value->IsObject()) {
    entries.problems.push_back(where + ": " +
                               (value ? std::string("not a JSON object") : value.error().message));
    return;
  }
  if (key.starts_with(kNamespacePrefix)) {
    const std::string ns(key.substr(kNamespacePrefix.size()));
    if (const auto entry = namespaceEntry(*value); entry && !ns.empty()) {
      entries.namespaces.emplace(ns, *entry);
      return;
    }
  } else if (key.starts_with(kCopiedUpPrefix)) {
    if (auto entry = copiedUpEntry(*value, /*mayBePending=*/true);
        entry && copiedUpEntryKey(entry->resource, entry->ns, entry->name) == key) {
      entries.copiedUp.emplace(std::string(key), std::move(*entry));
      return;
    }
  } else if (key.starts_with(kCopiedDownPrefix)) {
    if (auto entry = copiedUpEntry(*value, /*mayBePending=*/false);
        entry && entry->ns.empty() && copiedDownEntryKey(entry->resource, entry->name) == key) {
      entries.copiedDown.emplace(std::string(key), std::move(*entry));
      return;
    }
  }
  entries.problems.push_back(where + ": unknown key or incomplete value");
}

}  // namespace

RecordEntries parseRecord(const JsonValue& configMap) {
  RecordEntries entries;
  const JsonValue* data = kube::member(configMap, "data");
  if (data == nullptr || !data->IsObject()) return entries;
  for (const auto& member : data->GetObject()) {
    if (!member.value.IsString()) continue;
    addEntry(entries, kube::stringView(member.name), kube::stringView(member.value));
  }
  return entries;
}

std::string namespaceEntryKey(std::string_view targetNamespace) {
  return std::string(kNamespacePrefix) + std::string(targetNamespace);
}

std::string copiedUpEntryKey(std::string_view resource, std::string_view ns,
                             std::string_view name) {
  const std::string identity =
      std::string(resource) + "/" + std::string(ns) + "/" + std::string(name);
  return std::string(kCopiedUpPrefix) +
         mapping::stableHash(identity).substr(0, kCopiedUpHashLength);
}

std::string copiedDownEntryKey(std::string_view resource, std::string_view name) {
  const std::string identity = std::string(resource) + "//" + std::string(name);
  return std::string(kCopiedDownPrefix) +
         mapping::stableHash(identity).substr(0, kCopiedUpHashLength);
}

std::string entryValue(const OwnedNamespace& entry) {
  Json value(rapidjson::kObjectType);
  auto& allocator = value.GetAllocator();
  value.AddMember("uid", kube::stringValue(entry.uid, allocator), allocator);
  value.AddMember("sourceNamespace", kube::stringValue(entry.sourceNamespace, allocator),
                  allocator);
  return kube::toJson(value);
}

std::string entryValue(const CopiedUp& entry) {
  Json value(rapidjson::kObjectType);
  auto& allocator = value.GetAllocator();
  value.AddMember("resource", kube::stringValue(entry.resource, allocator), allocator);
  value.AddMember("namespace", kube::stringValue(entry.ns, allocator), allocator);
  value.AddMember("name", kube::stringValue(entry.name, allocator), allocator);
  value.AddMember("targetUid", kube::stringValue(entry.targetUid, allocator), allocator);
  value.AddMember("sourceUid", kube::stringValue(entry.sourceUid, allocator), allocator);
  return kube::toJson(value);
}

OwnershipRecord::OwnershipRecord(kube::Client& target, std::string stateNamespace,
                                 std::string clusterName, std::string fieldManager,
                                 std::function<void()> onChange)
    : client_(target),
      namespace_(std::move(stateNamespace)),
      name_("kube-bisync-ownership-" + clusterName),
      fieldManager_(std::move(fieldManager)),
      onChange_(std::move(onChange)) {
  kube::InformerOptions options;
  options.ns = namespace_;
  options.fieldSelector = "metadata.name=" + name_;
  auto changed = [this](const kube::CachedObjectPtr& object) {
    if (load(object->parse(), object->resourceVersion) && onChange_) onChange_();
  };
  auto removed = [this](const kube::CachedObjectPtr&) {
    // Deleted by someone else: nothing is provably ours any more (nothing is deleted either).
    spdlog::warn("ownership record {} was deleted: no target namespace counts as ours now",
                 describe());
    entries_ = RecordEntries{};
    version_.clear();
    if (onChange_) onChange_();
  };
  informer_ = std::make_unique<kube::Informer>(
      client_, kube::resources::configMaps(), options,
      kube::InformerHandlers{changed, [changed](const auto&, const auto& now) { changed(now); },
                             removed});
}

OwnershipRecord::~OwnershipRecord() = default;

kube::Informer& OwnershipRecord::informer() { return *informer_; }

std::string OwnershipRecord::describe() const { return "configmap " + namespace_ + "/" + name_; }

const std::map<std::string, OwnedNamespace, std::less<>>& OwnershipRecord::namespaces() const {
  return entries_.namespaces;
}

const OwnedNamespace* OwnershipRecord::findNamespace(std::string_view targetNamespace) const {
  const auto it = entries_.namespaces.find(targetNamespace);
  return it == entries_.namespaces.end() ? nullptr : &it->second;
}

bool OwnershipRecord::ownsNamespace(std::string_view targetNamespace, std::string_view uid) const {
  const OwnedNamespace* entry = findNamespace(targetNamespace);
  return entry != nullptr && !uid.empty() && entry->uid == uid;
}

const CopiedUp* OwnershipRecord::findCopiedUp(std::string_view resource, std::string_view ns,
                                              std::string_view name) const {
  const auto it = entries_.copiedUp.find(copiedUpEntryKey(resource, ns, name));
  return it == entries_.copiedUp.end() ? nullptr : &it->second;
}

std::vector<CopiedUp> OwnershipRecord::copiedUpIn(std::string_view targetNamespace) const {
  std::vector<CopiedUp> entries;
  for (const auto& [key, entry] : entries_.copiedUp) {
    if (entry.ns == targetNamespace) entries.push_back(entry);
  }
  return entries;
}

const CopiedUp* OwnershipRecord::findCopiedDown(std::string_view resource,
                                                std::string_view name) const {
  const auto it = entries_.copiedDown.find(copiedDownEntryKey(resource, name));
  return it == entries_.copiedDown.end() ? nullptr : &it->second;
}

asio::awaitable<kube::Result<void>> OwnershipRecord::recordNamespace(
    const std::string& targetNamespace, const OwnedNamespace& entry) {
  const std::string key = namespaceEntryKey(targetNamespace);
  const std::optional<std::string> value = entryValue(entry);
  co_return co_await write(key, value);
}

asio::awaitable<kube::Result<void>> OwnershipRecord::forgetNamespace(
    const std::string& targetNamespace) {
  const std::string key = namespaceEntryKey(targetNamespace);
  const std::optional<std::string> none;
  co_return co_await write(key, none);
}

asio::awaitable<kube::Result<void>> OwnershipRecord::recordCopiedUp(const CopiedUp& entry) {
  const std::string key = copiedUpEntryKey(entry.resource, entry.ns, entry.name);
  const std::optional<std::string> value = entryValue(entry);
  co_return co_await write(key, value);
}

asio::awaitable<kube::Result<void>> OwnershipRecord::forgetCopiedUp(const CopiedUp& entry) {
  const std::string key = copiedUpEntryKey(entry.resource, entry.ns, entry.name);
  const std::optional<std::string> none;
  co_return co_await write(key, none);
}

asio::awaitable<kube::Result<std::optional<CopiedUp>>> OwnershipRecord::finishOrForgetIntent(
    const CopiedUp& intent, bool proven, std::string shownUid) {
  if (!proven) {
    if (const kube::Result<void> done = co_await forgetCopiedUp(intent); !done) {
      co_return kube::fail(done.error());
    }
    co_return std::nullopt;
  }
  CopiedUp finished = intent;
  finished.sourceUid = std::move(shownUid);
  if (const kube::Result<void> done = co_await recordCopiedUp(finished); !done) {
    co_return kube::fail(done.error());
  }
  co_return finished;
}

asio::awaitable<kube::Result<void>> OwnershipRecord::recordCopiedDown(const CopiedUp& entry) {
  const std::string key = copiedDownEntryKey(entry.resource, entry.name);
  const std::optional<std::string> value = entryValue(entry);
  co_return co_await write(key, value);
}

asio::awaitable<kube::Result<void>> OwnershipRecord::forgetCopiedDown(const CopiedUp& entry) {
  const std::string key = copiedDownEntryKey(entry.resource, entry.name);
  const std::optional<std::string> none;
  co_return co_await write(key, none);
}

bool OwnershipRecord::load(const JsonValue& configMap, std::string_view version) {
  // Held already (our own write's answer, then its watch event), or older than what is held.
  if (!version_.empty() && internal::versionAtLeast(version_, version)) return false;
  RecordEntries entries = parseRecord(configMap);
  for (const std::string& problem : entries.problems) {
    spdlog::warn("ownership record {}: ignoring {}", describe(), problem);
  }
  const bool changed = entries.namespaces != entries_.namespaces ||
                       entries.copiedUp != entries_.copiedUp ||
                       entries.copiedDown != entries_.copiedDown;
  entries_ = std::move(entries);
  version_ = std::string(version);
  return changed;
}

// A merge patch of one key; the ConfigMap is created when it does not exist yet.
asio::awaitable<kube::Result<void>> OwnershipRecord::write(
    const std::string& key, const std::optional<std::string>& value) {
  Json patch(rapidjson::kObjectType);
  auto& allocator = patch.GetAllocator();
  JsonValue data(rapidjson::kObjectType);
  data.AddMember(kube::stringValue(key, allocator),
                 value ? kube::stringValue(*value, allocator) : JsonValue(rapidjson::kNullType),
                 allocator);
  patch.AddMember("data", data, allocator);
  const kube::ResourceInfo resource = kube::resources::configMaps();
  kube::PatchOptions options;
  options.fieldManager = fieldManager_;
  const std::string body = kube::toJson(patch);
  kube::Result<Json> written =
      co_await client_.patch(resource, namespace_, name_, kube::PatchType::Merge, body, options);
  if (!written && written.error().isNotFound() && value) {
    JsonValue metadata(rapidjson::kObjectType);
    metadata.AddMember("name", kube::stringValue(name_, allocator), allocator);
    patch.AddMember("metadata", metadata, allocator);
    patch.AddMember("apiVersion", "v1", allocator);
    patch.AddMember("kind", "ConfigMap", allocator);
    kube::WriteOptions createOptions;
    createOptions.fieldManager = fieldManager_;
    written = co_await client_.create(resource, namespace_, patch, createOptions);
    if (!written && written.error().isAlreadyExists()) {  // made meanwhile: patch it after all
      written = co_await client_.patch(resource, namespace_, name_, kube::PatchType::Merge, body,
                                       options);
    }
  }
  if (!written) {
    if (!value && written.error().isNotFound()) co_return kube::Result<void>{};
    kube::Error error = written.error();
    error.message = "ownership record " + describe() + ": " + error.message;
    co_return kube::fail(std::move(error));
  }
  ++writes_;
  load(*written, kube::resourceVersionOf(*written));
  co_return kube::Result<void>{};
}

}  // namespace bisync::engine
