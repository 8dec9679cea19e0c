#include "syncer/engine/node_mirror_rules.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "mapping/identity_mapper.hpp"

namespace bisync::engine {

namespace {

using kube::Json;
using kube::JsonValue;

// The members of a Node's status a tenant reads, and the virtual Node carries.
constexpr std::array<std::string_view, 5> kStatusMembers = {"capacity", "allocatable", "conditions",
                                                            "addresses", "nodeInfo"};
// The members of a Node's spec the virtual Node carries (what `kubectl describe node` shows of it).
constexpr std::array<std::string_view, 2> kSpecMembers = {"taints", "unschedulable"};

// Sets `name` in `object` to a copy of `value`, or removes it when `value` is null.
void setOrRemove(JsonValue& object, std::string_view name, const JsonValue* value,
                 Json::AllocatorType& allocator) {
  const JsonValue key = JsonValue(rapidjson::StringRef(name.data(), name.size()));
  object.RemoveMember(key);
  if (value != nullptr) {
    object.AddMember(kube::stringValue(name, allocator), JsonValue(*value, allocator), allocator);
  }
}

JsonValue& objectMember(JsonValue& object, std::string_view name, Json::AllocatorType& allocator) {
  const JsonValue key = JsonValue(rapidjson::StringRef(name.data(), name.size()));
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsObject()) {
    object.RemoveMember(key);
    object.AddMember(kube::stringValue(name, allocator), JsonValue(rapidjson::kObjectType),
                     allocator);
    it = object.FindMember(key);
  }
  return it->value;
}

// Canonical JSON of the value at `pointer`, "null" when absent; `false` of a missing
// unschedulable is the same as absent.
std::string canonicalAt(const JsonValue& object, std::string_view pointer) {
  const JsonValue* value = kube::at(object, pointer);
  if (value == nullptr || (value->IsBool() && !value->GetBool())) return "null";
  return mapping::canonicalJson(*value);
}

// The conditions of a Node as compared: without lastHeartbeatTime, sorted by type.
std::string conditionsView(const JsonValue& node) {
  const JsonValue* conditions = kube::at(node, "/status/conditions");
  if (conditions == nullptr || !conditions->IsArray()) return "null";
  std::vector<std::string> entries;
  for (const JsonValue& condition : conditions->GetArray()) {
    if (!condition.IsObject()) continue;
    Json copy;
    copy.CopyFrom(condition, copy.GetAllocator());
    copy.RemoveMember("lastHeartbeatTime");
    entries.push_back(mapping::canonicalJson(copy));
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& entry : entries) out += entry + "\n";
  return out;
}

void copyMembers(const JsonValue& from, JsonValue& to, const auto& names,
                 Json::AllocatorType& allocator) {
  for (const std::string_view name : names) {
    const JsonValue* value = from.IsObject() ? kube::member(from, name) : nullptr;
    if (value != nullptr && !value->IsNull()) {
      to.AddMember(kube::stringValue(name, allocator), JsonValue(*value, allocator), allocator);
    }
  }
}

const JsonValue& memberOrEmpty(const JsonValue& object, std::string_view name) {
  static const JsonValue kEmpty(rapidjson::kObjectType);
  const JsonValue* value = kube::member(object, name);
  return value != nullptr && value->IsObject() ? *value : kEmpty;
}

}  // namespace

void compactHostNode(Json& node) {
  Json kept(rapidjson::kObjectType);
  auto& allocator = kept.GetAllocator();
  JsonValue metadata(rapidjson::kObjectType);
  const JsonValue& from = memberOrEmpty(node, "metadata");
  copyMembers(from, metadata,
              std::array<std::string_view, 4>{"name", "uid", "resourceVersion", "labels"},
              allocator);
  kept.AddMember("metadata", metadata, allocator);
  JsonValue spec(rapidjson::kObjectType);
  copyMembers(memberOrEmpty(node, "spec"), spec, kSpecMembers, allocator);
  kept.AddMember("spec", spec, allocator);
  JsonValue status(rapidjson::kObjectType);
  copyMembers(memberOrEmpty(node, "status"), status, kStatusMembers, allocator);
  kept.AddMember("status", status, allocator);
  node.Swap(kept);
}

Json virtualNodeOf(const JsonValue& hostNode, std::string_view instance) {
  Json node(rapidjson::kObjectType);
  auto& allocator = node.GetAllocator();
  node.AddMember("apiVersion", "v1", allocator);
  node.AddMember("kind", "Node", allocator);
  JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", kube::stringValue(kube::nameOf(hostNode), allocator), allocator);
  JsonValue annotations(rapidjson::kObjectType);
  annotations.AddMember(kube::stringValue(mapping::kCreatedFromTargetUidAnnotation, allocator),
                        kube::stringValue(kube::uidOf(hostNode), allocator), allocator);
  metadata.AddMember("annotations", annotations, allocator);
  node.AddMember("metadata", metadata, allocator);
  node.AddMember("spec", JsonValue(rapidjson::kObjectType), allocator);
  Json out = withHostMetadata(node, hostNode, instance);
  return out;
}

bool madeFromHostNode(const JsonValue& virtualNode, std::string_view hostUid) {
  const JsonValue* annotations = kube::at(virtualNode, "/metadata/annotations");
  return !hostUid.empty() && annotations != nullptr &&
         kube::stringMember(*annotations, mapping::kCreatedFromTargetUidAnnotation) == hostUid;
}

Json withHostMetadata(const JsonValue& virtualNode, const JsonValue& hostNode,
                      std::string_view instance) {
  Json out;
  out.CopyFrom(virtualNode, out.GetAllocator());
  auto& allocator = out.GetAllocator();
  JsonValue& metadata = objectMember(out, "metadata", allocator);
  setOrRemove(metadata, "labels", kube::at(hostNode, "/metadata/labels"), allocator);
  JsonValue& annotations = objectMember(metadata, "annotations", allocator);
  const JsonValue marker = kube::stringValue(instance, allocator);
  setOrRemove(annotations, mapping::kCreatedFromTargetAnnotation, &marker, allocator);
  JsonValue& spec = objectMember(out, "spec", allocator);
  for (const std::string_view name : kSpecMembers) {
    const JsonValue* value = kube::at(hostNode, "/spec/" + std::string(name));
    setOrRemove(spec, name, value, allocator);
  }
  out.RemoveMember("status");  // an update of the main resource ignores it
  return out;
}

Json withHostStatus(const JsonValue& virtualNode, const JsonValue& hostNode) {
  Json out;
  out.CopyFrom(virtualNode, out.GetAllocator());
  auto& allocator = out.GetAllocator();
  JsonValue status(rapidjson::kObjectType);
  copyMembers(memberOrEmpty(hostNode, "status"), status, kStatusMembers, allocator);
  out.RemoveMember("status");
  out.AddMember("status", status, allocator);
  return out;
}

NodeDrift nodeDrift(const JsonValue& hostNode, const JsonValue& virtualNode) {
  NodeDrift drift;
  for (const char* pointer : {"/metadata/labels", "/spec/taints", "/spec/unschedulable"}) {
    drift.metadata |= canonicalAt(hostNode, pointer) != canonicalAt(virtualNode, pointer);
  }
  for (const std::string_view name : kStatusMembers) {
    if (name == "conditions") continue;
    const std::string pointer = "/status/" + std::string(name);
    drift.status |= canonicalAt(hostNode, pointer) != canonicalAt(virtualNode, pointer);
  }
  drift.status |= conditionsView(hostNode) != conditionsView(virtualNode);
  return drift;
}

NodeAction decideNode(bool hostNode, bool podsRun, bool virtualPresent, bool recorded, bool ours) {
  const bool wanted = hostNode && podsRun;
  if (ours) return wanted ? NodeAction::Sync : NodeAction::Remove;
  if (recorded) return NodeAction::Forget;  // the recorded Node is gone or another one now
  if (!wanted) return NodeAction::None;
  return virtualPresent ? NodeAction::Clash : NodeAction::Create;
}

}  // namespace bisync::engine
