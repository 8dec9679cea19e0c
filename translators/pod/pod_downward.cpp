// rewriteFieldRefs: the downward API of a host Pod reads the host Pod; where that differs from
// the virtual Pod, it is pointed at the host Pod's record of the virtual value.
#include <string>

#include "mapping/identity_mapper.hpp"
#include "translators/pod/pod_json.hpp"
#include "translators/pod/pod_labels.hpp"
#include "translators/pod/pod_spec.hpp"

namespace bisync::translators::pod {
namespace {

using Allocator = kube::Json::AllocatorType;

std::string annotationPath(std::string_view key) {
  return "metadata.annotations['" + std::string(key) + "']";
}

// The host field path of the virtual field path `path`; empty when it reads the same.
std::string hostFieldPath(std::string_view path) {
  if (path == "metadata.name") return annotationPath(mapping::kSourceNameAnnotation);
  if (path == "metadata.namespace") return annotationPath(mapping::kSourceNamespaceAnnotation);
  if (path == "metadata.uid") return annotationPath(mapping::kSourceUidAnnotation);
  constexpr std::string_view kLabel = "metadata.labels['";
  if (path.starts_with(kLabel) && path.ends_with("']")) {
    const std::string_view key = path.substr(kLabel.size(), path.size() - kLabel.size() - 2);
    if (isReservedLabelKey(key)) return std::string(kLabel) + hostLabelKey(key) + "']";
  }
  return {};
}

void rewrite(JsonValue* holder, Allocator& allocator) {
  if (holder == nullptr || !holder->IsObject()) return;
  auto fieldRef = holder->FindMember("fieldRef");
  if (fieldRef == holder->MemberEnd() || !fieldRef->value.IsObject()) return;
  auto path = fieldRef->value.FindMember("fieldPath");
  if (path == fieldRef->value.MemberEnd() || !path->value.IsString()) return;
  const std::string host = hostFieldPath(kube::stringView(path->value));
  if (!host.empty()) path->value = kube::stringValue(host, allocator);
}

void rewriteDownwardItems(JsonValue* downwardApi, Allocator& allocator) {
  if (downwardApi == nullptr) return;
  forEachItem(*downwardApi, "items", [&allocator](JsonValue& item) { rewrite(&item, allocator); });
}

}  // namespace

void rewriteFieldRefs(JsonValue& spec, Allocator& allocator) {
  for (const std::string_view list : kContainerLists) {
    forEachItem(spec, list, [&allocator](JsonValue& container) {
      forEachItem(container, "env",
                  [&allocator](JsonValue& env) { rewrite(objectAt(env, "valueFrom"), allocator); });
    });
  }
  forEachItem(spec, "volumes", [&allocator](JsonValue& volume) {
    rewriteDownwardItems(objectAt(volume, "downwardAPI"), allocator);
    if (JsonValue* projected = objectAt(volume, "projected")) {
      forEachItem(*projected, "sources", [&allocator](JsonValue& source) {
        rewriteDownwardItems(objectAt(source, "downwardAPI"), allocator);
      });
    }
  });
}

}  // namespace bisync::translators::pod
