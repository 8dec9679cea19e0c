#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "mapping/names.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"
#include "translators/configmap/configmap_translator.hpp"
#include "translators/secret/secret_translator.hpp"
#include "translators/translator.hpp"

namespace {

using namespace bisync::translators;
using bisync::kube::ErrorKind;
using bisync::mapping::canonicalJson;
using bisync::mapping::IdentityMapper;
using bisync::mapping::MapperConfig;
using bisync::mapping::NamespaceMode;
using bisync::mapping::Origin;
using bisync::mapping::SourceKey;

using bisync::unit::parse;

IdentityMapper prefixMapper() {
  return IdentityMapper(MapperConfig{"east", NamespaceMode::Prefix, ""});
}
IdentityMapper singleMapper() {
  return IdentityMapper(MapperConfig{"east", NamespaceMode::Single, "shared"});
}

// The translation of `source`, which must succeed.
Json translate(const Translator& translator, const std::string& source,
               const IdentityMapper& mapper) {
  const Json input = parse(source);
  auto target = translator.toTarget(input, mapper);
  INFO("source: " << source);
  REQUIRE(target.has_value());
  return std::move(*target);
}

std::set<std::string> keysOf(const JsonValue* object) {
  std::set<std::string> keys;
  REQUIRE(object != nullptr);
  REQUIRE(object->IsObject());
  for (rapidjson::SizeType i = 0; i < object->MemberCount(); ++i) {
    const auto& name = (object->MemberBegin() + i)->name;
    keys.emplace(name.GetString(), name.GetStringLength());
  }
  return keys;
}

// A translator for any resource, to exercise the registry.
class FakeTranslator final : public Translator {
 public:
  explicit FakeTranslator(bisync::kube::ResourceInfo resource) : resource_(std::move(resource)) {}
  const bisync::kube::ResourceInfo& resource() const override { return resource_; }
  bisync::mapping::NameLimit nameLimit() const override { return bisync::mapping::kLabelName; }
  bool shouldSync(const JsonValue&) const override { return true; }
  bisync::kube::Result<Json> toTarget(const JsonValue&, const IdentityMapper&) const override {
    return Json(rapidjson::kObjectType);
  }

 private:
  bisync::kube::ResourceInfo resource_;
};

const char* const kConfigMap = R"({"apiVersion":"v1","kind":"ConfigMap",
    "metadata":{"name":"settings","namespace":"team-a","uid":"uid-1","resourceVersion":"42",
                "labels":{"app":"web"},"annotations":{"note":"keep me"}},
    "data":{"mode":"fast","level":"3"}})";

}  // namespace

TEST_CASE("a ConfigMap maps into <cluster>--<ns> with its name, metadata and data in prefix mode",
          "[translators]") {
  const Json target = translate(ConfigMapTranslator(), kConfigMap, prefixMapper());
  const Json expected = parse(R"({"apiVersion":"v1","kind":"ConfigMap",
      "metadata":{"name":"settings","namespace":"east--team-a",
        "labels":{"app":"web","kube-bisync.io/managed-by":"east",
                  "kube-bisync.io/source-namespace":"team-a",
                  "kube-bisync.io/source-name":"settings"},
        "annotations":{"note":"keep me","kube-bisync.io/source-cluster":"east",
                       "kube-bisync.io/source-namespace":"team-a",
                       "kube-bisync.io/source-name":"settings",
                       "kube-bisync.io/source-uid":"uid-1"}},
      "data":{"mode":"fast","level":"3"}})");
  CHECK(canonicalJson(target) == canonicalJson(expected));
}

TEST_CASE("a ConfigMap maps to <name>-x-<ns>-x-<cluster> in the shared namespace in single mode",
          "[translators]") {
  const Json target = translate(ConfigMapTranslator(), kConfigMap, singleMapper());
  const Json expected = parse(R"({"apiVersion":"v1","kind":"ConfigMap",
      "metadata":{"name":"settings-x-team-a-x-east","namespace":"shared",
        "labels":{"app":"web","kube-bisync.io/managed-by":"east",
                  "kube-bisync.io/source-namespace":"team-a",
                  "kube-bisync.io/source-name":"settings"},
        "annotations":{"note":"keep me","kube-bisync.io/source-cluster":"east",
                       "kube-bisync.io/source-namespace":"team-a",
                       "kube-bisync.io/source-name":"settings",
                       "kube-bisync.io/source-uid":"uid-1"}},
      "data":{"mode":"fast","level":"3"}})");
  CHECK(canonicalJson(target) == canonicalJson(expected));
}

TEST_CASE("runtime fields and status never travel to the target", "[translators]") {
  const std::string runtime = R"("uid":"uid-1","resourceVersion":"42","generation":3,
      "creationTimestamp":"2024-01-01T00:00:00Z","deletionTimestamp":"2024-01-02T00:00:00Z",
      "deletionGracePeriodSeconds":0,"selfLink":"/api/v1/namespaces/team-a/x/cfg",
      "finalizers":["example.com/hold"],
      "ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"p","uid":"uid-9"}],
      "managedFields":[{"manager":"kubectl","operation":"Apply","apiVersion":"v1"}])";
  const Json configMap = translate(ConfigMapTranslator(),
                                   R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{
      "name":"cfg","namespace":"team-a",)" +
                                       runtime + R"(},
      "data":{"k":"v"},"status":{"phase":"odd"}})",
                                   prefixMapper());
  CHECK(keysOf(&configMap) == std::set<std::string>{"apiVersion", "kind", "metadata", "data"});
  CHECK(keysOf(bisync::kube::member(configMap, "metadata")) ==
        std::set<std::string>{"name", "namespace", "labels", "annotations"});

  const Json secret = translate(SecretTranslator(),
                                R"({"apiVersion":"v1","kind":"Secret","metadata":{
      "name":"creds","namespace":"team-a",)" +
                                    runtime + R"(},
      "type":"Opaque","data":{"k":"dg=="},"status":{}})",
                                prefixMapper());
  CHECK(keysOf(&secret) == std::set<std::string>{"apiVersion", "kind", "metadata", "type", "data"});
  CHECK(keysOf(bisync::kube::member(secret, "metadata")) ==
        std::set<std::string>{"name", "namespace", "labels", "annotations"});
}

TEST_CASE("kube-bisync.io labels and annotations of the source are replaced by the origin",
          "[translators]") {
  const IdentityMapper mapper = prefixMapper();
  const Json target = translate(ConfigMapTranslator(), R"({"metadata":{
      "name":"cfg","namespace":"team-a","uid":"uid-7",
      "labels":{"app":"web","kube-bisync.io/managed-by":"west",
                "kube-bisync.io/source-name":"forged","kube-bisync.io/extra":"x"},
      "annotations":{"note":"n","kube-bisync.io/source-uid":"forged",
                     "kube-bisync.io/last-synced":"sha256:00",
                     "kubectl.kubernetes.io/last-applied-configuration":"{}",
                     "kubectl.kubernetes.io/restartedAt":"now"}}})",
                                mapper);
  const Json expectedLabels = parse(R"({"app":"web","kube-bisync.io/managed-by":"east",
      "kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-name":"cfg"})");
  const Json expectedAnnotations = parse(R"({"note":"n",
      "kubectl.kubernetes.io/restartedAt":"now","kube-bisync.io/source-cluster":"east",
      "kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-name":"cfg",
      "kube-bisync.io/source-uid":"uid-7"})");
  CHECK(canonicalJson(*bisync::kube::at(target, "/metadata/labels")) ==
        canonicalJson(expectedLabels));
  CHECK(canonicalJson(*bisync::kube::at(target, "/metadata/annotations")) ==
        canonicalJson(expectedAnnotations));
  const auto origin = mapper.originOf(target);
  REQUIRE(origin.has_value());
  CHECK(*origin == Origin{"east", "team-a", "cfg", "uid-7"});
  CHECK(bisync::mapping::lastSyncedOf(target).empty());
}

TEST_CASE("binaryData and immutable travel; empty maps and null fields are omitted",
          "[translators]") {
  const ConfigMapTranslator translator;
  const IdentityMapper mapper = prefixMapper();
  const Json full = translate(translator, R"({"metadata":{"name":"c","namespace":"n","uid":"u"},
      "data":{"a":"1"},"binaryData":{"blob":"AAEC"},"immutable":true})",
                              mapper);
  CHECK(canonicalJson(*bisync::kube::member(full, "binaryData")) == R"({"blob":"AAEC"})");
  CHECK(bisync::kube::member(full, "immutable")->IsTrue());
  CHECK(canonicalJson(*bisync::kube::member(full, "data")) == R"({"a":"1"})");

  // immutable: false is what the user wrote and what the server returns: it travels.
  const Json mutableOne =
      translate(translator,
                R"({"metadata":{"name":"c","namespace":"n","uid":"u"},"immutable":false})", mapper);
  CHECK(bisync::kube::member(mutableOne, "immutable")->IsFalse());

  const Json empty = translate(translator, R"({"metadata":{"name":"c","namespace":"n","uid":"u",
      "labels":null},"data":{},"binaryData":null,"immutable":null})",
                               mapper);
  CHECK(keysOf(&empty) == std::set<std::string>{"apiVersion", "kind", "metadata"});
}

TEST_CASE("a Secret's type, data and immutable travel, stringData does not", "[translators]") {
  const SecretTranslator translator;
  const Json target = translate(translator, R"({"apiVersion":"v1","kind":"Secret",
      "metadata":{"name":"tls","namespace":"team-a","uid":"uid-2"},
      "type":"kubernetes.io/tls","data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"},
      "stringData":{"extra":"plain"},"immutable":true})",
                                prefixMapper());
  const Json expected = parse(R"({"apiVersion":"v1","kind":"Secret",
      "metadata":{"name":"tls","namespace":"east--team-a",
        "labels":{"kube-bisync.io/managed-by":"east","kube-bisync.io/source-namespace":"team-a",
                  "kube-bisync.io/source-name":"tls"},
        "annotations":{"kube-bisync.io/source-cluster":"east",
                       "kube-bisync.io/source-namespace":"team-a",
                       "kube-bisync.io/source-name":"tls","kube-bisync.io/source-uid":"uid-2"}},
      "type":"kubernetes.io/tls","data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"},
      "immutable":true})");
  CHECK(canonicalJson(target) == canonicalJson(expected));
  CHECK(translator.resource().resource == "secrets");
  CHECK(translator.nameLimit().maxLength == bisync::mapping::kMaxSubdomainLength);
}

TEST_CASE("service account token Secrets and kube-root-ca.crt ConfigMaps are not synced",
          "[translators]") {
  const SecretTranslator secrets;
  CHECK_FALSE(secrets.shouldSync(parse(R"({"metadata":{"name":"default-token-abcde",
      "namespace":"team-a"},"type":"kubernetes.io/service-account-token"})")));
  CHECK(secrets.shouldSync(parse(R"({"metadata":{"name":"s","namespace":"n"},"type":"Opaque"})")));
  CHECK(secrets.shouldSync(parse(
      R"({"metadata":{"name":"s","namespace":"n"},"type":"kubernetes.io/dockerconfigjson"})")));

  const ConfigMapTranslator configMaps;
  CHECK_FALSE(configMaps.shouldSync(parse(R"({"metadata":{"name":"kube-root-ca.crt",
      "namespace":"team-a"},"data":{"ca.crt":"-----BEGIN CERTIFICATE-----"}})")));
  CHECK_FALSE(configMaps.shouldSync(
      parse(R"({"metadata":{"name":"kube-root-ca.crt","namespace":"default"}})")));
  CHECK(configMaps.shouldSync(parse(R"({"metadata":{"name":"kube-root-ca","namespace":"n"}})")));

  // Malformed objects are not rejected here (toTarget says why); asking never crashes.
  for (const char* text : {"[]", "7", R"({"metadata":"x"})", R"({"type":{"a":1}})"}) {
    CHECK(secrets.shouldSync(parse(text)));
    CHECK(configMaps.shouldSync(parse(text)));
  }
}

TEST_CASE("malformed sources give Decode errors naming the field, never a crash", "[translators]") {
  const IdentityMapper mapper = prefixMapper();
  const ConfigMapTranslator configMaps;
  const SecretTranslator secrets;
  struct Case {
    const Translator* translator;
    const char* source;
    const char* field;  // expected in the message
  };
  const std::vector<Case> cases = {
      {&configMaps, "[1]", "not a JSON object"},
      {&configMaps, R"("cfg")", "not a JSON object"},
      {&configMaps, "{}", "/metadata"},
      {&configMaps, R"({"metadata":[]})", "/metadata"},
      {&configMaps, R"({"metadata":{"namespace":"n","uid":"u"}})", "/metadata/name"},
      {&configMaps, R"({"metadata":{"name":7,"namespace":"n","uid":"u"}})", "/metadata/name"},
      {&configMaps, R"({"metadata":{"name":"","namespace":"n","uid":"u"}})", "/metadata/name"},
      {&configMaps, R"({"metadata":{"name":"c","uid":"u"}})", "/metadata/namespace"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":["n"],"uid":"u"}})",
       "/metadata/namespace"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n"}})", "/metadata/uid"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u","labels":"a=b"}})",
       "/metadata/labels"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u","labels":{"a":1}}})",
       "/metadata/labels"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u","annotations":[]}})",
       "/metadata/annotations"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u"},"data":"k=v"})", "/data"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u"},"data":{"k":1}})",
       "/data"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u"},"binaryData":[]})",
       "/binaryData"},
      {&configMaps, R"({"metadata":{"name":"c","namespace":"n","uid":"u"},"immutable":"yes"})",
       "/immutable"},
      {&secrets, R"({"metadata":{"name":"s","namespace":"n","uid":"u"},"type":5})", "/type"},
      {&secrets, R"({"metadata":{"name":"s","namespace":"n","uid":"u"},"data":"x"})", "/data"},
      {&secrets, R"({"metadata":{"name":"s","namespace":"n","uid":"u"},"data":{"k":null}})",
       "/data"},
      {&secrets, R"({"metadata":{"name":"s","namespace":"n","uid":"u"},"immutable":1})",
       "/immutable"},
  };
  for (const Case& c : cases) {
    INFO("source: " << c.source);
    const auto result = c.translator->toTarget(parse(c.source), mapper);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::Decode);
    CHECK_THAT(result.error().message, Catch::Contains(c.field));
  }
  const auto named = configMaps.toTarget(
      parse(R"({"metadata":{"name":"c","namespace":"n","uid":"u"},"data":[]})"), mapper);
  REQUIRE_FALSE(named.has_value());
  CHECK(named.error().origin == "ConfigMap n/c");
}

TEST_CASE("translating leaves the source untouched and gives the same result every time",
          "[translators]") {
  const Json source = parse(kConfigMap);
  const std::string before = bisync::kube::toJson(source);
  const ConfigMapTranslator translator;
  const auto first = translator.toTarget(source, prefixMapper());
  const auto second = translator.toTarget(source, prefixMapper());
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(bisync::kube::toJson(source) == before);
  CHECK(bisync::kube::toJson(*first) == bisync::kube::toJson(*second));
}

TEST_CASE("a 253-character name maps to a valid shortened name that maps back to its source",
          "[translators]") {
  std::string name;
  while (name.size() < 253) name += "segment-";
  name.resize(252);
  name += "z";
  REQUIRE(bisync::mapping::isDnsSubdomain(name));
  const std::string source = R"({"metadata":{"name":")" + name +
                             R"(","namespace":"team-a","uid":"uid-3"},"data":{"k":"v"}})";

  const IdentityMapper single = singleMapper();
  const Json target = translate(ConfigMapTranslator(), source, single);
  const std::string targetName(bisync::kube::nameOf(target));
  CHECK(targetName.size() == 253);
  CHECK(bisync::mapping::isValidName(targetName, bisync::mapping::kSubdomainName));
  CHECK(targetName != name);
  CHECK(bisync::kube::namespaceOf(target) == "shared");
  CHECK(bisync::mapping::isLabelValue(
      std::string(bisync::kube::stringAt(target, "/metadata/labels/kube-bisync.io~1source-name"))));

  // Read back as the target's API server would return it.
  const Json stored = parse(bisync::kube::toJson(target));
  const auto origin = single.originOf(stored);
  REQUIRE(origin.has_value());
  CHECK(origin->key() == SourceKey{"team-a", name});
  CHECK(origin->uid == "uid-3");

  // Prefix mode keeps names, and 253 characters is a valid ConfigMap name.
  const Json kept = translate(ConfigMapTranslator(), source, prefixMapper());
  CHECK(bisync::kube::nameOf(kept) == name);
}

TEST_CASE("the registry finds built-in plugins by resource and by group/version/kind",
          "[translators]") {
  Registry registry;
  registerBuiltins(registry);
  CHECK(registry.resourceNames() == std::vector<std::string>{"configmaps", "secrets", "pods"});

  const Translator* configMaps = registry.findByResource("configmaps");
  REQUIRE(configMaps != nullptr);
  CHECK(configMaps->resource().kind == "ConfigMap");
  CHECK(registry.findByKind({"", "v1", "ConfigMap"}) == configMaps);

  const Translator* secrets = registry.findByKind({"", "v1", "Secret"});
  REQUIRE(secrets != nullptr);
  CHECK(secrets == registry.findByResource("secrets"));
  CHECK(secrets != configMaps);

  CHECK(registry.findByResource("services") == nullptr);
  CHECK(registry.findByResource("ConfigMap") == nullptr);
  CHECK(registry.findByKind({"", "v1", "Service"}) == nullptr);
  CHECK(registry.findByKind({"", "v2", "ConfigMap"}) == nullptr);
  CHECK(registry.findByKind({"apps", "v1", "ConfigMap"}) == nullptr);
}

TEST_CASE("registering a resource or kind twice throws and keeps the registry as it was",
          "[translators]") {
  Registry registry;
  registerBuiltins(registry);
  CHECK_THROWS_AS(registry.add(std::make_unique<ConfigMapTranslator>()), std::logic_error);
  CHECK_THROWS_AS(registerBuiltins(registry), std::logic_error);
  // Same kind under another resource name, and the same resource name for another kind.
  CHECK_THROWS_AS(registry.add(std::make_unique<FakeTranslator>(
                      bisync::kube::ResourceInfo{"", "v1", "configmaps2", "ConfigMap", true})),
                  std::logic_error);
  CHECK_THROWS_AS(registry.add(std::make_unique<FakeTranslator>(
                      bisync::kube::ResourceInfo{"", "v1", "secrets", "Other", true})),
                  std::logic_error);
  CHECK_THROWS_AS(registry.add(nullptr), std::logic_error);
  CHECK(registry.resourceNames() == std::vector<std::string>{"configmaps", "secrets", "pods"});

  registry.add(std::make_unique<FakeTranslator>(
      bisync::kube::ResourceInfo{"", "v1", "services", "Service", true}));
  CHECK(registry.resourceNames() ==
        std::vector<std::string>{"configmaps", "secrets", "pods", "services"});
  REQUIRE(registry.findByKind({"", "v1", "Service"}) != nullptr);
  CHECK(registry.findByKind({"", "v1", "Service"}) == registry.findByResource("services"));
}
