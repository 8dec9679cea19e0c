// The generic translator: what it strips, what it keeps, and the kinds it refuses; and the name
// a kind has in metrics while it waits for discovery.
#include <set>
#include <string>

#include "mapping/identity_mapper.hpp"
#include "syncer/engine/internal/sync_state.hpp"
#include "syncer/kube/discovery.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"
#include "translators/configmap/configmap_translator.hpp"
#include "translators/generic/generic_translator.hpp"
#include "translators/secret/secret_translator.hpp"

namespace {

using namespace bisync::translators;
using bisync::kube::ErrorKind;
using bisync::kube::GroupVersionKind;
using bisync::kube::Json;
using bisync::kube::ResourceInfo;
using bisync::mapping::IdentityMapper;
using bisync::mapping::MapperConfig;
using bisync::mapping::NamespaceMode;
using bisync::unit::parse;

const ResourceInfo kWidgets{"example.com", "v1", "widgets", "Widget", true};

IdentityMapper prefixMapper() {
  return IdentityMapper(MapperConfig{"east", NamespaceMode::Prefix, ""});
}

// A custom object as the source's API server returns it: every server-set field present.
constexpr const char* kServedWidget = R"({
  "apiVersion": "example.com/v1", "kind": "Widget",
  "metadata": {
    "name": "blue", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42",
    "generation": 3, "creationTimestamp": "2026-12-04T10:00:00Z",
    "deletionTimestamp": "2026-12-04T11:00:00Z", "deletionGracePeriodSeconds": 0,
    "selfLink": "/apis/example.com/v1/namespaces/team-a/widgets/blue",
    "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
    "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "o-1"}],
    "finalizers": ["example.com/cleanup"],
    "labels": {"app": "shop", "kube-bisync.io/managed-by": "forged"},
    "annotations": {"note": "kept",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}"}
  },
  "spec": {"color": "blue", "size": 3, "parts": [{"name": "a"}]},
  "data": {"free": "form"},
  "status": {"phase": "Ready"},
  "nothing": null
})";

std::set<std::string> keysOf(const bisync::kube::JsonValue& object) {
  std::set<std::string> keys;
  for (const auto& member : object.GetObject()) keys.emplace(bisync::kube::stringView(member.name));
  return keys;
}

}  // namespace

TEST_CASE("the generic translator copies the content and drops server-set metadata and status",
          "[translators][generic]") {
  const GenericTranslator translator(kWidgets);
  const Json source = parse(kServedWidget);
  const auto target = translator.toTarget(source, prefixMapper());
  REQUIRE(target.has_value());
  CHECK(keysOf(*target) == std::set<std::string>{"apiVersion", "kind", "metadata", "spec", "data"});
  CHECK(bisync::kube::stringAt(*target, "/apiVersion") == "example.com/v1");
  CHECK(bisync::kube::stringAt(*target, "/kind") == "Widget");
  CHECK(bisync::kube::toJson(*bisync::kube::at(*target, "/spec")) ==
        R"({"color":"blue","size":3,"parts":[{"name":"a"}]})");
  CHECK(bisync::kube::toJson(*bisync::kube::at(*target, "/data")) == R"({"free":"form"})");
  const bisync::kube::JsonValue& metadata = (*target)["metadata"];
  CHECK(keysOf(metadata) == std::set<std::string>{"name", "namespace", "labels", "annotations"});
  CHECK(bisync::kube::stringAt(*target, "/metadata/name") == "blue");
  CHECK(bisync::kube::stringAt(*target, "/metadata/namespace") == "east--team-a");
}

TEST_CASE("the generic translator keeps the user's labels and annotations and stamps the origin",
          "[translators][generic]") {
  const GenericTranslator translator(kWidgets);
  const Json source = parse(kServedWidget);
  const auto target = translator.toTarget(source, prefixMapper());
  REQUIRE(target.has_value());
  CHECK(bisync::kube::stringAt(*target, "/metadata/labels/app") == "shop");
  CHECK(bisync::kube::stringAt(*target, "/metadata/annotations/note") == "kept");
  // The source's forged claim is not copied: the origin is the mapper's.
  CHECK(bisync::kube::stringAt(*target, "/metadata/labels/kube-bisync.io~1managed-by") == "east");
  CHECK(bisync::kube::at(
            *target, "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration") ==
        nullptr);
  const auto origin = prefixMapper().originOf(*target);
  REQUIRE(origin.has_value());
  CHECK(origin->ns == "team-a");
  CHECK(origin->name == "blue");
  CHECK(origin->uid == "u-1");
}

TEST_CASE("the generic translator refuses a malformed object with a Decode error",
          "[translators][generic]") {
  const GenericTranslator translator(kWidgets);
  for (const char* text : {R"([1, 2])", R"({"metadata": {"namespace": "a", "uid": "u"}})",
                           R"({"metadata": {"name": "a", "uid": "u"}})",
                           R"({"metadata": {"name": "a", "namespace": "n"}})",
                           R"({"metadata": {"name": "a", "namespace": "n", "uid": "u",
                                            "labels": {"x": 1}}})"}) {
    INFO(text);
    const Json source = parse(text);
    const auto target = translator.toTarget(source, prefixMapper());
    REQUIRE_FALSE(target.has_value());
    CHECK(target.error().kind == ErrorKind::Decode);
  }
}

// The plugins sit on the generic translator; their copies must stay exactly what the
// field-copying plugins made before (member order included), member for member as the servers
// return them (Go struct order: immutable before data).
TEST_CASE("ConfigMap and Secret copies are byte for byte what the plugins always made",
          "[translators][generic]") {
  const Json configMap = parse(R"({"kind":"ConfigMap","apiVersion":"v1",
      "metadata":{"name":"c","namespace":"team-a","uid":"u-1","resourceVersion":"9",
        "labels":{"app":"web"},"annotations":{"note":"n"}},
      "immutable":true,"data":{"b":"2","a":"1"},"binaryData":{"blob":"AAEC"}})");
  const auto configMapCopy = ConfigMapTranslator().toTarget(configMap, prefixMapper());
  REQUIRE(configMapCopy.has_value());
  CHECK(
      bisync::kube::toJson(*configMapCopy) ==
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"east--team-a","labels":{"app":"web","kube-bisync.io/managed-by":"east","kube-bisync.io/source-name":"c","kube-bisync.io/source-namespace":"team-a"},"annotations":{"note":"n","kube-bisync.io/source-cluster":"east","kube-bisync.io/source-name":"c","kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-uid":"u-1"}},"data":{"b":"2","a":"1"},"binaryData":{"blob":"AAEC"},"immutable":true})");

  const Json secret = parse(R"({"kind":"Secret","apiVersion":"v1",
      "metadata":{"name":"s","namespace":"team-a","uid":"u-2"},
      "immutable":false,"data":{"k":"dg=="},"stringData":{"x":"y"},"type":"Opaque"})");
  const auto secretCopy = SecretTranslator().toTarget(secret, prefixMapper());
  REQUIRE(secretCopy.has_value());
  CHECK(
      bisync::kube::toJson(*secretCopy) ==
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"east--team-a","labels":{"kube-bisync.io/managed-by":"east","kube-bisync.io/source-name":"s","kube-bisync.io/source-namespace":"team-a"},"annotations":{"kube-bisync.io/source-cluster":"east","kube-bisync.io/source-name":"s","kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-uid":"u-2"}},"type":"Opaque","data":{"k":"dg=="},"immutable":false})");
}

TEST_CASE("kinds the generic translator must not sync are refused with a reason",
          "[translators][generic]") {
  CHECK(genericRefusal(GroupVersionKind{"", "v1", "Pod"}).has_value());
  CHECK(genericRefusal(GroupVersionKind{"", "v1", "Namespace"}).has_value());
  CHECK(genericRefusal(GroupVersionKind{"coordination.k8s.io", "v1", "Lease"}).has_value());
  CHECK(genericRefusal("", "pods").has_value());
  CHECK(genericRefusal("events.k8s.io", "events").has_value());
  CHECK_FALSE(genericRefusal(GroupVersionKind{"apps", "v1", "Deployment"}).has_value());
  CHECK_FALSE(genericRefusal(GroupVersionKind{"example.com", "v1", "Pod"}).has_value());
  CHECK_FALSE(genericRefusal("", "configmaps").has_value());
  CHECK_FALSE(genericRefusal("example.com", "pods").has_value());
}

TEST_CASE("a kind waiting for discovery is shown under its plural, guessed from a Kind form",
          "[engine][discovery]") {
  const auto key = [](const char* text) {
    const auto spec = bisync::kube::parseResourceSpec(text);
    REQUIRE(spec.has_value());
    return bisync::engine::internal::provisionalKey(*spec);
  };
  CHECK(key("configmaps") == "configmaps");
  CHECK(key("widgets.example.com") == "widgets.example.com");
  CHECK(key("Widget.v1.example.com") == "widgets.example.com");
  CHECK(key("NetworkPolicy.v1.networking.k8s.io") == "networkpolicies.networking.k8s.io");
  CHECK(key("Gateway.v1.example.com") == "gateways.example.com");
  CHECK(key("Ingress.v1.networking.k8s.io") == "ingresses.networking.k8s.io");
  CHECK(key("ConfigMap.v1") == "configmaps");
}
