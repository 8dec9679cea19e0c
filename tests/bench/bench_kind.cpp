#include "tests/bench/bench_kind.hpp"

namespace bisync::bench {

std::string BenchKind::resourceKey() const {
  return resource.group.empty() ? resource.resource : resource.resource + "." + resource.group;
}

BenchKind configMapKind() { return {kube::resources::configMaps(), "data", "cm", "ConfigMaps"}; }

BenchKind widgetKind() {
  return {kube::ResourceInfo{"bench.example.com", "v1", "widgets", "Widget", true, true}, "spec",
          "widget", "custom objects"};
}

std::string widgetCrdYaml() {
  return R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.bench.example.com}
spec:
  group: bench.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
)";
}

std::string widgetPolicyYaml() {
  return R"(apiVersion: kube-bisync.io/v1alpha1
kind: SyncPolicy
resource: {group: bench.example.com, version: v1, kind: Widget}
direction: down
fields:
  - {path: /*, owner: source}
  - {path: /status, owner: target}
)";
}

}  // namespace bisync::bench
