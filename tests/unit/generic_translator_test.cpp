// The generic translator: what it strips, what it keeps, and the kinds it refuses; and the name
// a kind has in metrics while it waits for discovery.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "syncer/engine/internal/sync_state.hpp"
#include "syncer/kube/discovery.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"
#include "translators/configmap/configmap_translator.hpp"
#include "translators/generic/generic_translator.hpp"
#include "translators/generic/owner_references.hpp"
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
  CHECK(genericRefusal(GroupVersionKind{"", "v1", "Node"}).has_value());
  // A Pod has a plugin of its own.
  CHECK_FALSE(genericRefusal(GroupVersionKind{"", "v1", "Pod"}).has_value());
  CHECK(genericRefusal(GroupVersionKind{"", "v1", "Namespace"}).has_value());
  CHECK(genericRefusal(GroupVersionKind{"coordination.k8s.io", "v1", "Lease"}).has_value());
  CHECK(genericRefusal("", "nodes").has_value());
  CHECK(genericRefusal("events.k8s.io", "events").has_value());
  CHECK_FALSE(genericRefusal(GroupVersionKind{"apps", "v1", "Deployment"}).has_value());
  CHECK_FALSE(genericRefusal(GroupVersionKind{"example.com", "v1", "Pod"}).has_value());
  CHECK_FALSE(genericRefusal("", "configmaps").has_value());
  CHECK_FALSE(genericRefusal("example.com", "pods").has_value());
}

namespace {

// Owners with a target copy, by source uid; the lookup also records what it was asked.
struct FakeCopies {
  std::map<std::string, TargetOwner> byUid;
  std::vector<std::string> asked;

  TargetOwnerLookup lookup() {
    return [this](const SourceOwner& owner) -> std::optional<TargetOwner> {
      asked.push_back(owner.uid);
      const auto it = byUid.find(owner.uid);
      if (it == byUid.end()) return std::nullopt;
      return it->second;
    };
  }
};

std::vector<std::string> uidsOf(const std::vector<SourceOwner>& owners) {
  std::vector<std::string> uids;
  for (const SourceOwner& owner : owners) uids.push_back(owner.uid);
  return uids;
}

}  // namespace

TEST_CASE("an owner reference is rewritten to the owner's target copy, its mapped name and uid",
          "[generic][owners]") {
  FakeCopies copies;
  copies.byUid["s-1"] = TargetOwner{"apps/v1", "Deployment", "web-x-team-a", "t-1"};
  const Json references = parse(R"([{"apiVersion": "apps/v1beta2", "kind": "Deployment",
      "name": "web", "uid": "s-1", "controller": true, "blockOwnerDeletion": true}])");
  const RewrittenOwners rewritten = rewriteOwnerReferences(references, copies.lookup());
  CHECK(bisync::unit::canonical(rewritten.references) ==
        bisync::unit::canonicalText(R"([{"apiVersion": "apps/v1", "kind": "Deployment",
            "name": "web-x-team-a", "uid": "t-1", "controller": true,
            "blockOwnerDeletion": true}])"));
  CHECK(rewritten.unresolved.empty());
}

TEST_CASE("owner references without a target copy are dropped and listed", "[generic][owners]") {
  FakeCopies copies;
  copies.byUid["s-2"] = TargetOwner{"v1", "ConfigMap", "settings", "t-2"};
  const Json references = parse(R"([
      {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "s-1"},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "settings", "uid": "s-2"},
      {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "s-3",
       "controller": true}])");
  const RewrittenOwners rewritten = rewriteOwnerReferences(references, copies.lookup());
  CHECK(bisync::unit::canonical(rewritten.references) ==
        bisync::unit::canonicalText(
            R"([{"apiVersion": "v1", "kind": "ConfigMap", "name": "settings", "uid": "t-2"}])"));
  CHECK(uidsOf(rewritten.unresolved) == std::vector<std::string>{"s-1", "s-3"});
  REQUIRE(rewritten.unresolved.size() == 2);
  CHECK(rewritten.unresolved[1].apiVersion == "example.com/v1");
  CHECK(rewritten.unresolved[1].kind == "Widget");
  CHECK(rewritten.unresolved[1].name == "w");
}

TEST_CASE("controller and blockOwnerDeletion are kept as the source has them, false included",
          "[generic][owners]") {
  FakeCopies copies;
  copies.byUid["s-1"] = TargetOwner{"v1", "ConfigMap", "a", "t-1"};
  copies.byUid["s-2"] = TargetOwner{"v1", "ConfigMap", "b", "t-2"};
  copies.byUid["s-3"] = TargetOwner{"v1", "ConfigMap", "c", "t-3"};
  const Json references = parse(R"([
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "s-1",
       "controller": false, "blockOwnerDeletion": true},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": "s-2"},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "s-3",
       "controller": "yes", "blockOwnerDeletion": null}])");
  const RewrittenOwners rewritten = rewriteOwnerReferences(references, copies.lookup());
  CHECK(bisync::unit::canonical(rewritten.references) == bisync::unit::canonicalText(R"([
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "t-1",
       "controller": false, "blockOwnerDeletion": true},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "b", "uid": "t-2"},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "t-3"}])"));
}

TEST_CASE("references to one owner uid collapse into one, the first", "[generic][owners]") {
  FakeCopies copies;
  copies.byUid["s-1"] = TargetOwner{"v1", "ConfigMap", "a", "t-1"};
  const Json references = parse(R"([
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "s-1", "controller": true},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "s-1"},
      {"apiVersion": "v1", "kind": "Secret", "name": "gone", "uid": "s-9"},
      {"apiVersion": "v1", "kind": "Secret", "name": "gone", "uid": "s-9"}])");
  const RewrittenOwners rewritten = rewriteOwnerReferences(references, copies.lookup());
  CHECK(bisync::unit::canonical(rewritten.references) ==
        bisync::unit::canonicalText(R"([{"apiVersion": "v1", "kind": "ConfigMap", "name": "a",
            "uid": "t-1", "controller": true}])"));
  CHECK(uidsOf(rewritten.unresolved) == std::vector<std::string>{"s-9"});
  CHECK(copies.asked == std::vector<std::string>{"s-1", "s-9"});
}

TEST_CASE("malformed owner references are dropped without a lookup and without a crash",
          "[generic][owners]") {
  FakeCopies copies;
  copies.byUid["s-1"] = TargetOwner{"v1", "ConfigMap", "a", "t-1"};
  const Json references = parse(R"([
      "s-1", 7, null, [],
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a"},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": ""},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": 5},
      {"apiVersion": "v1", "kind": "ConfigMap", "uid": "s-1"},
      {"apiVersion": "v1", "name": "a", "uid": "s-1"},
      {"kind": "ConfigMap", "name": "a", "uid": "s-1"},
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "s-1"}])");
  const RewrittenOwners rewritten = rewriteOwnerReferences(references, copies.lookup());
  CHECK(bisync::unit::canonical(rewritten.references) ==
        bisync::unit::canonicalText(
            R"([{"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": "t-1"}])"));
  CHECK(rewritten.unresolved.empty());
  CHECK(copies.asked == std::vector<std::string>{"s-1"});

  for (const char* notAList : {R"({"uid": "s-1"})", R"("s-1")", "null", "[]"}) {
    INFO(notAList);
    const RewrittenOwners none = rewriteOwnerReferences(parse(notAList), copies.lookup());
    CHECK(none.references.IsArray());
    CHECK(none.references.Empty());
    CHECK(none.unresolved.empty());
  }
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
