// Discovery's pure part: --resources items, and resources found in discovery documents shaped
// like kube-apiserver 1.20's answers (excerpts; the fields the syncer ignores kept for realism).
#include "syncer/kube/discovery.hpp"

#include <optional>
#include <string>
#include <vector>

#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

using namespace bisync::kube;
using bisync::unit::parse;

namespace {

// GET /api/v1, excerpt.
constexpr const char* kCoreV1 = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
  {"name":"bindings","singularName":"","namespaced":true,"kind":"Binding","verbs":["create"]},
  {"name":"configmaps","singularName":"","namespaced":true,"kind":"ConfigMap",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
   "shortNames":["cm"],"storageVersionHash":"qFsyl6wFWjQ="},
  {"name":"namespaces","singularName":"","namespaced":false,"kind":"Namespace",
   "verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"],
   "storageVersionHash":"Q3oi5N2YM8M="},
  {"name":"namespaces/finalize","singularName":"","namespaced":false,"kind":"Namespace",
   "verbs":["update"]},
  {"name":"namespaces/status","singularName":"","namespaced":false,"kind":"Namespace",
   "verbs":["get","patch","update"]},
  {"name":"pods","singularName":"","namespaced":true,"kind":"Pod",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
   "shortNames":["po"],"categories":["all"],"storageVersionHash":"xPOwRZ+Yhw8="},
  {"name":"pods/attach","singularName":"","namespaced":true,"kind":"PodAttachOptions",
   "verbs":["create","get"]},
  {"name":"pods/eviction","singularName":"","namespaced":true,"group":"policy",
   "version":"v1beta1","kind":"Eviction","verbs":["create"]},
  {"name":"pods/log","singularName":"","namespaced":true,"kind":"Pod","verbs":["get"]},
  {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod",
   "verbs":["get","patch","update"]},
  {"name":"secrets","singularName":"","namespaced":true,"kind":"Secret",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
   "storageVersionHash":"S6u1pOWzb84="},
  {"name":"events","singularName":"","namespaced":true,"kind":"Event",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
   "shortNames":["ev"],"storageVersionHash":"r2yiGXH7wu8="}]})";

// GET /apis/apps/v1, excerpt.
constexpr const char* kAppsV1 = R"({"kind":"APIResourceList","apiVersion":"v1",
 "groupVersion":"apps/v1","resources":[
  {"name":"controllerrevisions","singularName":"","namespaced":true,"kind":"ControllerRevision",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
   "storageVersionHash":"85nkx63pcBU="},
  {"name":"deployments","singularName":"","namespaced":true,"kind":"Deployment",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"],
   "shortNames":["deploy"],"categories":["all"],"storageVersionHash":"8aSe+NMegvE="},
  {"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling",
   "version":"v1","kind":"Scale","verbs":["get","patch","update"]},
  {"name":"deployments/status","singularName":"","namespaced":true,"kind":"Deployment",
   "verbs":["get","patch","update"]}]})";

// GET /apis/example.com/v1 for two CRDs; the status subresource listed before its resource.
constexpr const char* kExampleV1 = R"({"kind":"APIResourceList","apiVersion":"v1",
 "groupVersion":"example.com/v1","resources":[
  {"name":"widgets/status","singularName":"","namespaced":true,"kind":"Widget",
   "verbs":["get","patch","update"]},
  {"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget",
   "verbs":["delete","deletecollection","get","list","patch","create","update","watch"],
   "storageVersionHash":"Zl0Bt2T+3aA="},
  {"name":"gadgets","singularName":"gadget","namespaced":false,"kind":"Gadget",
   "verbs":["delete","deletecollection","get","list","patch","create","update","watch"],
   "storageVersionHash":"0OL3mVdCHRk="}]})";

ResourceSpec spec(const std::string& text) {
  const auto parsed = parseResourceSpec(text);
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed);
  return *parsed;
}

std::optional<ResourceInfo> find(const std::string& document, const std::string& group,
                                 const std::string& version, const std::string& wanted) {
  return findInResourceList(parse(document), group, version, spec(wanted));
}

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

}  // namespace

TEST_CASE("a resource spec is a plural, a plural.group or a Kind.version[.group]", "[discovery]") {
  struct Case {
    std::string text, group, version, resource, kind;
  };
  const std::vector<Case> cases = {
      {"configmaps", "", "", "configmaps", ""},
      {"deployments.apps", "apps", "", "deployments", ""},
      {"widgets.example.com", "example.com", "", "widgets", ""},
      {"clusterroles.rbac.authorization.k8s.io", "rbac.authorization.k8s.io", "", "clusterroles",
       ""},
      {"x-1", "", "", "x-1", ""},
      {"Deployment.v1.apps", "apps", "v1", "", "Deployment"},
      {"ConfigMap.v1", "", "v1", "", "ConfigMap"},
      {"HorizontalPodAutoscaler.v2beta2.autoscaling", "autoscaling", "v2beta2", "",
       "HorizontalPodAutoscaler"},
      {"Widget.v2alpha3.example.com", "example.com", "v2alpha3", "", "Widget"},
      {"APIService.v1.apiregistration.k8s.io", "apiregistration.k8s.io", "v1", "", "APIService"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const auto parsed = parseResourceSpec(c.text);
    REQUIRE(parsed);
    CHECK(parsed->text == c.text);
    CHECK(parsed->group == c.group);
    CHECK(parsed->version == c.version);
    CHECK(parsed->resource == c.resource);
    CHECK(parsed->kind == c.kind);
    CHECK(parsed->byKind() == !c.kind.empty());
  }
}

TEST_CASE("a resource spec that is none of the forms is refused with the part that is wrong",
          "[discovery]") {
  struct Case {
    std::string text, reason;
  };
  const std::vector<Case> cases = {
      {"", R"("" is not a resource name: it is empty; write a plural (configmaps))"},
      {"Deploy-ment", R"("Deploy-ment" is not a resource name: the kind "Deploy-ment" is not)"},
      {"Deployment", "a kind needs its version: Kind.version[.group], as in Deployment.v1.apps"},
      {"Deployment.apps", R"(the version "apps" is not one like v1, v1beta1 or v2alpha3)"},
      {"Deployment.velero.io", R"(the version "velero" is not one like v1)"},
      {"Deployment.V1.apps", R"(the version "V1" is not one)"},
      {"Deployment..apps", R"(the version "" is not one)"},
      {"Deployment.v1.", R"(the group "" is not a lower-case DNS subdomain)"},
      {"Deployment.v1.Apps", R"(the group "Apps" is not a lower-case DNS subdomain)"},
      {"Deployment.v1.apps..io", R"(the group "apps..io" is not)"},
      {"Déployment.v1", R"(the kind "Déployment" is not an upper-case letter)"},
      {"déployments", R"(the plural "déployments" is not a lower-case resource name)"},
      {"configMaps", R"(the plural "configMaps" is not a lower-case resource name)"},
      {"config_maps", R"(the plural "config_maps" is not a lower-case resource name)"},
      {"-configmaps", R"(the plural "-configmaps" is not)"},
      {" configmaps", R"(the plural " configmaps" is not)"},
      {"configmaps/status", R"(the plural "configmaps/status" is not)"},
      {".apps", R"(the plural "" is not)"},
      {"deployments.", R"(the group "" is not a lower-case DNS subdomain)"},
      {"deployments.apps-", R"(the group "apps-" is not)"},
      {"deployments.ap_ps", R"(the group "ap_ps" is not)"},
      {"deployments.apps/v1", R"(the group "apps/v1" is not)"},
      {std::string(64, 'a'), "is not a lower-case resource name"},
      {"x." + std::string(254, 'a'), "is not a lower-case DNS subdomain"},
      {"K" + std::string(63, 'a') + ".v1", "is not an upper-case letter followed by letters"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const auto parsed = parseResourceSpec(c.text);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error(), Catch::Contains(c.reason));
    CHECK_THAT(parsed.error(), Catch::StartsWith("\"" + c.text + "\" is not a resource name: "));
  }
}

TEST_CASE("core resources are found by plural or kind, with scope, verbs and status subresource",
          "[discovery]") {
  const std::optional<ResourceInfo> configMaps = find(kCoreV1, "", "v1", "configmaps");
  REQUIRE(configMaps);
  CHECK(configMaps->group.empty());
  CHECK(configMaps->version == "v1");
  CHECK(configMaps->resource == "configmaps");
  CHECK(configMaps->kind == "ConfigMap");
  CHECK(configMaps->namespaced);
  CHECK_FALSE(configMaps->statusSubresource);
  CHECK(configMaps->verbs == kAllVerbs);
  CHECK(configMaps->serves("watch"));
  CHECK_FALSE(configMaps->serves("proxy"));

  const std::optional<ResourceInfo> pods = find(kCoreV1, "", "v1", "Pod.v1");
  REQUIRE(pods);
  CHECK(pods->resource == "pods");  // not pods/log or pods/status, also of kind Pod
  CHECK(pods->statusSubresource);

  const std::optional<ResourceInfo> namespaces = find(kCoreV1, "", "v1", "namespaces");
  REQUIRE(namespaces);
  CHECK_FALSE(namespaces->namespaced);
  CHECK(namespaces->statusSubresource);
  CHECK_FALSE(namespaces->serves("deletecollection"));

  const std::optional<ResourceInfo> bindings = find(kCoreV1, "", "v1", "Binding.v1");
  REQUIRE(bindings);
  CHECK(bindings->verbs == std::vector<std::string>{"create"});
  CHECK_FALSE(bindings->serves("list"));

  CHECK_FALSE(find(kCoreV1, "", "v1", "services"));
  CHECK_FALSE(find(kCoreV1, "", "v1", "Service.v1"));
  CHECK_FALSE(find(kCoreV1, "", "v1", "PodAttachOptions.v1"));  // only a subresource's kind
  CHECK_FALSE(find(kCoreV1, "", "v1", "Eviction.v1"));
}

TEST_CASE("the well-known core resources say what discovery says about them", "[discovery]") {
  const Json core = parse(kCoreV1);
  for (const ResourceInfo& known : {resources::configMaps(), resources::secrets(),
                                    resources::namespaces(), resources::events()}) {
    INFO(known.resource);
    ResourceSpec wanted;
    wanted.resource = known.resource;
    const std::optional<ResourceInfo> found = findInResourceList(core, "", "v1", wanted);
    REQUIRE(found);
    CHECK(found->kind == known.kind);
    CHECK(found->namespaced == known.namespaced);
    CHECK(found->statusSubresource == known.statusSubresource);
    CHECK(found->verbs == known.verbs);
  }
}

TEST_CASE("a group's subresources are not resources: they mark their parent's status",
          "[discovery]") {
  const std::optional<ResourceInfo> deployments = find(kAppsV1, "apps", "v1", "deployments.apps");
  REQUIRE(deployments);
  CHECK(deployments->group == "apps");
  CHECK(deployments->version == "v1");
  CHECK(deployments->kind == "Deployment");
  CHECK(deployments->apiVersion() == "apps/v1");
  CHECK(deployments->statusSubresource);
  CHECK(deployments->collectionPath("ns") == "/apis/apps/v1/namespaces/ns/deployments");

  const std::optional<ResourceInfo> byKind = find(kAppsV1, "apps", "v1", "Deployment.v1.apps");
  REQUIRE(byKind);
  CHECK(byKind->resource == "deployments");
  CHECK(byKind->statusSubresource);

  const std::optional<ResourceInfo> revisions =
      find(kAppsV1, "apps", "v1", "ControllerRevision.v1.apps");
  REQUIRE(revisions);
  CHECK_FALSE(revisions->statusSubresource);

  CHECK_FALSE(find(kAppsV1, "apps", "v1", "Scale.v1.autoscaling"));
  CHECK_FALSE(find(kAppsV1, "apps", "v1", "scale.apps"));
}

TEST_CASE("custom resources are found with their scope and a status subresource listed first",
          "[discovery]") {
  const std::optional<ResourceInfo> widgets =
      find(kExampleV1, "example.com", "v1", "widgets.example.com");
  REQUIRE(widgets);
  CHECK(widgets->kind == "Widget");
  CHECK(widgets->namespaced);
  CHECK(widgets->statusSubresource);
  CHECK(widgets->serves("watch"));
  CHECK(widgets->serves("patch"));
  CHECK(widgets->objectPath("ns", "w", "status") ==
        "/apis/example.com/v1/namespaces/ns/widgets/w/status");

  const std::optional<ResourceInfo> gadgets =
      find(kExampleV1, "example.com", "v1", "Gadget.v1.example.com");
  REQUIRE(gadgets);
  CHECK(gadgets->resource == "gadgets");
  CHECK_FALSE(gadgets->namespaced);
  CHECK_FALSE(gadgets->statusSubresource);
  CHECK(gadgets->collectionPath("ns") == "/apis/example.com/v1/gadgets");
}

TEST_CASE("the preferred version of a group is preferredVersion, else the first listed",
          "[discovery]") {
  CHECK(preferredVersion(parse(R"({"kind":"APIGroup","apiVersion":"v1","name":"autoscaling",
      "versions":[{"groupVersion":"autoscaling/v1","version":"v1"},
                  {"groupVersion":"autoscaling/v2beta1","version":"v2beta1"},
                  {"groupVersion":"autoscaling/v2beta2","version":"v2beta2"}],
      "preferredVersion":{"groupVersion":"autoscaling/v2beta2","version":"v2beta2"}})")) ==
        "v2beta2");
  CHECK(preferredVersion(parse(R"({"name":"example.com",
      "versions":[{"groupVersion":"example.com/v1beta1","version":"v1beta1"},
                  {"groupVersion":"example.com/v1","version":"v1"}]})")) == "v1beta1");
  CHECK(preferredVersion(parse(R"({"preferredVersion":{"version":7},
      "versions":[{"version":null},"v3",{"version":"v2"}]})")) == "v2");
  CHECK(preferredVersion(parse(R"({"preferredVersion":{"version":"../../api/v1"},
      "versions":[{"version":"v1/../x"}]})")) == std::nullopt);
  CHECK(preferredVersion(parse(R"({"preferredVersion":{"version":""},"versions":[]})")) ==
        std::nullopt);
  CHECK(preferredVersion(parse(R"({"versions":{"version":"v1"}})")) == std::nullopt);
  CHECK(preferredVersion(parse(R"({"preferredVersion":"v1"})")) == std::nullopt);
  CHECK(preferredVersion(parse(R"(["v1"])")) == std::nullopt);
  CHECK(preferredVersion(parse(R"("v1")")) == std::nullopt);
}

TEST_CASE("hostile discovery documents find nothing or skip the bad entries, never crash",
          "[discovery][limits]") {
  ResourceSpec byName;
  byName.resource = "widgets";
  ResourceSpec byKind;
  byKind.kind = "Widget";
  const auto findBoth = [&](const std::string& text) {
    const Json document = parse(text);
    const std::optional<ResourceInfo> named = findInResourceList(document, "g", "v1", byName);
    const std::optional<ResourceInfo> kinded = findInResourceList(document, "g", "v1", byKind);
    CHECK(named.has_value() == kinded.has_value());
    return named;
  };
  for (const char* text : {
           R"(null)",
           R"(42)",
           R"("resources")",
           R"([{"name":"widgets","namespaced":true,"kind":"Widget"}])",
           R"({})",
           R"({"resources":null})",
           R"({"resources":{"name":"widgets","namespaced":true,"kind":"Widget"}})",
           R"({"resources":"widgets"})",
           R"({"resources":[]})",
           R"({"resources":[null,1,"widgets",[],true]})",
           R"({"resources":[{"name":7,"namespaced":true,"kind":"Widget"}]})",
           R"({"resources":[{"name":"widgets","namespaced":true,"kind":7}]})",
           R"({"resources":[{"name":"widgets","kind":"Widget","verbs":["get"]}]})",
           R"({"resources":[{"name":"widgets","namespaced":"true","kind":"Widget"}]})",
           R"({"resources":[{"name":"widgets","namespaced":1,"kind":"Widget"}]})",
           R"({"resources":[{"name":"widgets","namespaced":true}]})",
           R"({"resources":[{"name":"","namespaced":true,"kind":"Widget"}]})",
           R"({"resources":[{"name":"../secrets","namespaced":true,"kind":"Widget"}]})",
           R"({"resources":[{"name":"Widgets","namespaced":true,"kind":"Widget"}]})",
           R"({"resources":[{"namespaced":true,"kind":"Widget"}]})",
       }) {
    INFO(text);
    CHECK_FALSE(findBoth(text));
  }

  // A bad entry is skipped; a good one after it is still found, bad verbs and subresources too.
  const std::optional<ResourceInfo> found = findBoth(R"({"resources":[
      {"name":"widgets","namespaced":null,"kind":"Widget"},
      {"name":{"x":1},"kind":"Widget"},
      "widgets/status",
      {"name":["widgets/status"]},
      {"name":"widgets","namespaced":false,"kind":"Widget","verbs":["get",7,null,{"list":1},"watch"]},
      {"name":"widgets/status","namespaced":"yes"}]})");
  REQUIRE(found);
  CHECK_FALSE(found->namespaced);
  CHECK(found->verbs == std::vector<std::string>{"get", "watch"});
  CHECK(found->statusSubresource);  // the entry names it; its other fields are not needed

  const std::optional<ResourceInfo> noVerbs = findBoth(
      R"({"resources":[{"name":"widgets","namespaced":true,"kind":"Widget","verbs":"*"}]})");
  REQUIRE(noVerbs);
  CHECK(noVerbs->verbs.empty());
  CHECK_FALSE(noVerbs->serves("get"));
  CHECK_FALSE(noVerbs->statusSubresource);

  // A spec that names nothing finds nothing, not the first nameless entry.
  CHECK_FALSE(findInResourceList(parse(R"({"resources":[{"namespaced":true,"kind":""}]})"), "g",
                                 "v1", ResourceSpec{}));
}

TEST_CASE("a kind that syncs stops only when a side says it does not serve it or withdraws it",
          "[discovery]") {
  CHECK_FALSE(whyKindGone(Presence::Served, Presence::Served));
  // A failed lookup (network, 5xx, 403) proves nothing: the kind keeps syncing.
  CHECK_FALSE(whyKindGone(Presence::Unknown, Presence::Served));
  CHECK_FALSE(whyKindGone(Presence::Served, Presence::Unknown));
  CHECK_FALSE(whyKindGone(Presence::Unknown, Presence::Unknown));

  CHECK(whyKindGone(Presence::NotServed, Presence::Served) ==
        "not served by the source API server any more");
  CHECK(whyKindGone(Presence::Unknown, Presence::NotServed) ==
        "not served by the target API server any more");
  CHECK(whyKindGone(Presence::NotServed, Presence::NotServed) ==
        "not served by the source and target API servers any more");
  CHECK(whyKindGone(Presence::Withdrawn, Presence::Served) ==
        "its CustomResourceDefinition on the source API server is being deleted");
  CHECK(whyKindGone(Presence::Withdrawn, Presence::NotServed) ==
        "its CustomResourceDefinition on the source API server is being deleted; not served by "
        "the target API server any more");
}

TEST_CASE("a CRD is withdrawing once it is being deleted or says Terminating", "[discovery]") {
  CHECK_FALSE(crdWithdrawing(parse(R"({"metadata":{"name":"widgets.example.com"},
    "status":{"conditions":[{"type":"Established","status":"True"},
                            {"type":"NamesAccepted","status":"True"}]}})")));
  CHECK(crdWithdrawing(parse(R"({"metadata":{"name":"widgets.example.com",
    "deletionTimestamp":"2024-01-01T00:00:00Z","finalizers":["customresourcecleanup.apiextensions.k8s.io"]}})")));
  CHECK(crdWithdrawing(parse(R"({"metadata":{"name":"w"},
    "status":{"conditions":[{"type":"Terminating","status":"True","reason":"InstanceDeletionInProgress"}]}})")));
  CHECK_FALSE(crdWithdrawing(
      parse(R"({"status":{"conditions":[{"type":"Terminating","status":"False"}]}})")));
  // Hostile or malformed: not withdrawing, never a crash.
  CHECK_FALSE(crdWithdrawing(parse(R"({"metadata":{"deletionTimestamp":null}})")));
  CHECK_FALSE(
      crdWithdrawing(parse(R"({"metadata":7,"status":{"conditions":{"type":"Terminating"}}})")));
  CHECK_FALSE(
      crdWithdrawing(parse(R"({"status":{"conditions":[7,null,{"type":1,"status":"True"}]}})")));
  CHECK_FALSE(crdWithdrawing(parse("[1,2]")));
}

TEST_CASE("a CRD's state for a version: serving, switched off, gone or unreadable", "[discovery]") {
  const std::string serving = R"({"metadata":{"name":"widgets.example.com"},
    "spec":{"versions":[{"name":"v1","served":true,"storage":true},
                        {"name":"v2","served":false,"storage":false}]}})";
  CHECK(crdStateOf(parse(serving), "v1") == CrdState::Serving);
  CHECK(crdStateOf(parse(serving), "v2") == CrdState::NotServing);
  CHECK(crdStateOf(parse(serving), "v3") == CrdState::NotServing);
  CHECK(crdStateOf(parse(R"({"metadata":{"deletionTimestamp":"2024-01-01T00:00:00Z"},
    "spec":{"versions":[{"name":"v1","served":true}]}})"),
                   "v1") == CrdState::Withdrawing);
  // Hostile or malformed: unreadable (proves nothing), or not serving; never a crash.
  CHECK(crdStateOf(parse(R"({"spec":{"versions":{"name":"v1"}}})"), "v1") == CrdState::Unreadable);
  CHECK(crdStateOf(parse("[1,2]"), "v1") == CrdState::Unreadable);
  CHECK(crdStateOf(parse(R"({"spec":{"versions":[7,{"name":"v1","served":"yes"}]}})"), "v1") ==
        CrdState::NotServing);
}

TEST_CASE("a 404 from discovery stops a CRD's kind only when its CRD agrees", "[discovery]") {
  // Listed by discovery: the CRD can still say it is going or switched off.
  CHECK(presenceByCrd(CrdState::Serving) == Presence::Served);
  CHECK(presenceByCrd(CrdState::Unreadable) == Presence::Served);
  CHECK(presenceByCrd(CrdState::NotServing) == Presence::NotServed);
  CHECK(presenceByCrd(CrdState::Absent) == Presence::NotServed);
  CHECK(presenceByCrd(CrdState::Withdrawing) == Presence::Withdrawn);
  // Not listed: a CRD that serves the version means a server still starting, not a gone kind.
  CHECK(presenceUndiscovered(CrdState::Serving) == Presence::Unknown);
  CHECK_FALSE(whyKindGone(presenceUndiscovered(CrdState::Serving), Presence::Served));
  CHECK(presenceUndiscovered(CrdState::Unreadable) == Presence::NotServed);
  CHECK(presenceUndiscovered(CrdState::NotServing) == Presence::NotServed);
  CHECK(presenceUndiscovered(CrdState::Absent) == Presence::NotServed);
  CHECK(presenceUndiscovered(CrdState::Withdrawing) == Presence::Withdrawn);
}
