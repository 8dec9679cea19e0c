// The kube-bisync daemon, run as a real process (tests/support/daemon_process.hpp), syncing
// ConfigMaps and Secrets from the testbed's source API server to its target. Each test has its
// own cluster name and source namespaces (tests/support/sync_scene.hpp), so tests never see
// each other's objects; the objects are set up and checked with the project's client. Waits
// poll with a deadline and print what they saw (and the daemon's log) on timeout.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "syncer/kube/client.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

namespace {

namespace kube = bisync::kube;
using bisync::testing::copyProblems;
using bisync::testing::countCorrectCopies;
using bisync::testing::DaemonProcess;
using bisync::testing::describe;
using bisync::testing::kManagedBy;
using bisync::testing::kReadyLine;
using bisync::testing::kSourceName;
using bisync::testing::KubeFixture;
using bisync::testing::lookup;
using bisync::testing::ObjectView;
using bisync::testing::Side;
using bisync::testing::StringMap;
using bisync::testing::stringMapAt;
using bisync::testing::uniqueName;
using bisync::testing::viewOf;
using bisync::testing::Views;
using bisync::testing::waitForCopies;
using bisync::testing::waitLogged;
using namespace std::chrono_literals;

// The object builders read as part of the tests.
using bisync::testing::configMap;
using bisync::testing::numberedConfigMaps;
using bisync::testing::secret;

// The scene with its set-up steps as REQUIREs (a failed step fails the test where it is
// taken) and its daemon as this target's kube-bisync executable.
class Scene : public bisync::testing::SyncScene {
 public:
  using SyncScene::SyncScene;

  bisync::testing::DaemonOptions daemon(const std::vector<std::string>& extra = {}) const {
    return {BISYNC_DAEMON_BINARY, daemonArgs(extra)};
  }
  void createTargetNamespace(const std::string& name, bool managed) {
    auto created = tryCreateTargetNamespace(name, managed);
    INFO("create target namespace " << name << ": "
                                    << (created ? "ok" : created.error().describe()));
    REQUIRE(created);
  }
  ObjectView create(Side side, const kube::ResourceInfo& resource, const kube::Json& object) {
    auto created = tryCreate(side, resource, object);
    INFO("create " << resource.resource << " " << kube::namespaceOf(object) << "/"
                   << kube::nameOf(object) << ": "
                   << (created ? "ok" : created.error().describe()));
    REQUIRE(created);
    return viewOf(*created);
  }
  void patchData(const kube::ResourceInfo& resource, const std::string& ns, const std::string& name,
                 const StringMap& data) {
    auto patched = tryPatchData(resource, ns, name, data);
    INFO("patch " << ns << "/" << name << ": " << (patched ? "ok" : patched.error().describe()));
    REQUIRE(patched);
  }
  void remove(const kube::ResourceInfo& resource, const std::string& ns, const std::string& name) {
    auto removed = tryRemove(resource, ns, name);
    INFO("delete " << ns << "/" << name << ": " << (removed ? "ok" : removed.error().describe()));
    REQUIRE(removed);
  }
  Views createAll(const kube::ResourceInfo& resource, const std::vector<kube::Json>& objects) {
    auto created = tryCreateAll(resource, objects);
    const std::string failure = created ? std::string() : created.error();
    INFO("bulk create of " << resource.resource << ": " << failure);
    REQUIRE(failure.empty());
    return std::move(*created);
  }
};

#define REQUIRE_READY(daemon, timeout) REQUIRE((daemon).waitForLog(kReadyLine, timeout))

}  // namespace

TEST_CASE(
    "500 ConfigMaps and 100 Secrets in 5 source namespaces appear in the target with mapped "
    "names, identical data and origin metadata",
    "[sync]") {
  Scene scene("bulk", 5);
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const kube::ResourceInfo secrets = kube::resources::secrets();
  std::vector<std::map<const kube::ResourceInfo*, Views>> sources(5);  // per namespace
  for (std::size_t n = 0; n < 5; ++n) {
    std::vector<kube::Json> configMaps;
    for (int i = 0; i < 100; ++i) {
      configMaps.push_back(configMap(
          scene.ns(n), "config-" + std::to_string(i),
          {{"index", std::to_string(i)}, {"text", "line one\nline two: \"quoted\" \u00e9"}}));
    }
    std::vector<kube::Json> secretObjects;
    for (int i = 0; i < 20; ++i) {
      secretObjects.push_back(secret(scene.ns(n), "secret-" + std::to_string(i),
                                     i % 2 == 0 ? "Opaque" : "kube-bisync.io/test",
                                     {{"user", "u" + std::to_string(i)}, {"password", "p\n\x01"}}));
    }
    sources[n][&cms] = scene.createAll(cms, configMaps);
    sources[n][&secrets] = scene.createAll(secrets, secretObjects);
  }

  DaemonProcess daemon(scene.testbed(), scene.daemon({"--qps", "200", "--burst", "400"}));
  REQUIRE_READY(daemon, 180s);
  REQUIRE(waitLogged(
      daemon, "600 correct copies in 5 target namespaces", 60s,
      [&](std::string& seen) {
        std::size_t correct = 0;
        for (std::size_t n = 0; n < 5; ++n) {
          for (const auto& [resource, views] : sources[n]) {
            auto targets = scene.list(Side::Target, *resource, scene.targetNs(n), seen);
            if (!targets) return false;
            correct += countCorrectCopies(views, *targets, scene, scene.ns(n), seen);
          }
        }
        seen = std::to_string(correct) + "/600 correct; " + seen;
        return correct == 600;
      },
      500ms));

  // Nothing else carries this instance's label: every managed copy maps to a source object.
  for (std::size_t n = 0; n < 5; ++n) {
    for (const auto& [resource, views] : sources[n]) {
      std::string seen;
      auto current = scene.list(Side::Source, *resource, scene.ns(n), seen);
      auto targets = scene.list(Side::Target, *resource, scene.targetNs(n), seen);
      INFO(seen);
      REQUIRE((current && targets));
      for (const auto& [name, copy] : *targets) {
        if (lookup(copy.labels, kManagedBy) != scene.cluster()) continue;
        INFO("target " << resource->resource << " " << describe(copy));
        CHECK(current->count(lookup(copy.annotations, kSourceName)) == 1);
      }
    }
  }
  CHECK(daemon.running());
}

TEST_CASE(
    "an edit of a target ConfigMap's data by another field manager is restored to the "
    "source's data",
    "[sync]") {
  Scene scene("drift");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const ObjectView source =
      scene.create(Side::Source, cms, configMap(scene.ns(), "settings", {{"k", "original"}}));
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitForCopies(daemon, scene, cms, {{source.name, source}}, 30s));

  const bisync::testing::CommandResult patched = scene.testbed().kubectl(
      Side::Target, {"-n", scene.targetNs(), "patch", "configmap", "settings", "--type", "merge",
                     "-p", R"({"data":{"k":"tampered"}})", "-o", "json"});
  INFO("kubectl patch: " << patched.summary());
  REQUIRE(patched.ok());
  auto tampered = kube::parseJson(patched.out, "kubectl patch output");
  REQUIRE(tampered);
  REQUIRE(kube::stringAt(*tampered, "/data/k") == "tampered");

  REQUIRE(waitForCopies(daemon, scene, cms, {{source.name, source}}, 30s));
  std::string seen;
  auto sources = scene.list(Side::Source, cms, scene.ns(), seen);
  REQUIRE(sources);
  CHECK(sources->at("settings").data == StringMap{{"k", "original"}});
}

TEST_CASE("a deleted target namespace is recreated and its objects return", "[sync]") {
  Scene scene("nsdel");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const kube::ResourceInfo namespaces = kube::resources::namespaces();
  const Views sources = scene.createAll(cms, numberedConfigMaps(scene.ns(), 10, "v"));
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitForCopies(daemon, scene, cms, sources, 30s));
  KubeFixture& api = scene.api();
  const std::string target = scene.targetNs();
  auto before = api.run(api.target().get(namespaces, "", target));
  REQUIRE(before);
  const std::string oldUid(kube::uidOf(*before));

  REQUIRE(api.run(api.target().remove(namespaces, "", target)));
  // The namespace controller empties it first; the daemon may recreate it right after.
  auto phase = [&](std::string& seen) -> std::optional<kube::Json> {
    auto current = api.run(api.target().get(namespaces, "", target));
    if (!current) {
      seen = current.error().describe();
      return std::nullopt;
    }
    seen = "uid " + std::string(kube::uidOf(*current)) + ", phase " +
           std::string(kube::stringAt(*current, "/status/phase"));
    return std::move(*current);
  };
  auto gone = waitLogged(daemon, target + " is gone or recreated with a new uid", 120s,
                         [&](std::string& seen) {
                           auto current = phase(seen);
                           return !current || kube::uidOf(*current) != oldUid;
                         });
  if (!gone) {
    gone.lastSeen += "\ntarget kube-controller-manager:\n" +
                     scene.testbed().controllerManagerLogTail(Side::Target, 20);
  }
  REQUIRE(gone);
  REQUIRE(waitLogged(daemon, target + " exists again with a new uid, managed by " + scene.cluster(),
                     120s, [&](std::string& seen) {
                       auto current = phase(seen);
                       return current && kube::uidOf(*current) != oldUid &&
                              kube::stringAt(*current, "/status/phase") == "Active" &&
                              lookup(stringMapAt(*current, "/metadata/labels"), kManagedBy) ==
                                  scene.cluster();
                     }));
  REQUIRE(waitForCopies(daemon, scene, cms, sources, 120s));
}

TEST_CASE(
    "a source ConfigMap deleted and recreated under the same name is followed: new source-uid, "
    "new data",
    "[sync]") {
  Scene scene("recreate");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const ObjectView first =
      scene.create(Side::Source, cms, configMap(scene.ns(), "phoenix", {{"k", "first"}}));
  // Without the finalizer the delete is immediate and the new object meets the old copy: the
  // path under test. (With it, the old copy goes first: lifecycle_test.cpp, finalizer_drills.)
  DaemonProcess daemon(scene.testbed(), scene.daemon({"--finalizer=false"}));
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitForCopies(daemon, scene, cms, {{first.name, first}}, 30s));

  scene.remove(cms, scene.ns(), "phoenix");
  const ObjectView second =
      scene.create(Side::Source, cms, configMap(scene.ns(), "phoenix", {{"k", "second"}}));
  REQUIRE(second.uid != first.uid);
  REQUIRE(waitForCopies(daemon, scene, cms, {{second.name, second}}, 30s));
}

TEST_CASE("deleting a source object deletes its target object", "[sync]") {
  Scene scene("srcdel");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const kube::ResourceInfo secrets = kube::resources::secrets();
  const ObjectView doomed = scene.create(Side::Source, cms, configMap(scene.ns(), "doomed", {}));
  const ObjectView kept = scene.create(Side::Source, cms, configMap(scene.ns(), "kept", {}));
  const ObjectView doomedSecret = scene.create(
      Side::Source, secrets, secret(scene.ns(), "doomed-secret", "Opaque", {{"a", "b"}}));
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitForCopies(daemon, scene, cms, {{doomed.name, doomed}, {kept.name, kept}}, 30s));
  REQUIRE(waitForCopies(daemon, scene, secrets, {{doomedSecret.name, doomedSecret}}, 30s));

  scene.remove(cms, scene.ns(), "doomed");
  scene.remove(secrets, scene.ns(), "doomed-secret");
  const std::pair<const kube::ResourceInfo*, std::string> gone[] = {{&cms, "doomed"},
                                                                    {&secrets, "doomed-secret"}};
  for (const auto& [resource, name] : gone) {
    REQUIRE(waitLogged(
        daemon, scene.targetNs() + "/" + name + " is deleted", 30s, [&](std::string& seen) {
          auto current =
              scene.api().run(scene.api().target().get(*resource, scene.targetNs(), name));
          seen = current ? describe(viewOf(*current)) : current.error().describe();
          return !current && current.error().isNotFound();
        }));
  }
  CHECK(waitForCopies(daemon, scene, cms, {{kept.name, kept}}, 5s));
}

TEST_CASE(
    "objects deleted and changed while the daemon was stopped: orphans are deleted and changes "
    "arrive on restart",
    "[sync]") {
  Scene scene("restart");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const Views created = scene.createAll(cms, numberedConfigMaps(scene.ns(), 100, "v1"));
  // Without the finalizer, objects deleted while the daemon is down are gone when it starts: the
  // start-up garbage collection of their orphaned copies is what is tested. (With it they wait,
  // terminating, for the daemon: lifecycle_test.cpp, finalizer_drills.)
  DaemonProcess daemon(scene.testbed(), scene.daemon({"--finalizer=false"}));
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitForCopies(daemon, scene, cms, created, 60s));
  REQUIRE(daemon.terminate() == "exited with status 0");

  std::set<std::string> deleted;
  for (const auto& [name, view] : created) {
    if (deleted.size() < 50) {
      scene.remove(cms, scene.ns(), name);
      deleted.insert(name);
    } else {
      scene.patchData(cms, scene.ns(), name, {{"k", "v2"}});
    }
  }
  std::string seen;
  auto sources = scene.list(Side::Source, cms, scene.ns(), seen);
  INFO(seen);
  REQUIRE(sources);
  Views changed;
  for (const auto& [name, view] : *sources) {
    if (created.count(name) == 1) changed[name] = view;
  }
  REQUIRE(changed.size() == 50);

  daemon.start();
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitLogged(daemon, "the 50 orphans are deleted", 60s, [&](std::string& seenNow) {
    auto targets = scene.list(Side::Target, cms, scene.targetNs(), seenNow);
    if (!targets) return false;
    std::vector<std::string> left;
    for (const std::string& name : deleted) {
      if (targets->count(name) == 1) left.push_back(name);
    }
    seenNow = std::to_string(left.size()) + " orphans left" +
              (left.empty() ? "" : ", first " + left.front());
    return left.empty();
  }));
  REQUIRE(waitForCopies(daemon, scene, cms, changed, 60s));
}

TEST_CASE("a restart with everything in sync writes nothing", "[sync]") {
  Scene scene("quiet", 2);
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const kube::ResourceInfo secrets = kube::resources::secrets();
  std::vector<Views> createdConfigMaps;
  std::vector<Views> createdSecrets;
  for (std::size_t n = 0; n < 2; ++n) {
    createdConfigMaps.push_back(scene.createAll(cms, numberedConfigMaps(scene.ns(n), 20, "v")));
    std::vector<kube::Json> objects;
    for (int i = 0; i < 5; ++i) {
      objects.push_back(secret(scene.ns(n), "secret-" + std::to_string(i), "Opaque", {{"a", "b"}}));
    }
    createdSecrets.push_back(scene.createAll(secrets, objects));
  }
  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon, 60s);
  for (std::size_t n = 0; n < 2; ++n) {
    REQUIRE(waitForCopies(daemon, scene, cms, createdConfigMaps[n], 30s, n));
    REQUIRE(waitForCopies(daemon, scene, secrets, createdSecrets[n], 30s, n));
  }
  REQUIRE(daemon.terminate() == "exited with status 0");

  // "<resource> <namespace>/<name>" -> resourceVersion of everything in the mapped namespaces.
  auto targetVersions = [&] {
    std::map<std::string, std::string> versions;
    for (std::size_t n = 0; n < 2; ++n) {
      const std::string ns = scene.targetNs(n);
      auto current =
          scene.api().run(scene.api().target().get(kube::resources::namespaces(), "", ns));
      INFO("get namespace " << ns << ": " << (current ? "ok" : current.error().describe()));
      REQUIRE(current);
      versions["namespace " + ns] = kube::resourceVersionOf(*current);
      for (const auto* resource : {&cms, &secrets}) {
        std::string seen;
        auto listed = scene.list(Side::Target, *resource, ns, seen);
        INFO(seen);
        REQUIRE(listed);
        for (const auto& [name, view] : *listed) {
          versions[resource->resource + " " + ns + "/" + name] = view.resourceVersion;
        }
      }
    }
    return versions;
  };
  const auto before = targetVersions();
  REQUIRE(before.size() >= 52);

  daemon.start();
  REQUIRE_READY(daemon, 60s);
  // The specified observation window: a restart must stay quiet, not just eventually settle.
  std::this_thread::sleep_for(10s);
  const auto after = targetVersions();
  std::string changes;
  for (const auto& [key, version] : after) {
    const auto old = before.find(key);
    if (old == before.end())
      changes += "\n  new " + key + "@" + version;
    else if (old->second != version)
      changes += "\n  " + key + "@" + old->second + "->" + version;
  }
  for (const auto& [key, version] : before) {
    if (after.count(key) == 0) changes += "\n  gone " + key;
  }
  INFO("target writes after the restart:" << changes << "\n'applied' log lines: "
                                          << daemon.countLog("applied ") << "\n"
                                          << daemon.describe());
  CHECK(changes.empty());
  CHECK(daemon.running());
}

TEST_CASE(
    "an unmanaged target ConfigMap with the mapped name is not touched and a clash Event is "
    "reported on the source object",
    "[sync]") {
  Scene scene("clash");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  // The namespace is the daemon's (as if it had made it): the clash is the ConfigMap's alone.
  scene.createTargetNamespace(scene.targetNs(), true);
  kube::Json theirs = configMap(scene.targetNs(), "taken", {{"k", "users"}});
  kube::JsonPointer("/metadata/labels/app").Set(theirs, "mine");
  const ObjectView target = scene.create(Side::Target, cms, theirs);
  const ObjectView source =
      scene.create(Side::Source, cms, configMap(scene.ns(), "taken", {{"k", "source"}}));

  DaemonProcess daemon(scene.testbed(), scene.daemon());
  REQUIRE_READY(daemon, 60s);
  std::optional<kube::Json> event;
  REQUIRE(
      waitLogged(daemon, "a NameClash Event on the source ConfigMap", 30s, [&](std::string& seen) {
        auto events =
            scene.api().run(scene.api().source().list(kube::resources::events(), scene.ns()));
        if (!events) {
          seen = events.error().describe();
          return false;
        }
        seen = "events:";
        for (const kube::JsonValue& item : events->items().GetArray()) {
          seen += " [" + std::string(kube::stringAt(item, "/reason")) + " on " +
                  std::string(kube::stringAt(item, "/involvedObject/name")) + "]";
          if (kube::stringAt(item, "/involvedObject/uid") == source.uid &&
              kube::stringAt(item, "/reason") == "NameClash") {
            event.emplace().CopyFrom(item, event->GetAllocator());
          }
        }
        return event.has_value();
      }));
  INFO("event: " << kube::toJson(*event));
  CHECK(kube::stringAt(*event, "/type") == "Warning");
  CHECK(kube::stringAt(*event, "/involvedObject/kind") == "ConfigMap");
  CHECK(kube::stringAt(*event, "/involvedObject/name") == "taken");
  CHECK(kube::stringAt(*event, "/source/component") == "kube-bisync");
  CHECK(daemon.waitForLog("clash", 10s));

  auto now = scene.api().run(scene.api().target().get(cms, scene.targetNs(), "taken"));
  REQUIRE(now);
  const ObjectView after = viewOf(*now);
  INFO("before: " << describe(target) << "\nafter: " << describe(after));
  CHECK(after.resourceVersion == target.resourceVersion);
  CHECK(after.data == target.data);
  CHECK(after.labels == target.labels);
}

TEST_CASE("a source ConfigMap with a 253-character name syncs and its target maps back", "[sync]") {
  std::string name = uniqueName("long");
  for (char part = 'a'; name.size() < 253; ++part) {  // dot-separated labels of <= 63 chars
    name += "." + std::string(std::min<std::size_t>(62, 253 - name.size() - 1), part);
  }
  REQUIRE(name.size() == 253);
  const kube::ResourceInfo cms = kube::resources::configMaps();

  SECTION("prefix mode keeps the name") {
    Scene scene("long");
    const ObjectView source =
        scene.create(Side::Source, cms, configMap(scene.ns(), name, {{"k", "long"}}));
    DaemonProcess daemon(scene.testbed(), scene.daemon());
    REQUIRE_READY(daemon, 60s);
    REQUIRE(waitForCopies(daemon, scene, cms, {{name, source}}, 30s));
  }
  SECTION("single mode hashes the name to at most 253 characters") {
    Scene scene("long1");
    const std::string shared = uniqueName("t");
    scene.createTargetNamespace(shared, false);
    const ObjectView source =
        scene.create(Side::Source, cms, configMap(scene.ns(), name, {{"k", "long"}}));
    DaemonProcess daemon(scene.testbed(), scene.daemon({"--namespace-mode", "single",
                                                        "--target-namespace", shared}));
    REQUIRE_READY(daemon, 60s);
    REQUIRE(waitLogged(daemon, "a correct copy of the long-named ConfigMap in " + shared, 30s,
                       [&](std::string& seen) {
                         auto targets = scene.list(Side::Target, cms, shared, seen);
                         if (!targets) return false;
                         seen += std::to_string(targets->size()) + " ConfigMaps in " + shared;
                         for (const auto& [targetName, copy] : *targets) {
                           if (lookup(copy.annotations, kSourceName) != name) continue;
                           seen = "copy " + describe(copy) + ": " +
                                  copyProblems(copy, source, scene.cluster(), scene.ns());
                           return targetName.size() <= 253 && targetName != name &&
                                  copyProblems(copy, source, scene.cluster(), scene.ns()).empty();
                         }
                         return false;
                       }));
  }
}

TEST_CASE(
    "with the target API server paused for 20 s the daemon keeps watching the source and "
    "converges after it resumes",
    "[sync]") {
  Scene scene("pause");
  const kube::ResourceInfo cms = kube::resources::configMaps();
  const Views created = scene.createAll(cms, numberedConfigMaps(scene.ns(), 30, "v1"));
  DaemonProcess daemon(scene.testbed(), scene.daemon({"--request-timeout", "3"}));
  REQUIRE_READY(daemon, 60s);
  REQUIRE(waitForCopies(daemon, scene, cms, created, 30s));

  bisync::testing::ScopedPause outage(scene.testbed(), Side::Target);
  const auto pausedAt = std::chrono::steady_clock::now();
  int changed = 0;
  for (const auto& [name, view] : created) {
    if (changed++ == 20) break;
    scene.patchData(cms, scene.ns(), name, {{"k", "v2"}});
  }
  std::vector<kube::Json> added;
  for (int i = 0; i < 5; ++i) {
    added.push_back(configMap(scene.ns(), "new-" + std::to_string(i), {{"k", "new"}}));
  }
  scene.createAll(cms, added);
  // The outage lasts the specified 20 s, however long the writes above took.
  std::this_thread::sleep_until(pausedAt + 20s);
  if (!daemon.running()) FAIL("the daemon exited during the outage: " << daemon.describe());
  outage.resume();

  std::string seen;
  auto sources = scene.list(Side::Source, cms, scene.ns(), seen);
  INFO(seen);
  REQUIRE(sources);
  Views expected;
  for (const auto& [name, view] : *sources) {
    if (created.count(name) == 1 || name.rfind("new-", 0) == 0) expected[name] = view;
  }
  REQUIRE(expected.size() == 35);
  REQUIRE(waitForCopies(daemon, scene, cms, expected, 120s));
  CHECK(daemon.waitForLog("retrying ", 1s));  // its failed writes were retried with backoff
  CHECK(daemon.running());
}

TEST_CASE("a bad flag or an unreadable kubeconfig stops start-up with exit 2 and a one-line reason",
          "[sync]") {
  const std::string binary = BISYNC_DAEMON_BINARY;
  struct Case {
    std::vector<std::string> args;
    std::string reason;  // a part of the one line
  };
  const std::vector<Case> cases{
      {{"--cluster-name", "vc", "--no-such-flag"}, "--no-such-flag"},
      {{"--source-kubeconfig", "/nonexistent/source.kubeconfig", "--target-kubeconfig",
        "/nonexistent/target.kubeconfig", "--cluster-name", "vc"},
       "/nonexistent/source.kubeconfig"},
      {{"--cluster-name", "Not_A_Label"}, "--cluster-name"},
      // Names under which two instances, or an instance and the cluster's own namespaces, would
      // share target names.
      {{"--cluster-name", "kube-tenant"}, "reserved prefix"},
      {{"--cluster-name", "default"}, "reserved prefix"},
      {{"--cluster-name", "team--a"}, "\"--\""},
      {{"--cluster-name", "team-x-a"}, "\"x\""},
      {{"--cluster-name", "vc", "--namespace-mode", "single"}, "--target-namespace"},
      {{"--cluster-name", "vc", "--resources", "nodes"}, "--resources"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv{binary};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const bisync::testing::CommandResult result = bisync::testing::runCommand(argv);
    INFO(result.summary() << "\nstdout: " << result.out);
    CHECK(result.exitCode == 2);
    CHECK(result.err.find(c.reason) != std::string::npos);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  }
}
