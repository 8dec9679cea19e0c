#include "syncer/engine/cache_forms.hpp"

#include <array>
#include <initializer_list>
#include <span>

#include "policies/sync_plan.hpp"
#include "syncer/engine/managed_fields.hpp"
#include "syncer/kube/informer.hpp"

namespace bisync::engine {

namespace {

using kube::Json;
using kube::JsonValue;
using Allocator = Json::AllocatorType;

// What mapping::contentHash puts before the hex digits.
constexpr std::string_view kHashPrefix = "sha256:";
// In the cache only, never on a server: the writtenDigest of the object before it was compacted.
// A metadata member, so that syncView leaves it out.
constexpr std::string_view kWrittenDigestMember = "kube-bisync.io/written";

// The syncer's keys that it writes on a target copy (stampOrigin, the merge base), not
// last-synced.
constexpr std::array<std::string_view, 3> kWrittenLabels = {
    mapping::kManagedByLabel, mapping::kSourceNamespaceLabel, mapping::kSourceNameLabel};
constexpr std::array<std::string_view, 5> kWrittenAnnotations = {
    mapping::kSourceClusterAnnotation, mapping::kSourceNamespaceAnnotation,
    mapping::kSourceNameAnnotation, mapping::kSourceUidAnnotation, mapping::kMergeBaseAnnotation};

// What identifies an object and its lifecycle: kept in every cached form.
// deletionGracePeriodSeconds: a Pod's host copy is deleted with the grace its source was.
constexpr std::initializer_list<const char*> kIdentity = {"name",
                                                          "namespace",
                                                          "uid",
                                                          "resourceVersion",
                                                          "deletionTimestamp",
                                                          "deletionGracePeriodSeconds"};

const JsonValue* metadataOf(const JsonValue& object) {
  const JsonValue* metadata = object.IsObject() ? kube::member(object, "metadata") : nullptr;
  return metadata != nullptr && metadata->IsObject() ? metadata : nullptr;
}

void copyMembers(const JsonValue& from, JsonValue& to, std::initializer_list<const char*> names,
                 Allocator& allocator) {
  for (const char* name : names) {
    if (const JsonValue* value = kube::member(from, name)) {
      to.AddMember(JsonValue(name, allocator), JsonValue(*value, allocator), allocator);
    }
  }
}

// Every top-level member of `from` but apiVersion, kind and metadata: an object's content.
void copyContent(const JsonValue& from, JsonValue& to, Allocator& allocator) {
  for (const auto& member : from.GetObject()) {
    const std::string_view name = kube::stringView(member.name);
    if (name == "apiVersion" || name == "kind" || name == "metadata") continue;
    to.AddMember(JsonValue(member.name, allocator), JsonValue(member.value, allocator), allocator);
  }
}

// metadata.<field> entries whose key has the syncer's prefix, merged into `to` (an object).
void addSyncerEntries(const JsonValue* metadata, std::string_view field, JsonValue& to,
                      Allocator& allocator) {
  const JsonValue* entries = metadata != nullptr ? kube::member(*metadata, field) : nullptr;
  if (entries == nullptr || !entries->IsObject()) return;
  for (const auto& entry : entries->GetObject()) {
    if (kube::stringView(entry.name).starts_with(mapping::kSyncerKeyPrefix)) {
      to.AddMember(JsonValue(entry.name, allocator), JsonValue(entry.value, allocator), allocator);
    }
  }
}

// metadata.<field>[key], when it is there, into `to` (an object).
void copyEntry(const JsonValue* metadata, std::string_view field, std::string_view key,
               JsonValue& to, Allocator& allocator) {
  const JsonValue* entries = metadata != nullptr ? kube::member(*metadata, field) : nullptr;
  const JsonValue* value = entries != nullptr ? kube::member(*entries, key) : nullptr;
  if (value != nullptr) {
    to.AddMember(kube::stringValue(key, allocator), JsonValue(*value, allocator), allocator);
  }
}

bool labelledBy(const JsonValue* metadata, std::string_view cluster) {
  const JsonValue* labels = metadata != nullptr ? kube::member(*metadata, "labels") : nullptr;
  return labels != nullptr && labels->IsObject() &&
         kube::stringMember(*labels, mapping::kManagedByLabel) == cluster;
}

// Name, namespace and the managed-by label of a target object that is not ours: enough to see
// that its name is taken, and by whom.
void stub(Json& object) {
  const JsonValue* metadata = metadataOf(object);
  Json out(rapidjson::kObjectType);
  Allocator& allocator = out.GetAllocator();
  JsonValue kept(rapidjson::kObjectType);
  if (metadata != nullptr) {
    copyMembers(*metadata, kept, kIdentity, allocator);
    JsonValue labels(rapidjson::kObjectType);
    copyEntry(metadata, "labels", mapping::kManagedByLabel, labels, allocator);
    if (labels.MemberCount() > 0) kept.AddMember("labels", labels, allocator);
  }
  out.AddMember("metadata", kept, allocator);
  object.Swap(out);
}

// writtenHash of the object whose syncView is `view` and whose metadata is `metadata`.
std::string writtenHashOf(const JsonValue& view, const JsonValue* metadata,
                          const policies::OwnershipMap& ownership) {
  Json input = policies::writtenFields(view, policies::Side::Target, ownership);
  Allocator& allocator = input.GetAllocator();
  // The syncer's own keys, under names no API field has. Only those it writes: another
  // kube-bisync.io/ key someone put on a copy is theirs (an apply could never remove it), and
  // last-synced is what carries the hash.
  const auto addWritten = [&](std::string_view field, std::span<const std::string_view> keys) {
    JsonValue entries(rapidjson::kObjectType);
    for (const std::string_view key : keys) copyEntry(metadata, field, key, entries, allocator);
    if (entries.MemberCount() > 0) {
      input.AddMember(kube::stringValue("#" + std::string(field), allocator), entries, allocator);
    }
  };
  addWritten("labels", kWrittenLabels);
  addWritten("annotations", kWrittenAnnotations);
  return mapping::contentHash(input).substr(kHashPrefix.size());
}

}  // namespace

Json syncView(const JsonValue& object) {
  Json view(rapidjson::kObjectType);
  if (!object.IsObject()) return view;
  auto& allocator = view.GetAllocator();
  copyContent(object, view, allocator);
  const JsonValue* metadata = metadataOf(object);
  if (metadata == nullptr) return view;
  JsonValue kept(rapidjson::kObjectType);
  for (const std::string_view field : {"labels", "annotations"}) {
    const JsonValue* entries = kube::member(*metadata, field);
    if (entries == nullptr || !entries->IsObject()) continue;
    JsonValue copy(rapidjson::kObjectType);
    for (const auto& entry : entries->GetObject()) {
      const std::string_view key = kube::stringView(entry.name);
      if (key.starts_with(mapping::kSyncerKeyPrefix) || key == mapping::kLastAppliedAnnotation) {
        continue;
      }
      copy.AddMember(JsonValue(entry.name, allocator), JsonValue(entry.value, allocator),
                     allocator);
    }
    if (copy.MemberCount() > 0) {
      kept.AddMember(kube::stringValue(field, allocator), copy, allocator);
    }
  }
  if (kept.MemberCount() > 0) view.AddMember("metadata", kept, allocator);
  return view;
}

std::string writtenHash(const JsonValue& object, const policies::OwnershipMap& ownership) {
  return writtenHashOf(syncView(object), metadataOf(object), ownership);
}

std::string_view writtenDigest(std::string_view hash) { return hash.substr(0, 32); }

std::string lastSyncedValue(std::string_view hash) {
  return std::string(kHashPrefix) + std::string(hash);
}

std::string storedWrittenDigest(const JsonValue& object, const policies::OwnershipMap& ownership) {
  const JsonValue* metadata = metadataOf(object);
  const std::string_view stored =
      metadata != nullptr ? kube::stringMember(*metadata, kWrittenDigestMember) : "";
  if (!stored.empty()) return std::string(stored);
  return std::string(writtenDigest(writtenHash(object, ownership)));
}

void CacheForms::compactSource(Json& object) const {
  const JsonValue* metadata = metadataOf(object);
  if (metadata == nullptr) return;  // makeCachedObject refuses it
  if (keepFieldOwners) engine::keepFieldOwners(object);
  Json out(rapidjson::kObjectType);
  Allocator& allocator = out.GetAllocator();
  JsonValue kept(rapidjson::kObjectType);
  copyMembers(*metadata, kept, kIdentity, allocator);
  // ownerReferences: a copy's references to the copies of synced owners are made from them.
  // creationTimestamp: limits.maxObjectsPerNamespace copies the oldest objects first.
  // finalizers: whether ours is there, and the array a patch of ours tests (finalizer.hpp).
  copyMembers(*metadata, kept,
              {"creationTimestamp", "labels", "annotations", "ownerReferences", "finalizers"},
              allocator);
  if (keepFieldOwners) copyMembers(*metadata, kept, {"managedFields"}, allocator);
  out.AddMember("metadata", kept, allocator);
  copyContent(object, out, allocator);
  object.Swap(out);
}

void CacheForms::compactTarget(Json& object) const {
  const JsonValue* metadata = metadataOf(object);
  if (metadata == nullptr) return;
  if (!labelledBy(metadata, mapper->config().clusterName)) {
    // Only an object its owner opted in to createOnSource may flow up and needs its content.
    if (keepForeignContent && mapping::optedInToCreateOnSource(object)) {
      kube::stripManagedFields(object);
    } else {
      stub(object);
    }
    return;
  }
  // Labelled ours, but its origin metadata is incomplete or inconsistent: a claim, not a copy.
  // Checked here, on the whole object, because the compact form keeps only the managed-by label
  // of the origin labels (the digest stands for the others).
  if (!mapper->originOf(object)) {
    stub(object);
    return;
  }
  // One view serves the digest and what stays readable (keepFieldOwners touches only
  // managedFields, which the view leaves out).
  const Json view = syncView(object);
  const std::string digest(writtenDigest(writtenHashOf(view, metadata, *ownership)));
  if (keepFieldOwners) engine::keepFieldOwners(object);
  metadata = metadataOf(object);
  // What stays readable: the fields the target owns or shares (writtenFields on the source).
  const Json shared = policies::writtenFields(view, policies::Side::Source, *ownership);

  Json out(rapidjson::kObjectType);
  Allocator& allocator = out.GetAllocator();
  JsonValue kept(rapidjson::kObjectType);
  copyMembers(*metadata, kept, kIdentity, allocator);
  if (keepFieldOwners) copyMembers(*metadata, kept, {"managedFields"}, allocator);
  const JsonValue* sharedMetadata = metadataOf(shared);
  for (const std::string_view field : {"labels", "annotations"}) {
    JsonValue entries(rapidjson::kObjectType);
    // Of the syncer's labels only managed-by is read back (originOf); the origin annotations
    // carry the rest, and the digest stands for all of them.
    if (field == "labels") {
      copyEntry(metadata, field, mapping::kManagedByLabel, entries, allocator);
    } else {
      addSyncerEntries(metadata, field, entries, allocator);
    }
    if (const JsonValue* travelling =
            sharedMetadata != nullptr ? kube::member(*sharedMetadata, field) : nullptr) {
      for (const auto& entry : travelling->GetObject()) {
        entries.AddMember(JsonValue(entry.name, allocator), JsonValue(entry.value, allocator),
                          allocator);
      }
    }
    if (entries.MemberCount() > 0) {
      kept.AddMember(kube::stringValue(field, allocator), entries, allocator);
    }
  }
  kept.AddMember(kube::stringValue(kWrittenDigestMember, allocator),
                 kube::stringValue(digest, allocator), allocator);
  out.AddMember("metadata", kept, allocator);
  copyContent(shared, out, allocator);
  object.Swap(out);
}

}  // namespace bisync::engine
