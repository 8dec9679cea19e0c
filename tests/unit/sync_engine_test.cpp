// The sync engine's pure parts: queue keys, drift detection, namespace selection.
#include <string>
#include <vector>

#include "syncer/engine/drift.hpp"
#include "syncer/engine/sync_key.hpp"
#include "syncer/engine/syncer.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using bisync::engine::matchesDesired;
using bisync::engine::NamespaceSelection;
using bisync::engine::SyncKey;
using bisync::kube::Json;

using bisync::unit::parse;

const std::vector<std::string> kConfigMapFields{"data", "binaryData", "immutable"};

const char* kDesired = R"({"apiVersion":"v1","kind":"ConfigMap",
  "metadata":{"name":"a","namespace":"vc-ns","labels":{"kube-bisync.io/managed-by":"vc"},
              "annotations":{"kube-bisync.io/last-synced":"sha256:1"}},
  "data":{"k":"v","k2":"v2"}})";

}  // namespace

TEST_CASE("queue keys round-trip through their text form", "[engine]") {
  const SyncKey object = SyncKey::object("configmaps", "team-a", "settings");
  CHECK(object.str() == "configmaps/team-a/settings");
  CHECK(SyncKey::parse(object.str()) == object);
  const SyncKey ns = SyncKey::namespaceKey("team-a");
  CHECK(ns.isNamespace());
  CHECK(ns.str() == "namespaces/team-a/");
  CHECK(SyncKey::parse(ns.str()) == ns);
  CHECK(object.describe() == "configmaps team-a/settings");
  CHECK(ns.describe() == "namespace team-a");
}

TEST_CASE("malformed queue keys are refused", "[engine]") {
  for (const char* text : {"", "configmaps", "configmaps/ns", "configmaps//name", "/ns/name",
                           "configmaps/ns/", "configmaps/ns/a/b", "namespaces/ns/name"}) {
    INFO(text);
    CHECK_FALSE(SyncKey::parse(text).has_value());
  }
}

TEST_CASE("a target equal to the desired object matches, whatever its extra labels", "[engine]") {
  const Json desired = parse(kDesired);
  Json actual = parse(R"({"apiVersion":"v1","kind":"ConfigMap",
    "metadata":{"name":"a","namespace":"vc-ns","resourceVersion":"7",
                "labels":{"kube-bisync.io/managed-by":"vc","team":"x"},
                "annotations":{"kube-bisync.io/last-synced":"sha256:1","note":"y"}},
    "data":{"k2":"v2","k":"v"}})");
  CHECK(matchesDesired(actual, desired, kConfigMapFields));
}

TEST_CASE("changed, missing or extra content is drift", "[engine]") {
  const Json desired = parse(kDesired);
  SECTION("a changed value") {
    const Json actual = parse(R"({"metadata":{"labels":{"kube-bisync.io/managed-by":"vc"},
      "annotations":{"kube-bisync.io/last-synced":"sha256:1"}},"data":{"k":"tampered","k2":"v2"}})");
    CHECK_FALSE(matchesDesired(actual, desired, kConfigMapFields));
  }
  SECTION("a key added on the target") {
    const Json actual = parse(R"({"metadata":{"labels":{"kube-bisync.io/managed-by":"vc"},
      "annotations":{"kube-bisync.io/last-synced":"sha256:1"}},
      "data":{"k":"v","k2":"v2","extra":"x"},"binaryData":{"b":"AA=="}})");
    CHECK_FALSE(matchesDesired(actual, desired, kConfigMapFields));
  }
  SECTION("a content field the desired object lacks") {
    const Json actual = parse(R"({"metadata":{"labels":{"kube-bisync.io/managed-by":"vc"},
      "annotations":{"kube-bisync.io/last-synced":"sha256:1"}},
      "data":{"k":"v","k2":"v2"},"immutable":false})");
    CHECK_FALSE(matchesDesired(actual, desired, kConfigMapFields));
  }
  SECTION("a desired label changed or removed on the target") {
    const Json changed = parse(R"({"metadata":{"labels":{"kube-bisync.io/managed-by":"other"},
      "annotations":{"kube-bisync.io/last-synced":"sha256:1"}},"data":{"k":"v","k2":"v2"}})");
    CHECK_FALSE(matchesDesired(changed, desired, kConfigMapFields));
    const Json removed = parse(R"({"metadata":{
      "annotations":{"kube-bisync.io/last-synced":"sha256:1"}},"data":{"k":"v","k2":"v2"}})");
    CHECK_FALSE(matchesDesired(removed, desired, kConfigMapFields));
  }
  SECTION("malformed target data never matches and never crashes") {
    const Json actual = parse(R"({"metadata":{"labels":"oops"},"data":["k","v"]})");
    CHECK_FALSE(matchesDesired(actual, desired, kConfigMapFields));
  }
}

TEST_CASE("namespace selection: listed namespaces, or all but the system ones", "[engine]") {
  NamespaceSelection all;
  CHECK(all.selects("team-a"));
  CHECK(all.selects("default"));
  CHECK_FALSE(all.selects("kube-system"));
  CHECK_FALSE(all.selects("kube-public"));
  CHECK_FALSE(all.selects("kube-node-lease"));
  NamespaceSelection listed;
  listed.names = {"team-a", "kube-system"};
  CHECK(listed.selects("team-a"));
  CHECK(listed.selects("kube-system"));
  CHECK_FALSE(listed.selects("team-b"));
}
