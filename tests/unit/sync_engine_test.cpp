// The sync engine's pure parts: queue keys and namespace selection.
#include "syncer/engine/sync_key.hpp"
#include "syncer/engine/syncer.hpp"
#include "tests/support/catch.hpp"

namespace {

using bisync::engine::NamespaceSelection;
using bisync::engine::SyncKey;

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
  const SyncKey cluster = SyncKey::object("storageclasses.storage.k8s.io", "", "fast");
  CHECK(cluster.str() == "storageclasses.storage.k8s.io//fast");
  CHECK(SyncKey::parse(cluster.str()) == cluster);
  CHECK(cluster.describe() == "storageclasses.storage.k8s.io fast");
}

TEST_CASE("malformed queue keys are refused", "[engine]") {
  for (const char* text :
       {"", "configmaps", "configmaps/ns", "configmaps//", "/ns/name", "configmaps/ns/",
        "configmaps/ns/a/b", "namespaces/ns/name", "namespaces//", "namespaces//name"}) {
    INFO(text);
    CHECK_FALSE(SyncKey::parse(text).has_value());
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
