// The kinds of benchmark object: ConfigMaps (scenarios 1 to 6) and a custom resource, the
// Widget of bench.example.com (scenario 7), which the daemon syncs through its generic
// translator once a SyncPolicy names it. Every benchmark object holds {payload, seq} in one
// member, its content: a ConfigMap's data, a Widget's spec. Pure data: installing the CRD and
// writing the policy file is the driver's (bench.cpp).
#pragma once

#include <string>

#include "syncer/kube/resource.hpp"

namespace bisync::bench {

struct BenchKind {
  kube::ResourceInfo resource;
  std::string content;     // "data", "spec": the member a correct copy must equal
  std::string namePrefix;  // "cm", "widget": objects are named cm-000042
  std::string plural;      // "ConfigMaps", "custom objects": for progress messages
  // The daemon's name of the kind in its metrics: "configmaps", "widgets.bench.example.com".
  std::string resourceKey() const;
};

BenchKind configMapKind();
BenchKind widgetKind();

// The CustomResourceDefinition of widgetKind(), as YAML for kubectl apply: namespaced, v1 only,
// spec and status of any fields (x-kubernetes-preserve-unknown-fields), a status subresource.
std::string widgetCrdYaml();
// The SyncPolicy that makes the daemon sync widgetKind(): created on the target, everything
// from the source but the status, which the target owns.
std::string widgetPolicyYaml();

}  // namespace bisync::bench
