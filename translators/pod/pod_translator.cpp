#include "translators/pod/pod_translator.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "translators/internal/object_copy.hpp"
#include "translators/pod/pod_labels.hpp"
#include "translators/pod/pod_names.hpp"
#include "translators/pod/pod_spec.hpp"

namespace bisync::translators {
namespace {

using Allocator = Json::AllocatorType;
using kube::stringValue;

// A kubelet's copy of a static Pod of its own node; the API server lets only that node's
// kubelet create one.
constexpr std::string_view kMirrorAnnotation = "kubernetes.io/config.mirror";

// Spec fields the host decides, never the tenant (docs/workloads.md has the reason of each):
// the node and the scheduler; the priority (a virtual PriorityClass does not exist on the host,
// and a tenant must not out-rank the host's own Pods); the overhead, which the host's
// RuntimeClass admission computes again; the deprecated alias of serviceAccountName; ephemeral
// containers, which the API refuses on create.
constexpr std::string_view kHostDecides[] = {
    "nodeName",         "schedulerName", "priority",       "priorityClassName",
    "preemptionPolicy", "overhead",      "serviceAccount", "ephemeralContainers",
};

kube::ResourceInfo podResource() {
  return {"",
          "v1",
          "pods",
          "Pod",
          true,
          true,
          {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}};
}

std::string describePod(const JsonValue& source) {
  return "Pod " + std::string(kube::namespaceOf(source)) + "/" + std::string(kube::nameOf(source));
}

rapidjson::GenericStringRef<char> ref(std::string_view name) {
  return rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}

// object[name] = value, replacing the member when there is one.
void setMember(JsonValue& object, std::string_view name, JsonValue value, Allocator& allocator) {
  auto found = object.FindMember(ref(name));
  if (found != object.MemberEnd()) {
    found->value = std::move(value);
    return;
  }
  object.AddMember(stringValue(name, allocator), std::move(value), allocator);
}

// object[name], made an empty object first when it is absent or not an object.
JsonValue& ensureObject(JsonValue& object, std::string_view name, Allocator& allocator) {
  auto found = object.FindMember(ref(name));
  if (found == object.MemberEnd() || !found->value.IsObject()) {
    setMember(object, name, JsonValue(rapidjson::kObjectType), allocator);
    found = object.FindMember(ref(name));
  }
  return found->value;
}

JsonValue stringArray(std::initializer_list<std::string> items, Allocator& allocator) {
  JsonValue array(rapidjson::kArrayType);
  for (const std::string& item : items) array.PushBack(stringValue(item, allocator), allocator);
  return array;
}

// Reserved label keys (pod_labels.hpp) move to their rewritten key, the original key kept in an
// annotation; annotations in the syncer's domain that translateObject kept (vlabel.*) are
// dropped, so that only this rewrite writes them.
void rewriteLabels(const JsonValue& sourceMetadata, JsonValue& metadata, Allocator& allocator) {
  JsonValue& annotations = ensureObject(metadata, "annotations", allocator);
  for (auto it = annotations.MemberBegin(); it != annotations.MemberEnd();) {
    it = kube::stringView(it->name).starts_with(kRewrittenLabelPrefix) ? annotations.EraseMember(it)
                                                                       : it + 1;
  }
  const JsonValue* sourceLabels = kube::member(sourceMetadata, "labels");
  if (sourceLabels == nullptr || !sourceLabels->IsObject()) return;
  JsonValue& labels = ensureObject(metadata, "labels", allocator);
  for (const auto& label : sourceLabels->GetObject()) {
    const std::string_view key = kube::stringView(label.name);
    if (!isReservedLabelKey(key)) continue;
    // translateObject dropped the syncer's own keys (and stamped the origin labels under
    // them): only the host-reserved ones are still there to remove.
    if (!key.starts_with(mapping::kSyncerKeyPrefix)) labels.RemoveMember(label.name);
    const std::string hostKey = hostLabelKey(key);
    setMember(labels, hostKey, JsonValue(label.value, allocator), allocator);
    setMember(annotations, hostKey, stringValue(key, allocator), allocator);
  }
  if (annotations.MemberCount() == 0) metadata.RemoveMember("annotations");
}

// The ConfigMaps, Secrets and PVCs the host Pod mounts are the copies, under their mapped names.
void mapReferences(JsonValue& spec, std::string_view tokenVolume, std::string_view ns,
                   const mapping::IdentityMapper& mapper, Allocator& allocator) {
  pod::visitReferences(spec, tokenVolume, [&](std::string_view, JsonValue& name, bool) {
    const mapping::SourceKey key{std::string(ns), std::string(kube::stringView(name))};
    name = stringValue(mapper.toTarget(key, mapping::kSubdomainName).name, allocator);
  });
}

// The containers see the virtual Pod's hostname even where the host Pod's name differs (single
// mode); a subdomain names a headless Service of the Pod's namespace, mapped like any Service.
void keepVirtualHostname(JsonValue& spec, const JsonValue& source, std::string_view hostPodName,
                         const mapping::IdentityMapper& mapper, Allocator& allocator) {
  const std::string_view name = kube::nameOf(source);
  const std::string_view ns = kube::namespaceOf(source);
  if (kube::stringMember(spec, "hostname").empty() && hostPodName != name) {
    // A hostname is a DNS label: a Pod name with dots gets its sanitised form.
    setMember(spec, "hostname", stringValue(mapping::fitName(name, mapping::kLabelName), allocator),
              allocator);
  }
  const std::string_view subdomain = kube::stringMember(spec, "subdomain");
  if (!subdomain.empty()) {
    const mapping::SourceKey service{std::string(ns), std::string(subdomain)};
    setMember(spec, "subdomain",
              stringValue(mapper.toTarget(service, mapping::kLabelName).name, allocator),
              allocator);
  }
}

// The host Pod runs under the host's service account without its token; the virtual Pod's
// token volume becomes the Secret the engine fills with a token of the virtual API server.
void replaceServiceAccount(JsonValue& spec, const std::optional<std::string>& tokenVolume,
                           std::string_view hostPodName, const PodOptions& options,
                           Allocator& allocator) {
  setMember(spec, "serviceAccountName", stringValue(options.hostServiceAccount, allocator),
            allocator);
  setMember(spec, "automountServiceAccountToken", JsonValue(false), allocator);
  JsonValue* volumes = spec.HasMember("volumes") ? &spec["volumes"] : nullptr;
  if (!tokenVolume || volumes == nullptr || !volumes->IsArray()) return;
  for (JsonValue& volume : volumes->GetArray()) {
    if (kube::stringMember(volume, "name") != *tokenVolume) continue;
    // kube-api-access-* and the legacy Secret volume both use 0644 (420) unless set.
    const JsonValue* mode = kube::at(volume, "/projected/defaultMode");
    if (mode == nullptr) mode = kube::at(volume, "/secret/defaultMode");
    JsonValue secret(rapidjson::kObjectType);
    secret.AddMember("secretName", stringValue(tokenSecretName(hostPodName), allocator), allocator);
    secret.AddMember("defaultMode",
                     mode != nullptr && mode->IsInt() ? JsonValue(mode->GetInt()) : JsonValue(420),
                     allocator);
    JsonValue replacement(rapidjson::kObjectType);
    replacement.AddMember("name", stringValue(*tokenVolume, allocator), allocator);
    replacement.AddMember("secret", std::move(secret), allocator);
    volume = std::move(replacement);
  }
}

// Appends the items of own[field] that `into` does not have yet.
void appendNew(JsonValue& into, const JsonValue& own, std::string_view field,
               Allocator& allocator) {
  const JsonValue* items = kube::member(own, field);
  if (items == nullptr || !items->IsArray()) return;
  for (const JsonValue& item : items->GetArray()) {
    if (std::find(into.Begin(), into.End(), item) == into.End()) {
      into.PushBack(JsonValue(item, allocator), allocator);
    }
  }
}

// Adds the options of own.options to `options`, each replacing the one of the same name.
void mergeOptions(JsonValue& options, const JsonValue& own, Allocator& allocator) {
  const JsonValue* items = kube::member(own, "options");
  if (items == nullptr || !items->IsArray()) return;
  for (const JsonValue& option : items->GetArray()) {
    const std::string_view name = kube::stringMember(option, "name");
    auto same = std::find_if(options.Begin(), options.End(), [name](const JsonValue& existing) {
      return kube::stringMember(existing, "name") == name;
    });
    if (same != options.End()) {
      *same = JsonValue(option, allocator);
    } else {
      options.PushBack(JsonValue(option, allocator), allocator);
    }
  }
}

// Kubernetes' own merge of a ClusterFirst Pod's dnsConfig with the cluster's: the Pod's
// nameservers and searches after the cluster's, its options replacing the cluster's of the same
// name.
JsonValue virtualDnsConfig(const JsonValue& spec, std::string_view ns, const PodOptions& options,
                           Allocator& allocator) {
  const std::string& domain = options.clusterDomain;
  JsonValue nameservers = stringArray({options.virtualDnsServer}, allocator);
  JsonValue searches =
      stringArray({std::string(ns) + ".svc." + domain, "svc." + domain, domain}, allocator);
  JsonValue ndots(rapidjson::kObjectType);
  ndots.AddMember("name", "ndots", allocator);
  ndots.AddMember("value", "5", allocator);
  JsonValue dnsOptions(rapidjson::kArrayType);
  dnsOptions.PushBack(std::move(ndots), allocator);
  if (const JsonValue* own = kube::member(spec, "dnsConfig"); own != nullptr && own->IsObject()) {
    appendNew(nameservers, *own, "nameservers", allocator);
    appendNew(searches, *own, "searches", allocator);
    mergeOptions(dnsOptions, *own, allocator);
  }
  JsonValue config(rapidjson::kObjectType);
  config.AddMember("nameservers", std::move(nameservers), allocator);
  config.AddMember("searches", std::move(searches), allocator);
  config.AddMember("options", std::move(dnsOptions), allocator);
  return config;
}

// ClusterFirst (the default) and ClusterFirstWithHostNet mean "the cluster's DNS": the virtual
// cluster's. Default (the node's resolver) and None (the Pod's own dnsConfig) stay as they are;
// so does ClusterFirst on the host network, which Kubernetes turns into Default.
void pointDnsAtVirtualCluster(JsonValue& spec, std::string_view ns, const PodOptions& options,
                              Allocator& allocator) {
  if (options.virtualDnsServer.empty()) return;
  const JsonValue* policyValue = kube::member(spec, "dnsPolicy");
  const std::string_view policy = policyValue != nullptr && policyValue->IsString()
                                      ? kube::stringView(*policyValue)
                                      : std::string_view("ClusterFirst");
  const JsonValue* hostNetwork = kube::member(spec, "hostNetwork");
  const bool onHostNetwork =
      hostNetwork != nullptr && hostNetwork->IsBool() && hostNetwork->GetBool();
  if (!(policy == "ClusterFirstWithHostNet" || (policy == "ClusterFirst" && !onHostNetwork))) {
    return;
  }
  JsonValue config = virtualDnsConfig(spec, ns, options, allocator);
  setMember(spec, "dnsPolicy", stringValue("None", allocator), allocator);
  setMember(spec, "dnsConfig", std::move(config), allocator);
}

// The names a workload uses for the API server resolve to the virtual one.
void addApiServerAliases(JsonValue& spec, const PodOptions& options, Allocator& allocator) {
  if (options.virtualApiServerAddress.empty()) return;
  JsonValue alias(rapidjson::kObjectType);
  alias.AddMember("ip", stringValue(options.virtualApiServerAddress, allocator), allocator);
  alias.AddMember("hostnames",
                  stringArray({"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                               "kubernetes.default.svc." + options.clusterDomain},
                              allocator),
                  allocator);
  if (!spec.HasMember("hostAliases") || !spec["hostAliases"].IsArray()) {
    setMember(spec, "hostAliases", JsonValue(rapidjson::kArrayType), allocator);
  }
  spec["hostAliases"].PushBack(std::move(alias), allocator);
}

bool setsVariable(const JsonValue* env, std::string_view name) {
  if (env == nullptr || !env->IsArray()) return false;
  return std::any_of(env->Begin(), env->End(), [name](const JsonValue& variable) {
    return kube::stringMember(variable, "name") == name;
  });
}

// The kubelet gives every container KUBERNETES_SERVICE_HOST and friends, with or without service
// links, from the host's `kubernetes` Service: in-cluster clients (client-go's
// InClusterConfig) read them before any name, and would take the virtual token to the host.
// Each container gets them for the virtual API server first (so that its own variables may
// refer to them), except those it sets itself.
void pointServiceEnvAtVirtualApiServer(JsonValue& spec, const PodOptions& options,
                                       Allocator& allocator) {
  if (options.virtualApiServerAddress.empty()) return;
  const std::string& ip = options.virtualApiServerAddress;
  const std::string url =
      "tcp://" + (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":443";
  const std::pair<const char*, std::string> variables[] = {
      {"KUBERNETES_SERVICE_HOST", ip},          {"KUBERNETES_SERVICE_PORT", "443"},
      {"KUBERNETES_SERVICE_PORT_HTTPS", "443"}, {"KUBERNETES_PORT", url},
      {"KUBERNETES_PORT_443_TCP", url},         {"KUBERNETES_PORT_443_TCP_PROTO", "tcp"},
      {"KUBERNETES_PORT_443_TCP_PORT", "443"},  {"KUBERNETES_PORT_443_TCP_ADDR", ip},
  };
  for (const std::string_view list : pod::kContainerLists) {
    auto containers = spec.FindMember(ref(list));
    if (containers == spec.MemberEnd() || !containers->value.IsArray()) continue;
    for (JsonValue& container : containers->value.GetArray()) {
      if (!container.IsObject()) continue;
      const JsonValue* own = kube::member(container, "env");
      JsonValue env(rapidjson::kArrayType);
      for (const auto& [name, value] : variables) {
        if (setsVariable(own, name)) continue;
        JsonValue variable(rapidjson::kObjectType);
        variable.AddMember("name", stringValue(name, allocator), allocator);
        variable.AddMember("value", stringValue(value, allocator), allocator);
        env.PushBack(std::move(variable), allocator);
      }
      if (own != nullptr && own->IsArray()) {
        for (const JsonValue& item : own->GetArray()) {
          env.PushBack(JsonValue(item, allocator), allocator);
        }
      }
      setMember(container, "env", std::move(env), allocator);
    }
  }
}

kube::Error refusal(const JsonValue& source, const std::vector<std::string>& reasons) {
  std::string message = "the Pod asks for what the Pod policy does not allow on the host:";
  for (std::size_t i = 0; i < reasons.size(); ++i) message += (i == 0 ? " " : "; ") + reasons[i];
  message += " (policy key hostFeatures.allow; docs/workloads.md)";
  kube::Error error = kube::configError(describePod(source), std::move(message));
  error.reason = std::string(kRefusedReason);
  return error;
}

// The items of status[field] whose name is one of `names`.
void keepStatuses(JsonValue& status, std::string_view field, const std::set<std::string>& names) {
  auto found = status.FindMember(ref(field));
  if (found == status.MemberEnd() || !found->value.IsArray()) return;
  JsonValue& items = found->value;
  for (auto it = items.Begin(); it != items.End();) {
    const std::string name(kube::stringMember(*it, "name"));
    it = names.contains(name) ? it + 1 : items.Erase(it);
  }
}

std::set<std::string> containerNames(const JsonValue& source, std::string_view list) {
  std::set<std::string> names;
  const JsonValue* spec = kube::member(source, "spec");
  const JsonValue* containers = spec == nullptr ? nullptr : kube::member(*spec, list);
  if (containers == nullptr || !containers->IsArray()) return names;
  for (const JsonValue& container : containers->GetArray()) {
    names.emplace(kube::stringMember(container, "name"));
  }
  return names;
}

}  // namespace

PodTranslator::PodTranslator(PodOptions options)
    : resource_(podResource()), options_(std::move(options)) {}

bool PodTranslator::shouldSync(const JsonValue& source) const {
  const JsonValue* annotations = kube::at(source, "/metadata/annotations");
  return annotations == nullptr || kube::member(*annotations, kMirrorAnnotation) == nullptr;
}

kube::Result<Json> PodTranslator::toTarget(const JsonValue& source,
                                           const mapping::IdentityMapper& mapper) const {
  kube::Result<Json> target = internal::translateObject(source, mapper, resource_, nameLimit(), {});
  if (!target) return target;
  const JsonValue* spec = kube::member(source, "spec");
  if (spec == nullptr || !spec->IsObject()) {
    return kube::fail(kube::decodeError(describePod(source), "/spec is missing or not an object"));
  }
  if (std::string problem = pod::shapeProblem(*spec); !problem.empty()) {
    return kube::fail(kube::decodeError(describePod(source), std::move(problem)));
  }
  const std::optional<std::string> tokenVolume = pod::tokenVolumeName(*spec);
  const std::string_view skipped =
      tokenVolume ? std::string_view(*tokenVolume) : std::string_view{};
  if (std::vector<std::string> refused = pod::refusals(*spec, options_, skipped);
      !refused.empty()) {
    return kube::fail(refusal(source, refused));
  }
  Allocator& allocator = target->GetAllocator();
  rewriteLabels(source["metadata"], (*target)["metadata"], allocator);
  JsonValue hostSpec(*spec, allocator);
  for (const std::string_view field : kHostDecides) {
    hostSpec.RemoveMember(ref(field));
  }
  const std::string_view ns = kube::namespaceOf(source);
  mapReferences(hostSpec, skipped, ns, mapper, allocator);
  // Only where the engine writes the token Secret: a Pod with a token volume. After the
  // mapping, which would take the token Secret for a copy.
  if (tokenVolume) pod::redirectRootCa(hostSpec, tokenSecretName(kube::nameOf(*target)), allocator);
  pod::rewriteFieldRefs(hostSpec, allocator);
  pod::translateSelectors(hostSpec, ns, mapper, allocator);
  keepVirtualHostname(hostSpec, source, kube::nameOf(*target), mapper, allocator);
  replaceServiceAccount(hostSpec, tokenVolume, kube::nameOf(*target), options_, allocator);
  pointDnsAtVirtualCluster(hostSpec, ns, options_, allocator);
  addApiServerAliases(hostSpec, options_, allocator);
  pointServiceEnvAtVirtualApiServer(hostSpec, options_, allocator);
  // Service links would name the host's Services; the virtual ones are not computed yet.
  setMember(hostSpec, "enableServiceLinks", JsonValue(false), allocator);
  target->AddMember("spec", std::move(hostSpec), allocator);
  return target;
}

std::vector<Dependency> PodTranslator::dependencies(const JsonValue& source) const {
  std::vector<Dependency> found;
  const JsonValue* spec = kube::member(source, "spec");
  if (spec == nullptr || !spec->IsObject() || !pod::shapeProblem(*spec).empty()) return found;
  const std::optional<std::string> tokenVolume = pod::tokenVolumeName(*spec);
  pod::visitReferences(*spec, tokenVolume ? std::string_view(*tokenVolume) : std::string_view{},
                       [&found](std::string_view resource, const JsonValue& name, bool optional) {
                         const std::string_view text = kube::stringView(name);
                         auto same =
                             std::find_if(found.begin(), found.end(), [&](const Dependency& d) {
                               return d.resource == resource && d.name == text;
                             });
                         if (same == found.end()) {
                           found.push_back({std::string(resource), std::string(text), optional});
                         } else {
                           same->optional = same->optional && optional;
                         }
                       });
  return found;
}

Json PodTranslator::toSourceView(const JsonValue& target, const JsonValue& source) const {
  Json view;
  view.CopyFrom(target, view.GetAllocator());
  if (!view.IsObject() || !view.HasMember("status") || !view["status"].IsObject()) return view;
  JsonValue& status = view["status"];
  keepStatuses(status, "containerStatuses", containerNames(source, "containers"));
  keepStatuses(status, "initContainerStatuses", containerNames(source, "initContainers"));
  keepStatuses(status, "ephemeralContainerStatuses", containerNames(source, "ephemeralContainers"));
  return view;
}

}  // namespace bisync::translators
