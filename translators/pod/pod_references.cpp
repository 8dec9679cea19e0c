// The references a Pod spec makes to ConfigMaps, Secrets and PVCs, walked once for both uses:
// renaming them on the host copy and listing them as dependencies. One template serves the
// const and the mutable walk.

#include "translators/pod/pod_json.hpp"
#include "translators/pod/pod_spec.hpp"

namespace bisync::translators::pod {
namespace {

constexpr std::string_view kConfigMaps = "configmaps";
constexpr std::string_view kSecrets = "secrets";
constexpr std::string_view kClaims = "persistentvolumeclaims";

// Volume plugins that read a Secret for the node (credentials of a storage system): the Secret
// must be on the host as well, under its mapped name.
struct SecretRefVolume {
  std::string_view type;       // "csi"
  std::string_view reference;  // "nodePublishSecretRef"; empty: the name is in `name` itself
  std::string_view name;       // "name"
};
constexpr SecretRefVolume kSecretRefVolumes[] = {
    {"csi", "nodePublishSecretRef", "name"},
    {"cephfs", "secretRef", "name"},
    {"rbd", "secretRef", "name"},
    {"flexVolume", "secretRef", "name"},
    {"iscsi", "secretRef", "name"},
    {"azureFile", "", "secretName"},
};

template <class Value, class Visit>
class ReferenceWalk {
 public:
  explicit ReferenceWalk(const Visit& visit) : visit_(visit) {}

  // `holder[nameField]` names an object of `resource`; `holder.optional` says whether it is
  // optional. Defaults to `optional`.
  void reference(Value* holder, std::string_view resource, std::string_view nameField,
                 bool optional = false) {
    if (holder == nullptr) return;
    Value* name = present(*holder, nameField);
    if (name == nullptr || !name->IsString() || name->GetStringLength() == 0) return;
    // Every cluster publishes its own in every namespace and it never syncs: not a reference to
    // a copy (redirectRootCa points it at the virtual cluster's CA where it can).
    if (resource == kConfigMaps && kube::stringView(*name) == kRootCaConfigMap) return;
    const auto* flag = present(*holder, "optional");
    visit_(resource, *name, optional || (flag != nullptr && flag->IsBool() && flag->GetBool()));
  }

  void volume(Value& volume) {
    reference(present(volume, "configMap"), kConfigMaps, "name");
    reference(present(volume, "secret"), kSecrets, "secretName");
    reference(present(volume, "persistentVolumeClaim"), kClaims, "claimName");
    if (Value* projected = present(volume, "projected")) {
      forEachItem(*projected, "sources", [this](Value& source) {
        reference(present(source, "configMap"), kConfigMaps, "name");
        reference(present(source, "secret"), kSecrets, "name");
      });
    }
    for (const SecretRefVolume& plugin : kSecretRefVolumes) {
      Value* typed = present(volume, plugin.type);
      if (typed != nullptr && !plugin.reference.empty()) typed = present(*typed, plugin.reference);
      reference(typed, kSecrets, plugin.name);
    }
  }

  void container(Value& container) {
    forEachItem(container, "env", [this](Value& env) {
      if (Value* from = present(env, "valueFrom")) {
        reference(present(*from, "configMapKeyRef"), kConfigMaps, "name");
        reference(present(*from, "secretKeyRef"), kSecrets, "name");
      }
    });
    forEachItem(container, "envFrom", [this](Value& from) {
      reference(present(from, "configMapRef"), kConfigMaps, "name");
      reference(present(from, "secretRef"), kSecrets, "name");
    });
  }

  void spec(Value& spec, std::string_view skipVolume) {
    forEachItem(spec, "volumes", [this, skipVolume](Value& volume) {
      const Value* name = present(volume, "name");
      if (name != nullptr && name->IsString() && kube::stringView(*name) == skipVolume) return;
      this->volume(volume);
    });
    // A missing pull secret does not stop a Pod in Kubernetes (the kubelet pulls without it
    // and retries), and service accounts often name one that does not exist: optional.
    forEachItem(spec, "imagePullSecrets",
                [this](Value& secret) { reference(&secret, kSecrets, "name", true); });
    for (const std::string_view list : kContainerLists) {
      forEachItem(spec, list, [this](Value& item) { container(item); });
    }
  }

 private:
  const Visit& visit_;
};

}  // namespace

void visitReferences(const JsonValue& spec, std::string_view skipVolume,
                     const ReferenceVisitor& visit) {
  ReferenceWalk<const JsonValue, ReferenceVisitor>(visit).spec(spec, skipVolume);
}

void visitReferences(JsonValue& spec, std::string_view skipVolume,
                     const MutableReferenceVisitor& visit) {
  ReferenceWalk<JsonValue, MutableReferenceVisitor>(visit).spec(spec, skipVolume);
}

std::optional<std::string> tokenVolumeName(const JsonValue& spec) {
  const JsonValue* automount = present(spec, "automountServiceAccountToken");
  if (automount != nullptr && automount->IsBool() && !automount->GetBool()) return std::nullopt;
  std::optional<std::string> mounted;
  for (const std::string_view list : kContainerLists) {
    forEachItem(spec, list, [&mounted](const JsonValue& container) {
      forEachItem(container, "volumeMounts", [&mounted](const JsonValue& mount) {
        if (!mounted && kube::stringMember(mount, "mountPath") == kTokenMountPath) {
          mounted = std::string(kube::stringMember(mount, "name"));
        }
      });
    });
  }
  if (!mounted || mounted->empty()) return std::nullopt;
  bool holdsToken = false;
  forEachItem(spec, "volumes", [&](const JsonValue& volume) {
    if (kube::stringMember(volume, "name") != *mounted) return;
    if (present(volume, "secret") != nullptr) holdsToken = true;
    if (const JsonValue* projected = present(volume, "projected")) {
      forEachItem(*projected, "sources", [&holdsToken](const JsonValue& source) {
        if (present(source, "serviceAccountToken") != nullptr) holdsToken = true;
      });
    }
  });
  return holdsToken ? mounted : std::nullopt;
}

}  // namespace bisync::translators::pod

namespace bisync::translators::pod {
namespace {

using Allocator = kube::Json::AllocatorType;

bool namesRootCa(const JsonValue* configMap) {
  return configMap != nullptr && kube::stringMember(*configMap, "name") == kRootCaConfigMap;
}

// {configMap: {name: kube-root-ca.crt, ...}} -> {secret: {<nameField>: tokenSecret, ...}}, the
// items, mode and optional flag kept: the token Secret has the key ca.crt too.
void toTokenSecret(JsonValue& holder, std::string_view nameField, std::string_view tokenSecret,
                   Allocator& allocator) {
  JsonValue secret(rapidjson::kObjectType);
  for (auto& member : holder["configMap"].GetObject()) {
    if (kube::stringView(member.name) == "name") continue;
    secret.AddMember(JsonValue(member.name, allocator), JsonValue(member.value, allocator),
                     allocator);
  }
  secret.AddMember(kube::stringValue(nameField, allocator),
                   kube::stringValue(tokenSecret, allocator), allocator);
  holder.RemoveMember("configMap");
  holder.AddMember("secret", std::move(secret), allocator);
}

}  // namespace

void redirectRootCa(JsonValue& spec, std::string_view tokenSecret, Allocator& allocator) {
  forEachItem(spec, "volumes", [&](JsonValue& volume) {
    if (namesRootCa(present(volume, "configMap"))) {
      toTokenSecret(volume, "secretName", tokenSecret, allocator);
    }
    if (JsonValue* projected = present(volume, "projected")) {
      forEachItem(*projected, "sources", [&](JsonValue& source) {
        if (namesRootCa(present(source, "configMap"))) {
          toTokenSecret(source, "name", tokenSecret, allocator);
        }
      });
    }
  });
}

}  // namespace bisync::translators::pod
