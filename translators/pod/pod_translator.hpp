// The Pod plugin: a virtual cluster's Pod becomes a host Pod that runs the same containers and
// sees the virtual cluster (its DNS, its API server, its service-account token), while what the
// Pod may do on the host stays the host's decision. docs/workloads.md has every rule and why.
//
// Down (toTarget): identity, labels, annotations and origin as for every kind; then the spec,
// with the names of the ConfigMaps, Secrets and PVCs it references mapped, the service-account
// token volume replaced by the Secret tokenSecretName(hostPodName) the engine writes, DNS and
// hostAliases pointed at the virtual cluster, enableServiceLinks off, nodeName, scheduler and
// priority left to the host, and host features refused unless the options allow them.
// Up (toSourceView): the host Pod with the statuses of containers the virtual Pod does not have
// (host-injected sidecars) removed.
#pragma once

#include <vector>

#include "translators/pod/pod_options.hpp"
#include "translators/translator.hpp"

namespace bisync::translators {

class PodTranslator final : public Translator {
 public:
  explicit PodTranslator(PodOptions options);

  // "pods" in v1, namespaced, with a status subresource.
  const kube::ResourceInfo& resource() const override { return resource_; }
  mapping::NameLimit nameLimit() const override { return mapping::kSubdomainName; }
  const PodOptions& options() const { return options_; }

  // False only for mirror Pods (annotation kubernetes.io/config.mirror): a kubelet's view of a
  // static Pod of its own node, which the API server would not let anyone else create.
  bool shouldSync(const JsonValue& source) const override;

  // The host Pod (see the header comment). Decode errors for a malformed Pod (a field of the
  // wrong type, named by its JSON pointer); a Config error with reason kRefusedReason naming
  // each host feature asked for and not allowed, with the container or volume that asks, and
  // for a projected service-account token other than the one the service-account admission
  // mounts (the engine provides only that one).
  kube::Result<Json> toTarget(const JsonValue& source,
                              const mapping::IdentityMapper& mapper) const override;

  // The ConfigMaps, Secrets and PVCs the Pod mounts or reads (volumes, projected sources,
  // env valueFrom, envFrom, imagePullSecrets), in source names, each once, optional only when
  // every reference to it is optional. Never the service-account token Secret (it never
  // syncs: the engine requests a token of its own). Nothing for a malformed Pod (toTarget
  // reports it).
  std::vector<Dependency> dependencies(const JsonValue& source) const override;

  // `target` with status.containerStatuses, initContainerStatuses and
  // ephemeralContainerStatuses keeping only containers `source` has.
  Json toSourceView(const JsonValue& target, const JsonValue& source) const override;

 private:
  kube::ResourceInfo resource_;
  PodOptions options_;
};

}  // namespace bisync::translators
