// refusals: what a Pod asks of the host that the Pod policy has not allowed.
#include <string>

#include "translators/pod/pod_json.hpp"
#include "translators/pod/pod_spec.hpp"

namespace bisync::translators::pod {
namespace {

bool isTrue(const JsonValue& object, std::string_view name) {
  const JsonValue* value = kube::member(object, name);
  return value != nullptr && value->IsBool() && value->GetBool();
}

class Refusals {
 public:
  explicit Refusals(const PodOptions& options) : options_(options) {}

  void ask(HostFeature feature, std::string_view where) {
    if (options_.allows(feature)) return;
    std::string reason(hostFeatureName(feature));
    if (!where.empty()) reason += " (" + std::string(where) + ")";
    reasons_.push_back(std::move(reason));
  }
  void refuse(std::string reason) { reasons_.push_back(std::move(reason)); }
  std::vector<std::string> take() { return std::move(reasons_); }

 private:
  const PodOptions& options_;
  std::vector<std::string> reasons_;
};

// A host port the API server sets itself: with hostNetwork it defaults every port's hostPort to
// its containerPort, so allowing hostNetwork is enough for those.
bool impliedByHostNetwork(const JsonValue& port, bool hostNetwork) {
  const JsonValue* host = kube::member(port, "hostPort");
  const JsonValue* container = kube::member(port, "containerPort");
  return hostNetwork && host != nullptr && container != nullptr && *host == *container;
}

// A Windows HostProcess container runs as a process of the node: privileged, and more.
bool isHostProcess(const JsonValue& securityContext) {
  const JsonValue* windows = kube::member(securityContext, "windowsOptions");
  return windows != nullptr && isTrue(*windows, "hostProcess");
}

void checkContainer(Refusals& refusals, const JsonValue& container, bool hostNetwork) {
  const std::string where = "container " + std::string(kube::stringMember(container, "name"));
  if (const JsonValue* security = kube::member(container, "securityContext")) {
    if (isTrue(*security, "privileged")) refusals.ask(HostFeature::Privileged, where);
    if (isHostProcess(*security)) refusals.ask(HostFeature::Privileged, where + ": hostProcess");
    const JsonValue* add = kube::at(*security, "/capabilities/add");
    if (add != nullptr && add->IsArray() && !add->Empty()) {
      std::string names;
      for (const JsonValue& capability : add->GetArray()) {
        if (!names.empty()) names += ",";
        names += capability.IsString() ? kube::stringView(capability) : "?";
      }
      refusals.ask(HostFeature::Capabilities, where + ": " + names);
    }
  }
  forEachObject(container, "ports", [&](const JsonValue& port) {
    const std::optional<std::int64_t> hostPort = kube::intMember(port, "hostPort");
    if (!hostPort || *hostPort == 0 || impliedByHostNetwork(port, hostNetwork)) return;
    refusals.ask(HostFeature::HostPorts, where + ": " + std::to_string(*hostPort));
  });
}

void checkVolumes(Refusals& refusals, const JsonValue& spec, std::string_view tokenVolume) {
  forEachObject(spec, "volumes", [&](const JsonValue& volume) {
    const std::string_view name = kube::stringMember(volume, "name");
    if (kube::member(volume, "hostPath") != nullptr &&
        !kube::member(volume, "hostPath")->IsNull()) {
      refusals.ask(HostFeature::HostPath, "volume " + std::string(name));
    }
    if (name == tokenVolume) return;
    const JsonValue* sources = kube::at(volume, "/projected/sources");
    if (sources == nullptr || !sources->IsArray()) return;
    for (const JsonValue& source : sources->GetArray()) {
      const JsonValue* token = kube::member(source, "serviceAccountToken");
      if (token == nullptr || token->IsNull()) continue;
      refusals.refuse("a projected serviceAccountToken (volume " + std::string(name) +
                      "): the host would issue it for the host's service account, and only "
                      "the token mounted at " +
                      std::string(kTokenMountPath) + " comes from the virtual cluster");
      return;
    }
  });
}

}  // namespace

std::vector<std::string> refusals(const JsonValue& spec, const PodOptions& options,
                                  std::string_view tokenVolume) {
  Refusals refusals(options);
  const bool hostNetwork = isTrue(spec, "hostNetwork");
  if (hostNetwork) refusals.ask(HostFeature::HostNetwork, "");
  if (isTrue(spec, "hostPID")) refusals.ask(HostFeature::HostPID, "");
  if (isTrue(spec, "hostIPC")) refusals.ask(HostFeature::HostIPC, "");
  if (const JsonValue* security = kube::member(spec, "securityContext");
      security != nullptr && isHostProcess(*security)) {
    refusals.ask(HostFeature::Privileged, "hostProcess");
  }
  for (const std::string_view list : kContainerLists) {
    forEachObject(spec, list, [&](const JsonValue& container) {
      checkContainer(refusals, container, hostNetwork);
    });
  }
  checkVolumes(refusals, spec, tokenVolume);
  return refusals.take();
}

}  // namespace bisync::translators::pod
