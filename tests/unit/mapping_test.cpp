#include <cstddef>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "mapping/names.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using namespace bisync::mapping;
using bisync::kube::Json;
using bisync::kube::toJson;

// Validators written from the Kubernetes rules, independent of mapping/names.cpp.
bool validDnsLabel(const std::string& s) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return s.size() <= 63 && std::regex_match(s, kLabel);
}

bool validDnsSubdomain(const std::string& s) {
  static const std::regex kSubdomain(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return s.size() <= 253 && std::regex_match(s, kSubdomain);
}

bool validLabelValue(const std::string& s) {
  static const std::regex kValue("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  return s.size() <= 63 && std::regex_match(s, kValue);
}

bool isLowerHex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

using bisync::unit::parse;

IdentityMapper prefixMapper(const std::string& cluster = "east") {
  return IdentityMapper(MapperConfig{cluster, NamespaceMode::Prefix, ""});
}

IdentityMapper singleMapper(const std::string& cluster = "east") {
  return IdentityMapper(MapperConfig{cluster, NamespaceMode::Single, "shared"});
}

// A valid DNS-1123 name of `length` characters, dense in '-' (and '.' when allowed) so that
// truncation points often land on them.
std::string randomName(std::mt19937& rng, std::size_t length, bool allowDots) {
  static const std::string kAlnum = "abcz0189";
  std::uniform_int_distribution<int> pick(0, 9);
  std::string name;
  while (name.size() < length) {
    const int roll = pick(rng);
    const bool prevAlnum = !name.empty() && name.back() != '-' && name.back() != '.';
    if (name.empty() || name.back() == '.' || roll < 6) {
      name.push_back(kAlnum[static_cast<std::size_t>(roll) % kAlnum.size()]);
    } else if (roll < 8 || !allowDots || !prevAlnum) {
      name.push_back('-');
    } else {
      name.push_back('.');
    }
  }
  if (name.back() == '-' || name.back() == '.') name.back() = '9';
  return name;
}

std::size_t randomLength(std::mt19937& rng, std::size_t max) {
  return std::uniform_int_distribution<std::size_t>(1, max)(rng);
}

std::set<std::string> keysWithPrefix(const bisync::kube::JsonValue* map, const std::string& p) {
  std::set<std::string> keys;
  REQUIRE(map != nullptr);
  REQUIRE(map->IsObject());
  for (auto it = map->MemberBegin(); it != map->MemberEnd(); ++it) {
    const std::string key(it->name.GetString(), it->name.GetStringLength());
    if (key.rfind(p, 0) == 0) keys.insert(key);
  }
  return keys;
}

}  // namespace

TEST_CASE("stableHash is SHA-256 in lower-case hex, including padding boundaries", "[mapping]") {
  CHECK(stableHash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(stableHash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(stableHash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(stableHash(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(stableHash(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(stableHash(std::string(63, 'a')) ==
        "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(stableHash(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  CHECK(stableHash(std::string(119, 'a')) ==
        "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
  CHECK(stableHash(std::string(120, 'a')) ==
        "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c");
  CHECK(stableHash(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("prefix mode maps namespace ns to <cluster>--<ns> and keeps the name", "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  CHECK(mapper.targetNamespace("team-a") == "east--team-a");
  CHECK(mapper.toTarget({"team-a", "app.config"}) == TargetKey{"east--team-a", "app.config"});
  CHECK(mapper.toTarget({"default", "web"}, kLabelName) == TargetKey{"east--default", "web"});
}

TEST_CASE("a prefix-mode target namespace names its source namespace unless it was shortened",
          "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  CHECK(mapper.sourceNamespaceByName("east--team-a") == "team-a");
  CHECK(mapper.sourceNamespaceByName("east--east--b") == "east--b");
  CHECK_FALSE(mapper.sourceNamespaceByName("west--team-a").has_value());
  CHECK_FALSE(mapper.sourceNamespaceByName("east-team-a").has_value());
  CHECK_FALSE(mapper.sourceNamespaceByName("east--").has_value());
  CHECK_FALSE(mapper.sourceNamespaceByName("team-a").has_value());
  const std::string shortened = mapper.targetNamespace(std::string(70, 'n'));
  REQUIRE(shortened.size() == 63);
  CHECK_FALSE(mapper.sourceNamespaceByName(shortened).has_value());
  CHECK_FALSE(singleMapper().sourceNamespaceByName("east--team-a").has_value());
}

TEST_CASE("single mode puts everything in the target namespace as <name>-x-<ns>-x-<cluster>",
          "[mapping]") {
  const IdentityMapper mapper = singleMapper();
  CHECK(mapper.targetNamespace("team-a") == "shared");
  CHECK(mapper.toTarget({"team-a", "app.config"}) ==
        TargetKey{"shared", "app.config-x-team-a-x-east"});
  CHECK(mapper.toTarget({"default", "web"}, kLabelName) ==
        TargetKey{"shared", "web-x-default-x-east"});
}

TEST_CASE("a too long target namespace is shortened to exactly 63 with a stable hash suffix",
          "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  const std::string longNs = std::string(55, 'n') + "-alpha";  // 61 chars, 67 with prefix
  const std::string target = mapper.targetNamespace(longNs);
  CHECK(target.size() == 63);
  CHECK(validDnsLabel(target));
  CHECK(target.rfind("east--nnnn", 0) == 0);
  CHECK(target.substr(53) == stableHash("east--" + longNs).substr(0, 10));
  CHECK(prefixMapper().targetNamespace(longNs) == target);

  const std::string sibling = std::string(55, 'n') + "-bravo";
  CHECK(mapper.targetNamespace(sibling) != target);
  CHECK(mapper.targetNamespace(sibling).size() == 63);

  // 57 + "east--" = 63: fits, unchanged.
  const std::string fits(57, 'f');
  CHECK(mapper.targetNamespace(fits) == "east--" + fits);
}

TEST_CASE("a too long name is shortened to exactly the kind's limit with a stable suffix",
          "[mapping]") {
  const IdentityMapper single = singleMapper();
  const std::string name(240, 'c');
  const TargetKey a = single.toTarget({"team-a", name});
  CHECK(a.name.size() == 253);
  CHECK(validDnsSubdomain(a.name));
  CHECK(a.name.substr(243) == stableHash(name + "-x-team-a-x-east").substr(0, 10));
  CHECK(single.toTarget({"team-a", name}) == a);
  CHECK(single.toTarget({"team-b", name}).name != a.name);

  // A Service-like kind: 63 characters, no dots.
  const TargetKey service = single.toTarget({"default", std::string(60, 's')}, kLabelName);
  CHECK(service.name.size() == 63);
  CHECK(validDnsLabel(service.name));
  CHECK(single.toTarget({"default", std::string(60, 's')}, kLabelName) == service);
  CHECK(single.toTarget({"default", std::string(59, 's') + "t"}, kLabelName).name != service.name);

  // Any limit works, and a name at the limit is kept.
  CHECK(single.toTarget({"ns", "abc"}, NameLimit{12, true}).name.size() == 12);
  CHECK(prefixMapper().toTarget({"ns", std::string(253, 'k')}).name == std::string(253, 'k'));
}

TEST_CASE("truncation ending in '-' or '.' still yields a valid name of exactly the limit",
          "[mapping]") {
  // With limit 253 the readable prefix keeps 242 characters; put '-' or '.' at index 241.
  const std::string dash = std::string(241, 'a') + "-" + std::string(40, 'b');
  const std::string fittedDash = fitName(dash);
  CHECK(fittedDash.size() == 253);
  CHECK(validDnsSubdomain(fittedDash));
  CHECK(fittedDash.substr(241, 2) == "--");

  const std::string dot = std::string(241, 'a') + "." + std::string(40, 'b');
  const std::string fittedDot = fitName(dot);
  CHECK(fittedDot.size() == 253);
  CHECK(validDnsSubdomain(fittedDot));
  CHECK(fittedDot.substr(241) == "-" + stableHash(dot).substr(0, 11));

  const std::string labelDash = std::string(51, 'a') + "-" + std::string(40, 'b');
  CHECK(validDnsLabel(fitName(labelDash, kLabelName)));
  CHECK(fitName(labelDash, kLabelName).size() == 63);
}

TEST_CASE("mapped namespaces and names are valid DNS names for many generated inputs",
          "[mapping]") {
  std::mt19937 rng(20240611);
  const IdentityMapper prefix = prefixMapper("cluster-with-a-long-name-0123456789-abcd");
  const IdentityMapper single = singleMapper();
  for (int i = 0; i < 3000; ++i) {
    const SourceKey subdomainKey{randomName(rng, randomLength(rng, 63), false),
                                 randomName(rng, randomLength(rng, 253), true)};
    const SourceKey labelKey{subdomainKey.ns, randomName(rng, randomLength(rng, 63), false)};
    for (const IdentityMapper* mapper : {&prefix, &single}) {
      const TargetKey sub = mapper->toTarget(subdomainKey);
      INFO(subdomainKey.ns << " / " << subdomainKey.name << " -> " << sub.ns << " / " << sub.name);
      CHECK(validDnsLabel(sub.ns));
      CHECK(validDnsSubdomain(sub.name));
      const TargetKey label = mapper->toTarget(labelKey, kLabelName);
      INFO(labelKey.name << " -> " << label.name);
      CHECK(validDnsLabel(label.name));
    }
  }
}

TEST_CASE("names that break the rules are sanitised and hashed, never passed through",
          "[mapping]") {
  const std::vector<std::string> inputs = {"",
                                           "-",
                                           ".",
                                           "UPPER",
                                           "under_score",
                                           "a..b",
                                           "a.-b",
                                           "-lead",
                                           "trail-",
                                           "trail.",
                                           "sp ace",
                                           "\xc3\xa9t\xc3\xa9",
                                           std::string(300, '.'),
                                           std::string(300, '-') + "x"};
  std::set<std::string> outputs;
  for (const std::string& input : inputs) {
    INFO("input: " << input);
    const std::string subdomain = fitName(input);
    const std::string label = fitName(input, kLabelName);
    CHECK(validDnsSubdomain(subdomain));
    CHECK(validDnsLabel(label));
    CHECK(subdomain != input);
    CHECK(fitName(input) == subdomain);
    outputs.insert(subdomain);
    const std::string value = fitLabelValue(input);
    CHECK(validLabelValue(value));
  }
  CHECK(outputs.size() == inputs.size());
  CHECK(fitName("a.b", kLabelName) != "a.b");
  CHECK(fitName("a.b") == "a.b");
}

TEST_CASE("stampOrigin adds exactly the origin labels and annotations and keeps others",
          "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  Json object = parse(R"({"metadata":{"name":"cfg","namespace":"east--team-a",
      "labels":{"app":"web","kube-bisync.io/source-name":"stale"},
      "annotations":{"note":"keep me"}},"data":{"k":"v"}})");
  REQUIRE(mapper.stampOrigin(object, object.GetAllocator(), {"team-a", "cfg"}, "uid-1"));

  const Json expected = parse(R"({"metadata":{"name":"cfg","namespace":"east--team-a",
      "labels":{"app":"web","kube-bisync.io/source-name":"cfg",
                "kube-bisync.io/managed-by":"east","kube-bisync.io/source-namespace":"team-a"},
      "annotations":{"note":"keep me","kube-bisync.io/source-cluster":"east",
                     "kube-bisync.io/source-namespace":"team-a",
                     "kube-bisync.io/source-name":"cfg","kube-bisync.io/source-uid":"uid-1"}},
      "data":{"k":"v"}})");
  CHECK(canonicalJson(object) == canonicalJson(expected));
  CHECK(keysWithPrefix(bisync::kube::at(object, "/metadata/labels"), "kube-bisync.io/") ==
        std::set<std::string>{"kube-bisync.io/managed-by", "kube-bisync.io/source-namespace",
                              "kube-bisync.io/source-name"});
  CHECK(keysWithPrefix(bisync::kube::at(object, "/metadata/annotations"), "kube-bisync.io/") ==
        std::set<std::string>{"kube-bisync.io/source-cluster", "kube-bisync.io/source-namespace",
                              "kube-bisync.io/source-name", "kube-bisync.io/source-uid"});

  Json bare = parse(R"({"kind":"ConfigMap"})");
  REQUIRE(mapper.stampOrigin(bare, bare.GetAllocator(), {"team-a", "cfg"}, "uid-1"));
  CHECK(mapper.isManagedByUs(bare));
}

TEST_CASE("stampOrigin refuses malformed metadata and leaves the object unchanged", "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  for (const char* text : {R"({"metadata":{"labels":"oops"}})",
                           R"({"metadata":{"annotations":[1]}})", R"({"metadata":7})", "[]"}) {
    Json object = parse(text);
    const std::string before = toJson(object);
    CHECK_FALSE(mapper.stampOrigin(object, object.GetAllocator(), {"ns", "n"}, "u"));
    CHECK(toJson(object) == before);
  }
}

TEST_CASE("the source-name label is hashed to 63 label-safe characters when too long",
          "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  const std::string longName = std::string(100, 'l') + ".example.com";
  const Metadata labels = mapper.originLabels({"team-a", longName});
  const std::string& label = labels.at(std::string(kSourceNameLabel));
  CHECK(label.size() == 63);
  CHECK(validLabelValue(label));
  CHECK(label.substr(53) == stableHash(longName).substr(0, 10));
  CHECK(mapper.originLabels({"team-a", std::string(100, 'l') + ".example.org"})
            .at(std::string(kSourceNameLabel)) != label);
  CHECK(
      mapper.originAnnotations({"team-a", longName}, "u").at(std::string(kSourceNameAnnotation)) ==
      longName);

  const std::string fits(63, 'f');
  CHECK(mapper.originLabels({"team-a", fits}).at(std::string(kSourceNameLabel)) == fits);
  CHECK(fitLabelValue("Mixed_Case.ok") == "Mixed_Case.ok");
  CHECK(fitLabelValue("bad/value") != "bad/value");
}

TEST_CASE("originOf round-trips through the annotations for many inputs, shortened or not",
          "[mapping]") {
  std::mt19937 rng(7);
  const IdentityMapper prefix = prefixMapper();
  const IdentityMapper single = singleMapper();
  for (const IdentityMapper* mapper : {&prefix, &single}) {
    std::set<std::pair<std::string, std::string>> targets;
    std::size_t shortened = 0;
    for (int i = 0; i < 500; ++i) {
      const SourceKey key{randomName(rng, randomLength(rng, 63), false),
                          randomName(rng, randomLength(rng, 253), true)};
      const std::string uid = "uid-" + std::to_string(i);
      const TargetKey target = mapper->toTarget(key);
      const bool nsShortened = mapper == &prefix && target.ns != "east--" + key.ns;
      if (nsShortened || target.name.size() == 253) ++shortened;
      targets.emplace(target.ns, target.name);

      Json object(rapidjson::kObjectType);
      auto& allocator = object.GetAllocator();
      bisync::kube::JsonValue metadata(rapidjson::kObjectType);
      metadata.AddMember("name", bisync::kube::JsonValue(target.name, allocator), allocator);
      metadata.AddMember("namespace", bisync::kube::JsonValue(target.ns, allocator), allocator);
      object.AddMember("metadata", metadata, allocator);
      REQUIRE(mapper->stampOrigin(object, allocator, key, uid));

      const Json fromServer = parse(toJson(object));
      const auto origin = mapper->originOf(fromServer);
      REQUIRE(origin.has_value());
      CHECK(*origin == Origin{"east", key.ns, key.name, uid});
      CHECK(origin->key() == key);
    }
    CHECK(shortened > 10);
    CHECK(targets.size() == 500);
  }
}

TEST_CASE("originOf refuses objects without complete origin metadata or of another instance",
          "[mapping]") {
  const IdentityMapper mapper = prefixMapper();
  const auto problemOf = [&](const Json& object) {
    const auto origin = mapper.originOf(object);
    CHECK_FALSE(mapper.isManagedByUs(object));
    REQUIRE_FALSE(origin.has_value());
    CHECK_FALSE(origin.error().message.empty());
    return origin.error().problem;
  };
  const auto problemOfText = [&](const char* text) { return problemOf(parse(text)); };
  const char* const ours = R"({"metadata":{
      "labels":{"app":"x","kube-bisync.io/managed-by":"east",
                "kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-name":"cfg"},
      "annotations":{"kube-bisync.io/source-cluster":"east",
                     "kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-name":"cfg",
                     "kube-bisync.io/source-uid":"u1"}}})";
  // `ours` with one field (a JSON pointer) set to a string, or removed when value is null.
  const auto edited = [&](const char* pointer, const char* value) {
    Json object = parse(ours);
    if (value == nullptr) {
      REQUIRE(bisync::kube::JsonPointer(pointer).Erase(object));
    } else {
      bisync::kube::JsonPointer(pointer).Set(object, value);
    }
    return object;
  };
  const char* const managedBy = "/metadata/labels/kube-bisync.io~1managed-by";
  const char* const uid = "/metadata/annotations/kube-bisync.io~1source-uid";

  CHECK(problemOfText(R"({"kind":"ConfigMap"})") == OriginProblem::NotManaged);
  CHECK(problemOfText("[1,2]") == OriginProblem::NotManaged);
  CHECK(problemOfText(R"({"metadata":"x"})") == OriginProblem::NotManaged);
  CHECK(problemOfText(R"({"metadata":{"labels":["kube-bisync.io/managed-by"]}})") ==
        OriginProblem::NotManaged);
  CHECK(problemOfText(R"({"metadata":{"labels":{"kube-bisync.io/managed-by":7}}})") ==
        OriginProblem::NotManaged);
  CHECK(problemOf(edited(managedBy, nullptr)) == OriginProblem::NotManaged);
  CHECK(problemOf(edited(managedBy, "")) == OriginProblem::NotManaged);
  CHECK(problemOf(edited(managedBy, "west")) == OriginProblem::OtherInstance);
  CHECK(problemOf(edited("/metadata/annotations", nullptr)) == OriginProblem::Incomplete);
  CHECK(problemOf(edited(uid, nullptr)) == OriginProblem::Incomplete);
  CHECK(problemOf(edited(uid, "")) == OriginProblem::Incomplete);
  CHECK(problemOf(edited("/metadata/annotations/kube-bisync.io~1source-cluster", "west")) ==
        OriginProblem::Incomplete);
  // Labels that disagree with the annotations: edited or forged, not provably a copy.
  CHECK(problemOf(edited("/metadata/labels/kube-bisync.io~1source-name", "other")) ==
        OriginProblem::Incomplete);
  CHECK(problemOf(edited("/metadata/labels/kube-bisync.io~1source-namespace", nullptr)) ==
        OriginProblem::Incomplete);
  // Both absent: the compact form the engine's cache keeps once it has checked them.
  Json compact = edited("/metadata/labels/kube-bisync.io~1source-namespace", nullptr);
  REQUIRE(bisync::kube::JsonPointer("/metadata/labels/kube-bisync.io~1source-name").Erase(compact));
  CHECK(mapper.originOf(compact).has_value());
  CHECK(problemOfText(R"({"metadata":{"labels":{"kube-bisync.io/managed-by":"east"},
      "annotations":{"kube-bisync.io/source-cluster":"east",
      "kube-bisync.io/source-namespace":"team-a","kube-bisync.io/source-name":42,
      "kube-bisync.io/source-uid":"u1"}}})") == OriginProblem::Incomplete);

  const Json good = parse(ours);
  REQUIRE(mapper.originOf(good).has_value());
  CHECK(*mapper.originOf(good) == Origin{"east", "team-a", "cfg", "u1"});
  CHECK_FALSE(prefixMapper("west").isManagedByUs(good));
}

TEST_CASE("contentHash ignores key order and changes when any value changes", "[mapping]") {
  const Json a = parse(R"({"a":1,"b":{"x":[1,2],"y":"s"}})");
  const Json b = parse(R"({ "b" : { "y":"s", "x":[1,2] }, "a":1 })");
  CHECK(canonicalJson(b) == R"({"a":1,"b":{"x":[1,2],"y":"s"}})");
  CHECK(contentHash(a) == contentHash(b));
  CHECK(contentHash(a) ==
        "sha256:8285becffbcad0c92c5602ff727ca7c15eae841286857be14b23b49598991a27");
  CHECK(contentHash(a) != contentHash(parse(R"({"a":1,"b":{"x":[1,2],"y":"t"}})")));
  CHECK(contentHash(a) != contentHash(parse(R"({"a":1,"b":{"x":[2,1],"y":"s"}})")));
  CHECK(contentHash(a) != contentHash(parse(R"({"a":2,"b":{"x":[1,2],"y":"s"}})")));
  CHECK(contentHash(a) != contentHash(parse(R"({"a":1,"b":{"x":[1,2]}})")));
  CHECK(contentHash(a) != contentHash(parse(R"({"a":"1","b":{"x":[1,2],"y":"s"}})")));
  const std::string hex = contentHash(a).substr(7);
  CHECK(hex.size() == 64);
  CHECK(isLowerHex(hex));
}

TEST_CASE("contentHash is the SHA-256 of the canonical text, also past the digest's buffer",
          "[mapping]") {
  // Unsorted keys at two levels and a text of several 4 KiB buffers (the stream's flushes).
  Json object = parse(R"({"z":{"b":"2","a":"1"},"data":{}})");
  auto& allocator = object.GetAllocator();
  for (int i = 0; i < 300; ++i) {
    const std::string key = "key-" + std::to_string(1000 - i);
    object["data"].AddMember(Json::ValueType(key.c_str(), allocator),
                             Json::ValueType(std::string(40, 'a' + i % 26).c_str(), allocator),
                             allocator);
  }
  const std::string text = canonicalJson(object);
  REQUIRE(text.size() > 3 * 4096);
  CHECK(contentHash(object) == "sha256:" + stableHash(text));
  CHECK(contentHash(parse(R"({})")) == "sha256:" + stableHash("{}"));
}

TEST_CASE("last-synced is set and read back without touching other annotations", "[mapping]") {
  Json object = parse(R"({"metadata":{"annotations":{"note":"n"}}})");
  CHECK(lastSyncedOf(object).empty());
  const std::string hash = contentHash(parse(R"({"data":{"k":"v"}})"));
  REQUIRE(setLastSynced(object, object.GetAllocator(), hash));
  CHECK(lastSyncedOf(object) == hash);
  CHECK(bisync::kube::stringAt(object, "/metadata/annotations/note") == "n");
  CHECK(lastSyncedOf(parse(R"({"metadata":{"annotations":{"kube-bisync.io/last-synced":1}}})"))
            .empty());
}

TEST_CASE("validate rejects bad cluster names and a missing or stray target namespace",
          "[mapping]") {
  const auto valid = [](const MapperConfig& config) {
    return IdentityMapper::validate(config).has_value();
  };
  CHECK(valid({"east", NamespaceMode::Prefix, ""}));
  CHECK(valid({std::string(40, 'c'), NamespaceMode::Prefix, ""}));
  CHECK(valid({"east-1", NamespaceMode::Single, "shared"}));
  CHECK(valid({"kubeflow", NamespaceMode::Prefix, ""}));  // only "kube-" is reserved
  CHECK(valid({"xx-ax-xb", NamespaceMode::Prefix, ""}));

  for (const std::string& bad : std::vector<std::string>{
           "", "East", "east_1", "-east", "east-", "east.io", "e st", std::string(41, 'c'),
           // reserved, or ambiguous across instances
           "kube", "kube-east", "openshift-a", "default", "east--1", "x-east", "east-x", "a-x-b"}) {
    INFO("cluster name: " << bad);
    CHECK_FALSE(valid({bad, NamespaceMode::Prefix, ""}));
  }
  CHECK_FALSE(valid({"east", NamespaceMode::Single, ""}));
  CHECK_FALSE(valid({"east", NamespaceMode::Single, "Bad_NS"}));
  CHECK_FALSE(valid({"east", NamespaceMode::Single, std::string(64, 'n')}));
  CHECK_FALSE(valid({"east", NamespaceMode::Prefix, "shared"}));

  const auto error = IdentityMapper::validate({"East", NamespaceMode::Prefix, ""});
  REQUIRE_FALSE(error);
  CHECK(error.error().origin == "MapperConfig.clusterName");
  CHECK_FALSE(IdentityMapper::create({"", NamespaceMode::Prefix, ""}));
  CHECK(IdentityMapper::create({"east", NamespaceMode::Prefix, ""}));
  CHECK_THROWS_AS(IdentityMapper(MapperConfig{"", NamespaceMode::Prefix, ""}),
                  std::invalid_argument);
}

TEST_CASE("created namespaces carry managed-by, plus the source namespace in prefix mode",
          "[mapping]") {
  const IdentityMapper prefix = prefixMapper();
  CHECK(prefix.namespaceLabels("team-a") ==
        Metadata{{"kube-bisync.io/managed-by", "east"},
                 {"kube-bisync.io/source-namespace", "team-a"}});
  CHECK(prefix.namespaceAnnotations("team-a") ==
        Metadata{{"kube-bisync.io/source-cluster", "east"},
                 {"kube-bisync.io/source-namespace", "team-a"}});
  CHECK(singleMapper().namespaceLabels("team-a") ==
        Metadata{{"kube-bisync.io/managed-by", "east"}});
  CHECK(prefix.managedBySelector() == "kube-bisync.io/managed-by=east");
}

namespace {

// Every split of `body` into `<name>-x-<ns>` at an occurrence of "-x-" (overlapping ones too)
// whose parts are a valid name and namespace: sources whose single-mode candidates
// `<name>-x-<ns>-x-<cluster>` are all the same string.
std::vector<SourceKey> separatorSplits(const std::string& body) {
  std::vector<SourceKey> keys;
  for (std::size_t at = body.find("-x-"); at != std::string::npos; at = body.find("-x-", at + 1)) {
    SourceKey key{body.substr(at + 3), body.substr(0, at)};
    if (validDnsLabel(key.ns) && validDnsSubdomain(key.name)) keys.push_back(std::move(key));
  }
  return keys;
}

// Many distinct valid sources chosen to attack injectivity: random ones of every length,
// long ones differing only after the point where shortening cuts, namespaces spelling out
// another namespace's shortened target, and names and namespaces holding the single-mode
// separator "-x-" (also overlapping the join: a name ending in "-x", a namespace starting
// with "x-").
std::vector<SourceKey> adversarialSources(std::mt19937& rng, const IdentityMapper& prefix) {
  std::vector<SourceKey> keys;
  for (int i = 0; i < 1500; ++i) {
    keys.push_back({randomName(rng, randomLength(rng, 63), false),
                    randomName(rng, randomLength(rng, 253), true)});
  }
  for (int i = 0; i < 100; ++i) {
    const std::string nsBase = randomName(rng, 58, false);
    const std::string nameBase = randomName(rng, 245, true);
    for (const char* tail : {"a", "b", "0a", "0b", "z-y", "z-z"}) {
      const std::string ns = nsBase.substr(0, 63 - std::string(tail).size()) + tail;
      keys.push_back({ns, nameBase + tail});
      keys.push_back({ns, nameBase + "-" + tail});
      keys.push_back({nsBase + tail, nameBase});
      // A 57-character namespace whose `<cluster>--<ns>` is exactly the 63-character
      // shortened target of another namespace.
      const std::string shortened = prefix.targetNamespace(ns);
      const std::string cluster = prefix.config().clusterName;
      if (shortened.size() == 63) {
        keys.push_back({ns, "cfg"});
        keys.push_back({shortened.substr(cluster.size() + 2), "cfg"});
      }
    }
  }
  const std::vector<std::string> pieces = {"a", "b", "x", "x-x", "ab-x", "x-cd", "0"};
  std::uniform_int_distribution<std::size_t> pickPiece(0, pieces.size() - 1);
  std::uniform_int_distribution<int> pieceCount(2, 5);
  for (int i = 0; i < 600; ++i) {
    std::string body;
    const int count = pieceCount(rng);
    for (int p = 0; p < count; ++p) {
      if (p > 0) body += "-x-";
      body += pickPiece(rng) % 2 == 0 ? pieces[pickPiece(rng)]
                                      : randomName(rng, randomLength(rng, 12), false);
    }
    for (SourceKey& key : separatorSplits(body)) keys.push_back(std::move(key));
    // The same kind of attack near the length limit, where the name gets shortened.
    for (SourceKey& key : separatorSplits(randomName(rng, 230, true) + "-x-" + body)) {
      keys.push_back(std::move(key));
    }
  }
  return keys;
}

}  // namespace

TEST_CASE("no two distinct sources map to one target", "[mapping]") {
  std::mt19937 rng(424242);
  const IdentityMapper prefix = prefixMapper();
  const IdentityMapper single = singleMapper();

  // The two shapes that once collided, spelled out: a separator inside a name or namespace,
  // and a namespace that spells out another one's shortened target namespace.
  CHECK(single.toTarget({"c", "a-x-b"}) != single.toTarget({"b-x-c", "a"}));
  CHECK(single.toTarget({"b", "a-x"}) != single.toTarget({"x-b", "a"}));
  CHECK(single.toTarget({"c", "a-x-b"}).name ==
        "a-x-b-x-c-" + stableHash("c/a-x-b").substr(0, 10) + "-x-east");
  const std::string longNs = std::string(60, 'n');
  const std::string shortenedNs = prefix.targetNamespace(longNs);
  REQUIRE(shortenedNs.size() == 63);
  CHECK(prefix.targetNamespace(shortenedNs.substr(6)) != shortenedNs);
  CHECK(validDnsLabel(prefix.targetNamespace(shortenedNs.substr(6))));

  const std::vector<SourceKey> keys = adversarialSources(rng, prefix);
  std::set<std::pair<std::string, std::string>> distinct;
  for (const SourceKey& key : keys) distinct.emplace(key.ns, key.name);
  REQUIRE(distinct.size() > 3000);

  for (const IdentityMapper* mapper : {&prefix, &single}) {
    for (const NameLimit limit : {kSubdomainName, kLabelName}) {
      std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> owner;
      std::size_t sources = 0;
      std::vector<std::string> collisions;
      for (const auto& [ns, name] : distinct) {
        // Label-named kinds (Service) only ever have DNS-1123 label names.
        if (!limit.allowDots && !validDnsLabel(name)) continue;
        ++sources;
        const TargetKey target = mapper->toTarget({ns, name}, limit);
        const auto [it, added] =
            owner.emplace(std::pair{target.ns, target.name}, std::pair{ns, name});
        if (!added) {
          collisions.push_back(ns + "/" + name + " and " + it->second.first + "/" +
                               it->second.second + " -> " + target.ns + "/" + target.name);
        }
      }
      std::string examples;
      for (std::size_t i = 0; i < collisions.size() && i < 5; ++i) examples += collisions[i] + "\n";
      INFO((mapper == &single ? "single" : "prefix")
           << " mode, name limit " << limit.maxLength << ", " << collisions.size()
           << " collisions, e.g.\n"
           << examples);
      CHECK(owner.size() == sources);
    }
  }
}

TEST_CASE("two instances never map sources to one target namespace or name", "[mapping]") {
  const std::vector<std::string> clusters{"a",  "a-b", "b",  "b-c",  "ab", "a-b-c",
                                          "xa", "ax",  "x1", "c-xx", "y",  "xy-z"};
  const std::vector<std::string> namespaces{
      "c", "b-c", "c-d", "b--c", "x", "x-c", "c-x", "b-x-c", "x-y", "b", std::string(60, 'n')};
  const std::vector<std::string> names{"a", "a-x", "a-x-b", "x-a", "b-x", "n"};
  std::map<std::string, std::string> prefixOwner;  // target namespace -> cluster/namespace
  std::map<std::string, std::string> singleOwner;  // target name -> cluster/namespace/name
  std::vector<std::string> collisions;
  for (const std::string& cluster : clusters) {
    REQUIRE(IdentityMapper::validate({cluster, NamespaceMode::Prefix, ""}));
    const IdentityMapper prefix = prefixMapper(cluster);
    const IdentityMapper single(MapperConfig{cluster, NamespaceMode::Single, "shared"});
    for (const std::string& ns : namespaces) {
      const std::string who = cluster + "/" + ns;
      const auto [at, added] = prefixOwner.emplace(prefix.targetNamespace(ns), who);
      if (!added && at->second != who) collisions.push_back(who + " and " + at->second);
      for (const std::string& name : names) {
        const std::string whose = who + "/" + name;
        const auto [it, fresh] = singleOwner.emplace(single.toTarget({ns, name}).name, whose);
        if (!fresh && it->second != whose) collisions.push_back(whose + " and " + it->second);
      }
    }
  }
  INFO(collisions.size() << " collisions, first: " << (collisions.empty() ? "" : collisions[0]));
  CHECK(collisions.empty());
}

namespace {

// A cluster-scoped target object named `name` stamped with the origin of source `sourceName`.
Json clusterScopedCopy(const IdentityMapper& mapper, const std::string& name,
                       const std::string& sourceName) {
  Json object = parse(R"({"metadata":{"name":")" + name + R"("}})");
  REQUIRE(mapper.stampOrigin(object, object.GetAllocator(), {"", sourceName}, "uid-1"));
  return parse(toJson(object));
}

}  // namespace

TEST_CASE("a cluster-scoped source maps to <cluster>-<name> and back through its origin",
          "[mapping][cluster-scoped]") {
  const IdentityMapper mapper = prefixMapper();
  CHECK(mapper.toTargetClusterScoped("high") == "east-high");
  CHECK(mapper.toTargetClusterScoped("fast.example.com") == "east-fast.example.com");
  CHECK(mapper.toTargetClusterScoped("high", kLabelName) == "east-high");
  CHECK(singleMapper().toTargetClusterScoped("high") == "east-high");

  CHECK(mapper.clusterScopedSourceOf(clusterScopedCopy(mapper, "east-high", "high")) == "high");
  // Not at the name its origin maps to, or the copy of a namespaced source: not a copy of it.
  CHECK_FALSE(mapper.clusterScopedSourceOf(clusterScopedCopy(mapper, "east-low", "high")));
  Json namespaced = parse(R"({"metadata":{"name":"east-high"}})");
  REQUIRE(mapper.stampOrigin(namespaced, namespaced.GetAllocator(), {"team-a", "high"}, "u"));
  CHECK_FALSE(mapper.clusterScopedSourceOf(namespaced));
  CHECK_FALSE(mapper.clusterScopedSourceOf(parse(R"({"metadata":{"name":"east-high"}})")));

  CHECK(mapper.clusterScopedSourceByName("east-high") == "high");
  CHECK_FALSE(mapper.clusterScopedSourceByName("west-high"));
  CHECK_FALSE(mapper.clusterScopedSourceByName("east-"));
}

TEST_CASE("a long cluster-scoped name is shortened within the limit, stably",
          "[mapping][cluster-scoped]") {
  const IdentityMapper mapper = prefixMapper();
  const std::string name(250, 'p');
  const std::string target = mapper.toTargetClusterScoped(name);
  CHECK(target.size() == 253);
  CHECK(validDnsSubdomain(target));
  CHECK(target.starts_with("east-ppp"));
  CHECK(target.substr(243) == stableHash("east-" + name).substr(0, 10));
  CHECK(mapper.toTargetClusterScoped(name) == target);
  // A shortened name maps back through the origin only, never by its name.
  CHECK(mapper.clusterScopedSourceOf(clusterScopedCopy(mapper, target, name)) == name);
  CHECK_FALSE(mapper.clusterScopedSourceByName(target));

  const std::string label = mapper.toTargetClusterScoped(std::string(60, 'q'), kLabelName);
  CHECK(label.size() == 63);
  CHECK(validDnsLabel(label));
}

TEST_CASE("two different cluster-scoped names never share a target name",
          "[mapping][cluster-scoped]") {
  const IdentityMapper mapper = prefixMapper();
  std::mt19937 rng(13);
  std::set<std::string> sources;
  std::set<std::string> targets;
  for (int i = 0; i < 500; ++i) {
    const std::string name = randomName(rng, randomLength(rng, 253), true);
    if (!sources.insert(name).second) continue;
    const std::string target = mapper.toTargetClusterScoped(name);
    CHECK(validDnsSubdomain(target));
    targets.insert(target);
  }
  // Names that differ only past the cut, and one spelling out another's shortened form.
  const std::string base(248, 'r');
  const std::string shortened = mapper.toTargetClusterScoped(base + "1");
  for (const std::string& name : {base + "1", base + "2", base + "12", shortened.substr(5)}) {
    if (!sources.insert(name).second) continue;
    targets.insert(mapper.toTargetClusterScoped(name));
  }
  CHECK(targets.size() == sources.size());
}
