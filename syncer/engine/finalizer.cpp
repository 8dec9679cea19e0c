#include "syncer/engine/finalizer.hpp"

namespace bisync::engine {

namespace {

using kube::Json;
using kube::JsonValue;

const JsonValue* finalizersOf(const JsonValue& object) {
  const JsonValue* finalizers = kube::at(object, "/metadata/finalizers");
  return finalizers != nullptr && finalizers->IsArray() ? finalizers : nullptr;
}

// {"op": op, "path": path}, with `value` when given.
void addOperation(Json& patch, std::string_view op, std::string_view path, const JsonValue* value) {
  auto& allocator = patch.GetAllocator();
  JsonValue operation(rapidjson::kObjectType);
  operation.AddMember("op", kube::stringValue(op, allocator), allocator);
  operation.AddMember("path", kube::stringValue(path, allocator), allocator);
  if (value != nullptr) operation.AddMember("value", JsonValue(*value, allocator), allocator);
  patch.PushBack(operation, allocator);
}

// The last operation of every patch: the resourceVersion read is a precondition of the write.
void requireVersion(Json& patch, const JsonValue& object) {
  const JsonValue version =
      kube::stringValue(kube::resourceVersionOf(object), patch.GetAllocator());
  addOperation(patch, "replace", "/metadata/resourceVersion", &version);
}

}  // namespace

std::optional<std::size_t> finalizerIndex(const JsonValue& object, std::string_view finalizer) {
  const JsonValue* finalizers = finalizersOf(object);
  if (finalizers == nullptr) return std::nullopt;
  for (rapidjson::SizeType i = 0; i < finalizers->Size(); ++i) {
    const JsonValue& entry = (*finalizers)[i];
    if (entry.IsString() && kube::stringView(entry) == finalizer) return i;
  }
  return std::nullopt;
}

FinalizerStep decideFinalizer(const FinalizerInputs& in) {
  const bool guards = in.enabled && in.syncsDown && in.sourceSynced && !in.terminating;
  if (!in.hasOurs) return guards ? FinalizerStep::Add : FinalizerStep::None;
  // A copy the source no longer wants is deleted first (and its deletion awaited): only then may
  // the source go, or stop being guarded.
  if (in.copyPresent && !in.sourceSynced) return FinalizerStep::WaitForCopy;
  return guards ? FinalizerStep::None : FinalizerStep::Remove;
}

std::string_view toString(FinalizerStep step) {
  switch (step) {
    case FinalizerStep::None: return "none";
    case FinalizerStep::Add: return "add";
    case FinalizerStep::WaitForCopy: return "wait for copy";
    case FinalizerStep::Remove: return "remove";
  }
  return "?";
}

std::optional<std::string> addFinalizerPatch(const JsonValue& object, std::string_view finalizer) {
  if (hasFinalizer(object, finalizer)) return std::nullopt;
  Json patch(rapidjson::kArrayType);
  auto& allocator = patch.GetAllocator();
  const JsonValue entry = kube::stringValue(finalizer, allocator);
  if (const JsonValue* finalizers = finalizersOf(object)) {
    addOperation(patch, "test", "/metadata/finalizers", finalizers);
    addOperation(patch, "add", "/metadata/finalizers/-", &entry);
  } else {
    JsonValue list(rapidjson::kArrayType);
    list.PushBack(kube::stringValue(finalizer, allocator), allocator);
    addOperation(patch, "add", "/metadata/finalizers", &list);
  }
  requireVersion(patch, object);
  return kube::toJson(patch);
}

std::optional<std::string> removeFinalizerPatch(const JsonValue& object,
                                                std::string_view finalizer) {
  const std::optional<std::size_t> index = finalizerIndex(object, finalizer);
  if (!index) return std::nullopt;
  Json patch(rapidjson::kArrayType);
  // The whole array as read: the index removed is the one of our entry, whoever wrote since.
  addOperation(patch, "test", "/metadata/finalizers", finalizersOf(object));
  addOperation(patch, "remove", "/metadata/finalizers/" + std::to_string(*index), nullptr);
  requireVersion(patch, object);
  return kube::toJson(patch);
}

}  // namespace bisync::engine
