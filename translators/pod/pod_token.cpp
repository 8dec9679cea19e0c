#include "translators/pod/pod_token.hpp"

#include <charconv>

#include "mapping/identity_mapper.hpp"

namespace bisync::translators {

using kube::Json;
using kube::JsonValue;

namespace {

bool mountsAtTokenPath(const JsonValue& containers) {
  if (!containers.IsArray()) return false;
  for (const JsonValue& container : containers.GetArray()) {
    const JsonValue* mounts =
        container.IsObject() ? kube::member(container, "volumeMounts") : nullptr;
    if (mounts == nullptr || !mounts->IsArray()) continue;
    for (const JsonValue& mount : mounts->GetArray()) {
      if (mount.IsObject() && kube::stringMember(mount, "mountPath") == kServiceAccountMountPath) {
        return true;
      }
    }
  }
  return false;
}

void addString(JsonValue& object, std::string_view name, std::string_view value,
               Json::AllocatorType& allocator) {
  object.AddMember(kube::stringValue(name, allocator), kube::stringValue(value, allocator),
                   allocator);
}

}  // namespace

std::optional<std::string> mountedServiceAccount(const JsonValue& pod) {
  const JsonValue* spec = kube::member(pod, "spec");
  if (spec == nullptr || !spec->IsObject()) return std::nullopt;
  bool mounts = false;
  for (const std::string_view list : {"initContainers", "containers"}) {
    const JsonValue* containers = kube::member(*spec, list);
    mounts = mounts || (containers != nullptr && mountsAtTokenPath(*containers));
  }
  if (!mounts) return std::nullopt;
  const std::string_view name = kube::stringMember(*spec, "serviceAccountName");
  return std::string(name.empty() ? "default" : name);
}

Json tokenRequestOf(const JsonValue& pod, const std::vector<std::string>& audiences,
                    std::int64_t expirationSeconds) {
  Json request(rapidjson::kObjectType);
  auto& allocator = request.GetAllocator();
  addString(request, "apiVersion", "authentication.k8s.io/v1", allocator);
  addString(request, "kind", "TokenRequest", allocator);
  JsonValue spec(rapidjson::kObjectType);
  JsonValue list(rapidjson::kArrayType);
  for (const std::string& audience : audiences) {
    list.PushBack(kube::stringValue(audience, allocator), allocator);
  }
  spec.AddMember("audiences", list, allocator);
  spec.AddMember("expirationSeconds", expirationSeconds, allocator);
  JsonValue bound(rapidjson::kObjectType);
  addString(bound, "apiVersion", "v1", allocator);
  addString(bound, "kind", "Pod", allocator);
  addString(bound, "name", kube::nameOf(pod), allocator);
  addString(bound, "uid", kube::uidOf(pod), allocator);
  spec.AddMember("boundObjectRef", bound, allocator);
  request.AddMember("spec", spec, allocator);
  return request;
}

Json tokenSecretOf(const TokenSecretInputs& in) {
  Json secret(rapidjson::kObjectType);
  auto& allocator = secret.GetAllocator();
  addString(secret, "apiVersion", "v1", allocator);
  addString(secret, "kind", "Secret", allocator);
  JsonValue metadata(rapidjson::kObjectType);
  addString(metadata, "name", in.name, allocator);
  addString(metadata, "namespace", in.hostNs, allocator);
  JsonValue labels(rapidjson::kObjectType);
  addString(labels, mapping::kManagedByLabel, in.managedBy, allocator);
  metadata.AddMember("labels", labels, allocator);
  JsonValue annotations(rapidjson::kObjectType);
  addString(annotations, kTokenRefreshAnnotation, std::to_string(in.refreshAt), allocator);
  metadata.AddMember("annotations", annotations, allocator);
  JsonValue owner(rapidjson::kObjectType);
  addString(owner, "apiVersion", "v1", allocator);
  addString(owner, "kind", "Pod", allocator);
  addString(owner, "name", in.hostPodName, allocator);
  addString(owner, "uid", in.hostPodUid, allocator);
  owner.AddMember("controller", true, allocator);
  JsonValue owners(rapidjson::kArrayType);
  owners.PushBack(owner, allocator);
  metadata.AddMember("ownerReferences", owners, allocator);
  secret.AddMember("metadata", metadata, allocator);
  addString(secret, "type", "Opaque", allocator);
  // stringData: the API server encodes it; the token is never in a log line of ours.
  JsonValue data(rapidjson::kObjectType);
  addString(data, "token", in.token, allocator);
  addString(data, "ca.crt", in.caPem, allocator);
  addString(data, "namespace", in.podNs, allocator);
  secret.AddMember("stringData", data, allocator);
  return secret;
}

std::int64_t tokenRefreshAt(std::int64_t issuedAt, std::int64_t lifetime) {
  return issuedAt + lifetime * 4 / 5;
}

bool ownedByHostPod(const JsonValue& secret, std::string_view hostPodUid) {
  const JsonValue* owners = kube::at(secret, "/metadata/ownerReferences");
  if (owners == nullptr || !owners->IsArray()) return false;
  for (const JsonValue& owner : owners->GetArray()) {
    if (owner.IsObject() && kube::stringMember(owner, "kind") == "Pod" &&
        kube::stringMember(owner, "uid") == hostPodUid) {
      return true;
    }
  }
  return false;
}

std::optional<std::int64_t> storedRefreshAt(const JsonValue& secret, std::string_view hostPodUid) {
  if (!ownedByHostPod(secret, hostPodUid)) return std::nullopt;
  const JsonValue* annotations = kube::at(secret, "/metadata/annotations");
  if (annotations == nullptr || !annotations->IsObject()) return std::nullopt;
  const std::string_view text = kube::stringMember(*annotations, kTokenRefreshAnnotation);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace bisync::translators
