// The Kubernetes client against the testbed's real kube-apiservers.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "syncer/kube/client.hpp"
#include "syncer/kube/kubeconfig.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/kube_fixture.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/objects.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/testbed.hpp"
#include "tests/support/wait.hpp"

using namespace bisync::kube;
using bisync::testing::Auth;
using bisync::testing::configMapObject;
using bisync::testing::KubeFixture;
using bisync::testing::LoopClient;
using bisync::testing::LoopThread;
using bisync::testing::namespaceObject;
using bisync::testing::sharedTestbed;
using bisync::testing::Side;
using bisync::testing::uniqueName;
namespace asio = boost::asio;

namespace {

// No client-side rate limit to speak of: some tests write a thousand objects.
ClientOptions fastOptions() {
  ClientOptions options;
  options.qps = 500;
  options.burst = 500;
  return options;
}

ResourceInfo customResourceDefinitions() {
  return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          false};
}

// A CRD of group example.com, version v1, that keeps any fields; with the status subresource
// when namespaced.
Json exampleCrd(const std::string& plural, const std::string& kind, bool namespaced) {
  Result<Json> crd = parseJson(R"({
      "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": ""},
      "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "", "kind": ""},
        "versions": [{
          "name": "v1", "served": true, "storage": true,
          "schema": {"openAPIV3Schema": {"type": "object",
                                         "x-kubernetes-preserve-unknown-fields": true}},
          "subresources": {"status": {}}}]}})",
                               "test");
  REQUIRE(crd);
  JsonPointer("/metadata/name").Set(*crd, plural + ".example.com");
  JsonPointer("/spec/names/plural").Set(*crd, plural);
  JsonPointer("/spec/names/kind").Set(*crd, kind);
  if (!namespaced) {
    JsonPointer("/spec/scope").Set(*crd, "Cluster");
    JsonPointer("/spec/versions/0/subresources").Erase(*crd);
  }
  return std::move(*crd);
}

// Creates CRDs on the target and deletes them at scope end, also when a REQUIRE fails (the
// testbed is fresh for each run of the binary, so nothing is left from an earlier one).
class ScopedCrds {
 public:
  explicit ScopedCrds(KubeFixture& api) : api_(api) {}
  ~ScopedCrds() {
    for (const std::string& name : names_) {
      api_.run(api_.target().remove(crds_, "", name));
    }
  }
  ScopedCrds(const ScopedCrds&) = delete;
  ScopedCrds& operator=(const ScopedCrds&) = delete;

  void create(const Json& crd) {
    const Result<Json> created = api_.run(api_.target().create(crds_, "", crd));
    INFO((created ? std::string("created") : created.error().describe()));
    REQUIRE(created);
    names_.emplace_back(nameOf(*created));
  }

 private:
  KubeFixture& api_;
  const ResourceInfo crds_ = customResourceDefinitions();
  std::vector<std::string> names_;
};

// Lists namespaces through a client of its own, configured by the kubeconfig at `path`.
Result<ListResult> listNamespacesWith(const std::filesystem::path& path) {
  KubeconfigLoadOptions load;
  load.explicitPath = path.string();
  Result<RestConfig> config = loadRestConfig(load);
  REQUIRE(config);
  LoopThread loop;
  LoopClient api(loop, *config);
  return api.run(api->list(resources::namespaces(), ""));
}

}  // namespace

TEST_CASE("configmaps can be created, read, updated and deleted", "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "crud");
  const ResourceInfo cm = resources::configMaps();

  Result<Json> created =
      api.run(client.create(cm, ns.name(), configMapObject(ns.name(), "a", "key", "one")));
  REQUIRE(created);
  CHECK(nameOf(*created) == "a");
  CHECK_FALSE(uidOf(*created).empty());

  Result<Json> read = api.run(client.get(cm, ns.name(), "a"));
  REQUIRE(read);
  CHECK(stringAt(*read, "/data/key") == "one");
  CHECK(uidOf(*read) == uidOf(*created));

  JsonPointer("/data/key").Set(*read, "two");
  Result<Json> updated = api.run(client.update(cm, ns.name(), *read));
  REQUIRE(updated);
  CHECK(stringAt(*updated, "/data/key") == "two");
  CHECK(resourceVersionOf(*updated) != resourceVersionOf(*read));

  Result<void> removed = api.run(client.remove(cm, ns.name(), "a"));
  REQUIRE(removed);
  Result<Json> gone = api.run(client.get(cm, ns.name(), "a"));
  REQUIRE_FALSE(gone);
  CHECK(gone.error().isNotFound());
  CHECK(gone.error().origin == client.server());
  // kube-apiserver offers HTTP/2 over TLS, and the client takes it.
  CHECK(api.loop().call([&] { return client.stats().http2Responses; }) > 0);
}

TEST_CASE("a read during a short server outage is retried until the server is back", "[client]") {
  ClientOptions patient = fastOptions();
  patient.maxRetries = 12;
  KubeFixture api(patient);
  Client& client = api.source();
  auto& testbed = api.testbed();
  std::future<void> outage = testbed.outageInBackground(Side::Source, std::chrono::seconds(3));
  REQUIRE(bisync::testing::waitFor("the source API server is stopped", std::chrono::seconds(30),
                                   [&](std::string& seen) {
                                     bool running = testbed.running(Side::Source);
                                     seen = running ? "running" : "stopped";
                                     return !running;
                                   }));
  Result<Json> version = api.run(client.getPath("/version"));
  outage.get();
  INFO((version ? std::string("answered") : version.error().describe()));
  REQUIRE(version);
  CHECK(stringMember(*version, "gitVersion").substr(0, 5) == "v1.20");
  CHECK(api.loop().call([&] { return client.stats().retries; }) > 0);
}

TEST_CASE("a cluster-scoped namespace can be created, read, labelled and deleted", "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.target();
  const ResourceInfo namespaces = resources::namespaces();
  std::string name = uniqueName("scoped");
  REQUIRE(api.run(client.create(namespaces, "", namespaceObject(name))));
  Result<Json> read = api.run(client.get(namespaces, "", name));
  REQUIRE(read);
  CHECK(stringAt(*read, "/status/phase") == "Active");
  Result<Json> patched = api.run(client.patch(namespaces, "", name, PatchType::Merge,
                                              R"({"metadata":{"labels":{"team":"a"}}})"));
  REQUIRE(patched);
  CHECK(stringAt(*patched, "/metadata/labels/team") == "a");
  Result<Json> jsonPatched = api.run(
      client.patch(namespaces, "", name, PatchType::JsonPatch,
                   R"([{"op":"add","path":"/metadata/annotations","value":{"note":"b"}}])"));
  REQUIRE(jsonPatched);
  CHECK(stringAt(*jsonPatched, "/metadata/annotations/note") == "b");

  // The status subresource: read it, and apply a condition to it.
  Result<Json> status = api.run(client.get(namespaces, "", name, "status"));
  REQUIRE(status);
  CHECK(stringAt(*status, "/status/phase") == "Active");
  Result<Json> condition = parseJson(
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + name +
          R"("},"status":{"conditions":[{"type":"NamespaceContentRemaining","status":"False","reason":"ContentRemoved"}]}})",
      "test");
  REQUIRE(condition);
  ApplyOptions statusApply;
  statusApply.fieldManager = "status-writer";
  statusApply.subresource = "status";
  Result<Json> withCondition = api.run(client.apply(namespaces, "", name, *condition, statusApply));
  INFO((withCondition ? std::string("applied") : withCondition.error().describe()));
  REQUIRE(withCondition);
  CHECK(stringAt(*withCondition, "/status/conditions/0/reason") == "ContentRemoved");
  REQUIRE(api.run(client.remove(namespaces, "", name)));
  Result<Json> terminating = api.run(client.get(namespaces, "", name));
  // Deletion is accepted at once; the namespace is Terminating (or already gone).
  if (terminating) {
    CHECK(stringAt(*terminating, "/status/phase") == "Terminating");
  } else {
    CHECK(terminating.error().isNotFound());
  }
}

TEST_CASE("an update with a stale resourceVersion gets a typed 409 Conflict", "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "stale");
  const ResourceInfo cm = resources::configMaps();
  Result<Json> created =
      api.run(client.create(cm, ns.name(), configMapObject(ns.name(), "a", "key", "1")));
  REQUIRE(created);
  Json stale;
  stale.CopyFrom(*created, stale.GetAllocator());
  JsonPointer("/data/key").Set(*created, "2");
  REQUIRE(api.run(client.update(cm, ns.name(), *created)));

  JsonPointer("/data/key").Set(stale, "3");
  Result<Json> refused = api.run(client.update(cm, ns.name(), stale));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::Api);
  CHECK(refused.error().httpStatus == 409);
  CHECK(refused.error().isConflict());
  CHECK(refused.error().reason == "Conflict");
  CHECK_FALSE(refused.error().isRetryable());
}

TEST_CASE("delete preconditions protect another incarnation of an object", "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "precond");
  const ResourceInfo cm = resources::configMaps();
  Result<Json> first =
      api.run(client.create(cm, ns.name(), configMapObject(ns.name(), "a", "key", "1")));
  REQUIRE(first);
  std::string oldUid(uidOf(*first));
  REQUIRE(api.run(client.remove(cm, ns.name(), "a")));
  REQUIRE(api.run(client.create(cm, ns.name(), configMapObject(ns.name(), "a", "key", "2"))));

  DeleteOptions options;
  options.uid = oldUid;
  Result<void> refused = api.run(client.remove(cm, ns.name(), "a", options));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().isConflict());
  CHECK(api.run(client.get(cm, ns.name(), "a")));
}

TEST_CASE("server-side apply by two managers gives a typed conflict; force takes ownership",
          "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "ssa");
  const ResourceInfo cm = resources::configMaps();
  ApplyOptions first;
  first.fieldManager = "first-manager";
  REQUIRE(api.run(client.apply(cm, ns.name(), "shared",
                               configMapObject(ns.name(), "shared", "key", "1"), first)));

  ApplyOptions second;
  second.fieldManager = "second-manager";
  Result<Json> conflict = api.run(client.apply(
      cm, ns.name(), "shared", configMapObject(ns.name(), "shared", "key", "2"), second));
  REQUIRE_FALSE(conflict);
  const Error& error = conflict.error();
  INFO(error.describe());
  CHECK(error.isConflict());
  REQUIRE(error.causes.size() == 1);
  CHECK(error.causes[0].type == "FieldManagerConflict");
  CHECK(error.causes[0].field == ".data.key");
  CHECK(error.causes[0].message.find("first-manager") != std::string::npos);

  second.force = true;
  Result<Json> forced = api.run(client.apply(
      cm, ns.name(), "shared", configMapObject(ns.name(), "shared", "key", "2"), second));
  REQUIRE(forced);
  CHECK(stringAt(*forced, "/data/key") == "2");
  std::set<std::string> owners;
  if (const JsonValue* managed = at(*forced, "/metadata/managedFields");
      managed && managed->IsArray()) {
    for (const JsonValue& entry : managed->GetArray()) {
      if (at(entry, "/fieldsV1/f:data/f:key") != nullptr) {
        owners.insert(std::string(stringMember(entry, "manager")));
      }
    }
  }
  CHECK(owners == std::set<std::string>{"second-manager"});
}

TEST_CASE("list with limit pages through 1,000 objects with continue", "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "paging");
  const ResourceInfo cm = resources::configMaps();
  constexpr int kObjects = 1000;
  constexpr int kWorkers = 20;
  std::vector<std::future<int>> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(asio::co_spawn(
        api.loop().io(),
        [&, w]() -> asio::awaitable<int> {
          int failures = 0;
          for (int i = w; i < kObjects; i += kWorkers) {
            std::string name = "cm-" + std::to_string(i);
            Json object = configMapObject(ns.name(), name, "key", name);
            if (!co_await client.create(cm, ns.name(), object)) {
              ++failures;
            }
          }
          co_return failures;
        },
        asio::use_future));
  }
  int failures = 0;
  for (auto& worker : workers) failures += worker.get();
  REQUIRE(failures == 0);

  std::set<std::string> seen;
  int pages = 0;
  ListOptions options;
  options.limit = 100;
  do {
    Result<ListResult> page = api.run(client.list(cm, ns.name(), options));
    REQUIRE(page);
    ++pages;
    CHECK(page->items().Size() <= 100);
    for (const JsonValue& item : page->items().GetArray()) {
      CHECK(seen.insert(std::string(nameOf(item))).second);
    }
    options.continueToken = page->continueToken;
  } while (!options.continueToken.empty());
  CHECK(pages == 10);
  CHECK(seen.size() == kObjects);
}

TEST_CASE("a watch sees ADDED, MODIFIED and DELETED in order", "[client][watch]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "watch");
  const ResourceInfo cm = resources::configMaps();
  Result<ListResult> start = api.run(client.list(cm, ns.name()));
  REQUIRE(start);

  struct Seen {
    WatchEventType type;
    std::string name;
    std::string value;
  };
  std::vector<Seen> events;  // touched on the loop only, read after the watch ends
  auto cancel = std::make_shared<WatchCancel>();
  WatchOptions options;
  options.resourceVersion = start->resourceVersion;
  std::future<Result<void>> watching =
      asio::co_spawn(api.loop().io(),
                     client.watch(
                         cm, ns.name(), options,
                         [&](WatchEvent&& event) {
                           events.push_back({event.type, std::string(nameOf(event.object)),
                                             std::string(stringAt(event.object, "/data/key"))});
                           if (event.type == WatchEventType::Deleted) cancel->cancel();
                         },
                         cancel),
                     asio::use_future);

  Result<Json> created =
      api.run(client.create(cm, ns.name(), configMapObject(ns.name(), "w", "key", "1")));
  REQUIRE(created);
  JsonPointer("/data/key").Set(*created, "2");
  REQUIRE(api.run(client.update(cm, ns.name(), *created)));
  REQUIRE(api.run(client.remove(cm, ns.name(), "w")));

  REQUIRE(watching.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  Result<void> ended = watching.get();
  REQUIRE_FALSE(ended);
  CHECK(ended.error().isCanceled());
  REQUIRE(events.size() == 3);
  CHECK(events[0].type == WatchEventType::Added);
  CHECK(events[0].value == "1");
  CHECK(events[1].type == WatchEventType::Modified);
  CHECK(events[1].value == "2");
  CHECK(events[2].type == WatchEventType::Deleted);
  for (const Seen& seen : events) CHECK(seen.name == "w");
}

TEST_CASE("a watch that asks for bookmarks gets them, one that does not gets none",
          "[client][watch]") {
  KubeFixture api(fastOptions());
  Client& client = api.source();
  auto ns = api.makeNamespace(Side::Source, "bookmark");
  auto elsewhere = api.makeNamespace(Side::Source, "bookmark-other");
  const ResourceInfo cm = resources::configMaps();
  Result<ListResult> start = api.run(client.list(cm, ns.name()));
  REQUIRE(start);
  // kube-apiserver 1.20 bookmarks carry the newest resourceVersion its configmap cache has
  // processed, and only when that is newer than anything the watcher has seen: a write in
  // another namespace (invisible to this namespace's watch) during the watch makes one.
  auto watchBookmarks = [&](bool allow) {
    std::vector<std::int64_t> versions;  // touched on the loop only, read after the watch
    int otherEvents = 0;
    WatchOptions options;
    options.resourceVersion = start->resourceVersion;
    options.allowWatchBookmarks = allow;
    // The server sends a watcher's bookmark 2 s before its timeout.
    options.timeoutSeconds = 5;
    std::future<Result<void>> watching =
        asio::co_spawn(api.loop().io(),
                       client.watch(cm, ns.name(), options,
                                    [&](WatchEvent&& event) {
                                      if (event.type != WatchEventType::Bookmark) {
                                        ++otherEvents;
                                        return;
                                      }
                                      std::string version(resourceVersionOf(event.object));
                                      versions.push_back(version.empty() ? 0 : std::stoll(version));
                                    }),
                       asio::use_future);
    std::string name = uniqueName("x");
    REQUIRE(api.run(
        client.create(cm, elsewhere.name(), configMapObject(elsewhere.name(), name, "key", "1"))));
    REQUIRE(watching.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    Result<void> ended = watching.get();
    INFO((ended ? std::string("ended normally") : ended.error().describe()));
    CHECK(ended);  // the server ends the watch at its timeout
    CHECK(otherEvents == 0);
    return versions;
  };
  const std::int64_t startVersion = std::stoll(start->resourceVersion);
  // The server's bookmark timer ticks about once a second and a watcher's bookmark is due 2 s
  // before its timeout, so on a loaded machine one watch may end without it: up to three
  // watches are made, and one of them must carry a bookmark.
  std::vector<std::int64_t> withBookmarks;
  std::string attempts;
  for (int attempt = 1; attempt <= 3 && withBookmarks.empty(); ++attempt) {
    withBookmarks = watchBookmarks(true);
    attempts += "watch " + std::to_string(attempt) + ": " + std::to_string(withBookmarks.size()) +
                " bookmarks; ";
  }
  INFO(attempts);
  REQUIRE(withBookmarks.size() >= 1);
  CHECK(withBookmarks.back() > startVersion);
  CHECK(watchBookmarks(false).empty());
}

TEST_CASE("discovery maps a kind to its resource and scope", "[client]") {
  KubeFixture api(fastOptions());
  Client& client = api.target();
  Result<ResourceInfo> configMaps = api.run(client.discover({"", "v1", "ConfigMap"}));
  REQUIRE(configMaps);
  CHECK(configMaps->resource == "configmaps");
  CHECK(configMaps->namespaced);
  Result<ResourceInfo> roles =
      api.run(client.discover({"rbac.authorization.k8s.io", "v1", "ClusterRole"}));
  REQUIRE(roles);
  CHECK(roles->resource == "clusterroles");
  CHECK_FALSE(roles->namespaced);
  CHECK(roles->collectionPath("ignored") == "/apis/rbac.authorization.k8s.io/v1/clusterroles");
  Result<ResourceInfo> missing = api.run(client.discover({"", "v1", "NoSuchKind"}));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().isNotFound());
}

TEST_CASE("discovery sees a CustomResourceDefinition created after the first lookup once forgotten",
          "[client][discovery]") {
  KubeFixture api(fastOptions());
  Client& client = api.target();
  ScopedCrds crds(api);
  const auto forget = [&] {
    api.loop().call([&] {
      client.forgetDiscovery();
      return true;
    });
  };
  const auto describe = [](const Result<ResourceInfo>& resolved) {
    return resolved ? "resolved to " + resolved->resource : resolved.error().describe();
  };
  // Resolves `spec` after forgetDiscovery() until the server serves it.
  const auto waitResolved = [&](const ResourceSpec& spec) {
    Result<ResourceInfo> found = fail(Error{});
    const auto outcome =
        bisync::testing::waitFor("resolve finds " + spec.text + " after forgetDiscovery",
                                 std::chrono::seconds(60), [&](std::string& seen) {
                                   forget();
                                   found = api.run(client.resolve(spec));
                                   seen = describe(found);
                                   return found.has_value();
                                 });
    REQUIRE(outcome);
    return *found;
  };

  const auto widgets = parseResourceSpec("widgets.example.com");
  REQUIRE(widgets);
  forget();
  const Result<ResourceInfo> before = api.run(client.resolve(*widgets));
  INFO(describe(before));
  REQUIRE_FALSE(before);
  CHECK(before.error().isNotFound());

  crds.create(exampleCrd("widgets", "Widget", true));
  const ResourceInfo found = waitResolved(*widgets);
  CHECK(found.group == "example.com");
  CHECK(found.version == "v1");
  CHECK(found.resource == "widgets");
  CHECK(found.kind == "Widget");
  CHECK(found.namespaced);
  CHECK(found.statusSubresource);
  CHECK(found.serves("watch"));
  CHECK(found.serves("patch"));
  const auto widgetKind = parseResourceSpec("Widget.v1.example.com");
  REQUIRE(widgetKind);
  const Result<ResourceInfo> byKind = api.run(client.resolve(*widgetKind));
  INFO(describe(byKind));
  REQUIRE(byKind);
  CHECK(byKind->resource == "widgets");

  // example.com/v1 is cached now: a second CRD in it stays unseen until discovery is forgotten.
  crds.create(exampleCrd("gizmos", "Gizmo", false));
  const auto gizmos = parseResourceSpec("gizmos.example.com");
  REQUIRE(gizmos);
  const Result<ResourceInfo> cached = api.run(client.resolve(*gizmos));
  INFO(describe(cached));
  REQUIRE_FALSE(cached);
  CHECK(cached.error().isNotFound());
  const ResourceInfo gizmo = waitResolved(*gizmos);
  CHECK(gizmo.kind == "Gizmo");
  CHECK_FALSE(gizmo.namespaced);
  CHECK_FALSE(gizmo.statusSubresource);
  CHECK(gizmo.collectionPath("ignored") == "/apis/example.com/v1/gizmos");

  // A built-in group's plural.group, in the group's preferred version.
  const auto deployments = parseResourceSpec("deployments.apps");
  REQUIRE(deployments);
  const Result<ResourceInfo> apps = api.run(client.resolve(*deployments));
  INFO(describe(apps));
  REQUIRE(apps);
  CHECK(apps->version == "v1");
  CHECK(apps->kind == "Deployment");
  CHECK(apps->namespaced);
  CHECK(apps->statusSubresource);
}

TEST_CASE("token, token-file and client-certificate auth each reach a real server", "[auth]") {
  for (Auth auth : {Auth::AdminToken, Auth::AdminTokenFile, Auth::ClientCert}) {
    auto& testbed = sharedTestbed();
    auto path = testbed.dir() / ("auth-" + std::to_string(static_cast<int>(auth)) + ".kubeconfig");
    testbed.writeKubeconfig(Side::Source, auth, path);
    Result<ListResult> listed = listNamespacesWith(path);
    INFO("auth kind " << static_cast<int>(auth) << ": "
                      << (listed ? std::string("ok") : listed.error().describe()));
    CHECK(listed);
  }
}

TEST_CASE("an exec credential plugin's token reaches a real server", "[auth]") {
  auto& testbed = sharedTestbed();
  auto dir = testbed.dir();
  auto plugin = dir / "exec-plugin.sh";
  {
    std::ofstream script(plugin);
    script << "#!/bin/sh\n"
           << "echo \"$@\" >> '" << (dir / "exec-plugin.calls").string() << "'\n"
           << "cat <<EOF\n"
           << R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
           << R"("status":{"token":")" << testbed.users().adminToken << "\"}}\n"
           << "EOF\n";
  }
  std::filesystem::permissions(plugin, std::filesystem::perms::owner_all);
  auto path = dir / "exec.kubeconfig";
  {
    std::ofstream kubeconfig(path);
    kubeconfig << "apiVersion: v1\nkind: Config\ncurrent-context: exec\n"
               << "clusters:\n- name: c\n  cluster:\n    server: "
               << testbed.server(Side::Target).url
               << "\n    certificate-authority: " << testbed.server(Side::Target).caFile << "\n"
               << "users:\n- name: u\n  user:\n    exec:\n"
               << "      apiVersion: client.authentication.k8s.io/v1\n"
               << "      command: ./exec-plugin.sh\n      args: [from-test]\n"
               << "      interactiveMode: Never\n"
               << "contexts:\n- name: exec\n  context: {cluster: c, user: u}\n";
  }
  Result<ListResult> listed = listNamespacesWith(path);
  INFO((listed ? std::string("ok") : listed.error().describe()));
  CHECK(listed);
  std::ifstream calls(dir / "exec-plugin.calls");
  std::string firstCall;
  std::getline(calls, firstCall);
  CHECK(firstCall == "from-test");
}

TEST_CASE("a wrong CA gives a clear TLS error naming the server", "[auth]") {
  auto& testbed = sharedTestbed();
  RestConfig config = testbed.restConfig(Side::Source);
  // The client CA is a real CA, just not the one that signed the serving certificate.
  std::ifstream wrongCa(testbed.users().clientCaFile);
  config.caData.assign(std::istreambuf_iterator<char>(wrongCa), {});
  REQUIRE_FALSE(config.caData.empty());
  LoopThread loop;
  LoopClient api(loop, config);
  Result<Json> answer = api.run(api->getPath("/version"));
  REQUIRE_FALSE(answer);
  INFO(answer.error().describe());
  CHECK(answer.error().kind == ErrorKind::Tls);
  CHECK(answer.error().origin == testbed.server(Side::Source).url);
  CHECK(answer.error().describe().find("certificate") != std::string::npos);
}

TEST_CASE("a restricted user gets a typed 403 Forbidden", "[auth]") {
  LoopThread loop;
  LoopClient api(loop, sharedTestbed().restConfig(Side::Source, Auth::ViewerToken));
  Result<ListResult> listed = api.run(api->list(resources::configMaps(), "default"));
  REQUIRE_FALSE(listed);
  CHECK(listed.error().isForbidden());
  CHECK(listed.error().reason == "Forbidden");
  CHECK(listed.error().message.find("viewer") != std::string::npos);
  CHECK(api->stats().retries == 0);
}

TEST_CASE("the client-side rate limit makes requests beyond the burst wait for tokens",
          "[client]") {
  ClientOptions limited;
  limited.qps = 2;  // a token every 500 ms: far slower than a request to a local server
  limited.burst = 3;
  KubeFixture api(limited);
  Client& client = api.target();
  constexpr int kRequests = 10;
  for (int i = 0; i < kRequests; ++i) REQUIRE(api.run(client.getPath("/version")));
  // The bucket starts full: the first `burst` requests pass and the rest wait for tokens
  // (a slow request may let one refill spare a wait, hence the lower bound).
  const auto waits =
      static_cast<int>(api.loop().call([&] { return client.stats().throttledWaits; }));
  CHECK(waits >= kRequests - limited.burst - 2);
  CHECK(waits <= kRequests - limited.burst);

  ClientOptions unlimited;
  unlimited.qps = 0;
  KubeFixture free(unlimited);
  for (int i = 0; i < kRequests; ++i) REQUIRE(free.run(free.target().getPath("/version")));
  CHECK(free.loop().call([&] { return free.target().stats().throttledWaits; }) == 0);
}

namespace {

// A kubeconfig for the target as the admin through the exec plugin `command`, or (when
// `command` is empty) with the admin token; `tlsServerName` goes into the cluster when set.
std::filesystem::path writeTargetKubeconfig(const std::filesystem::path& path,
                                            const std::string& command,
                                            const std::string& tlsServerName) {
  const auto& testbed = sharedTestbed();
  std::ofstream kubeconfig(path);
  kubeconfig << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
             << "clusters:\n- name: c\n  cluster:\n    server: " << testbed.server(Side::Target).url
             << "\n    certificate-authority: " << testbed.server(Side::Target).caFile << "\n";
  if (!tlsServerName.empty()) kubeconfig << "    tls-server-name: " << tlsServerName << "\n";
  kubeconfig << "users:\n- name: u\n  user:\n";
  if (command.empty()) {
    kubeconfig << "    token: " << testbed.users().adminToken << "\n";
  } else {
    kubeconfig << "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
               << "      command: " << command << "\n      interactiveMode: Never\n";
  }
  kubeconfig << "contexts:\n- name: c\n  context: {cluster: c, user: u}\n";
  return path;
}

std::size_t lineCount(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::size_t lines = 0;
  for (std::string line; std::getline(file, line);) ++lines;
  return lines;
}

}  // namespace

TEST_CASE("while an exec credential plugin runs the loop keeps answering other requests",
          "[auth][exec-plugin]") {
  auto& testbed = sharedTestbed();
  const std::filesystem::path dir = testbed.dir() / uniqueName("held-plugin");
  std::filesystem::create_directories(dir);
  // The plugin logs each run, says it started, and answers only once the test releases it: how
  // long it runs is decided by events, not by a sleep.
  const std::filesystem::path plugin = dir / "plugin.sh";
  {
    std::ofstream script(plugin);
    script << "#!/bin/sh\necho run >> '" << (dir / "calls").string() << "'\n"
           << "touch '" << (dir / "started").string() << "'\n"
           << "while [ ! -e '" << (dir / "release").string() << "' ]; do sleep 0.05; done\n"
           << "cat <<EOF\n"
           << R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
           << R"("status":{"token":")" << testbed.users().adminToken << "\"}}\nEOF\n";
  }
  std::filesystem::permissions(plugin, std::filesystem::perms::owner_all);
  KubeconfigLoadOptions load;
  load.explicitPath = writeTargetKubeconfig(dir / "exec.kubeconfig", plugin.string(), "").string();
  const Result<RestConfig> config = loadRestConfig(load);
  REQUIRE(config);

  LoopThread loop;
  LoopClient admin(loop, testbed.restConfig(Side::Source));
  LoopClient viaPlugin(loop, *config);
  const ResourceInfo namespaces = resources::namespaces();
  const std::string allNamespaces;
  auto first =
      asio::co_spawn(loop.io(), viaPlugin->list(namespaces, allNamespaces), asio::use_future);
  auto second =
      asio::co_spawn(loop.io(), viaPlugin->list(namespaces, allNamespaces), asio::use_future);
  REQUIRE(bisync::testing::waitFor("the plugin started", std::chrono::seconds(10),
                                   [&](std::string& seen) {
                                     seen = "no " + (dir / "started").string();
                                     return std::filesystem::exists(dir / "started");
                                   }));

  // The plugin holds until the release below: each answer here came while it ran.
  constexpr int kAnswers = 5;
  int answered = 0;
  std::string seen;
  for (int i = 0; i < kAnswers; ++i) {
    auto version = asio::co_spawn(loop.io(), admin->getPath("/version"), asio::use_future);
    if (version.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      seen = "request " + std::to_string(i) + " got no answer within 10 s";
      break;
    }
    const Result<Json> answer = version.get();
    if (!answer) seen += " " + answer.error().describe();
    answered += answer ? 1 : 0;
  }
  std::ofstream(dir / "release") << "go\n";
  INFO(seen);
  CHECK(answered == kAnswers);

  REQUIRE(first.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  REQUIRE(second.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  const Result<ListResult> firstList = first.get();
  const Result<ListResult> secondList = second.get();
  INFO((firstList ? std::string("ok") : firstList.error().describe()));
  INFO((secondList ? std::string("ok") : secondList.error().describe()));
  CHECK(firstList);
  CHECK(secondList);
  // The two requests that needed the credential waited for one run of the plugin.
  CHECK(lineCount(dir / "calls") == 1);
}

TEST_CASE("tls-server-name is the name the server certificate is verified against",
          "[auth][tls-server-name]") {
  auto& testbed = sharedTestbed();
  const std::filesystem::path dir = testbed.dir() / uniqueName("tls-server-name");
  std::filesystem::create_directories(dir);
  // The self-signed serving certificate of kube-apiserver names kubernetes.default; the name
  // does not resolve here, so an answer also shows that the connection went to the server URL.
  const auto listed = listNamespacesWith(
      writeTargetKubeconfig(dir / "in-certificate.kubeconfig", "", "kubernetes.default"));
  INFO((listed ? std::string("ok") : listed.error().describe()));
  CHECK(listed);

  const std::string absent = "not-in-the-certificate.example";
  const auto refused =
      listNamespacesWith(writeTargetKubeconfig(dir / "absent.kubeconfig", "", absent));
  REQUIRE_FALSE(refused);
  INFO(refused.error().describe());
  CHECK(refused.error().kind == ErrorKind::Tls);
  CHECK(refused.error().origin == testbed.server(Side::Target).url);
  CHECK(refused.error().describe().find(absent) != std::string::npos);
}

TEST_CASE("a refused watch is tracked as forbidden once and clears when a watch is accepted",
          "[auth][forbidden]") {
  KubeFixture api;
  auto ns = api.makeNamespace(Side::Source, "forbidden-watch");
  LoopThread loop;
  LoopClient viewer(loop, sharedTestbed().restConfig(Side::Source, Auth::ViewerToken));
  const ResourceInfo configMaps = resources::configMaps();
  const WatchOptions options;
  const auto startWatch = [&](const std::shared_ptr<WatchCancel>& cancel) {
    return asio::co_spawn(loop.io(),
                          viewer->watch(
                              configMaps, ns.name(), options, [](WatchEvent&&) {}, cancel),
                          asio::use_future);
  };
  const auto tracked = [&] { return loop.call([&] { return viewer->forbidden(); }); };

  Result<void> refused = startWatch(nullptr).get();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().isForbidden());
  CHECK(refused.error().verb == "watch");
  CHECK(refused.error().resource == "configmaps");
  const ForbiddenTracker afterRefusal = tracked();
  CHECK(afterRefusal.forbidden() == std::set<VerbResource>{{"watch", "configmaps"}});
  CHECK(afterRefusal.refusals().at(VerbResource{"watch", "configmaps"}) == 1);

  // A Role of its own: the testbed runs no aggregation controller, so "view" grants nothing.
  for (const std::vector<std::string>& grant :
       {std::vector<std::string>{"create", "role", "configmap-reader", "--verb=get,list,watch",
                                 "--resource=configmaps", "-n", ns.name()},
        std::vector<std::string>{"create", "rolebinding", "configmap-reader",
                                 "--role=configmap-reader", "--user=viewer", "-n", ns.name()}}) {
    const bisync::testing::CommandResult granted = api.testbed().kubectl(Side::Source, grant);
    INFO("kubectl " << grant.at(0) << " " << grant.at(1) << ": " << granted.summary());
    REQUIRE(granted.ok());
  }
  // RBAC takes a moment to see the binding: a watch refused meanwhile is started again. The
  // accepted watch stays open; its headers alone clear the pair.
  auto cancel = std::make_shared<WatchCancel>();
  auto running = startWatch(cancel);
  CHECK(bisync::testing::waitFor(
      "the pair clears while the accepted watch runs", std::chrono::seconds(20),
      [&](std::string& seen) {
        if (running.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
          const Result<void> ended = running.get();
          seen = ended ? std::string("the watch ended") : ended.error().describe();
          running = startWatch(cancel);
          return false;
        }
        const ForbiddenTracker now = tracked();
        seen = std::to_string(now.forbidden().size()) + " pair(s) forbidden";
        return !now.degraded();
      }));
  CHECK(running.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  loop.call([&] {
    cancel->cancel();
    return true;
  });
  running.wait_for(std::chrono::seconds(10));
}

// The TCP proxy of the tests' own (tests/support/tcp_proxy.hpp), which issue 16's faults use:
// it forwards TLS untouched, and cuts, refuses and delays for real.
TEST_CASE("requests through the TCP proxy reach the server, and a cut connection is reconnected",
          "[proxy]") {
  auto& testbed = sharedTestbed();
  bisync::testing::TcpProxy proxy("127.0.0.1", testbed.server(Side::Source).port);
  RestConfig config = testbed.restConfig(Side::Source);
  config.server = proxy.url();
  LoopThread loop;
  LoopClient api(loop, config);
  Result<Json> first = api.run(api->getPath("/version"));
  INFO((first ? std::string() : first.error().describe()));
  REQUIRE(first);
  CHECK(proxy.bytesForwarded() > 0);
  CHECK(proxy.openConnections() == 1);  // kept alive for the next request
  const std::uint64_t acceptedBefore = proxy.connectionsAccepted();

  proxy.cutConnections();
  CHECK(proxy.openConnections() == 0);
  Result<Json> afterCut = api.run(api->getPath("/version"));
  INFO((afterCut ? std::string() : afterCut.error().describe()));
  CHECK(afterCut);
  CHECK(proxy.connectionsAccepted() > acceptedBefore);  // a new connection, through the proxy
}

TEST_CASE("the TCP proxy delays every request by its delay and refuses when told to", "[proxy]") {
  auto& testbed = sharedTestbed();
  bisync::testing::TcpProxy proxy("127.0.0.1", testbed.server(Side::Source).port);
  RestConfig config = testbed.restConfig(Side::Source);
  config.server = proxy.url();
  ClientOptions once;
  once.maxRetries = 0;
  LoopThread loop;
  LoopClient api(loop, config, once);
  REQUIRE(api.run(api->getPath("/version")));  // connected, TLS done

  proxy.setDelay(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  Result<Json> delayed = api.run(api->getPath("/version"));
  const auto took = std::chrono::steady_clock::now() - start;
  INFO((delayed ? std::string() : delayed.error().describe()));
  CHECK(delayed);
  // The request's chunk and the answer's each waited 300 ms in the proxy.
  CHECK(took >= std::chrono::milliseconds(600));
  proxy.setDelay(std::chrono::milliseconds(0));

  proxy.setRefusing(true);
  proxy.cutConnections();
  Result<Json> refused = api.run(api->getPath("/version"));
  CHECK_FALSE(refused);
  proxy.setRefusing(false);
  Result<Json> again = api.run(api->getPath("/version"));
  INFO((again ? std::string() : again.error().describe()));
  CHECK(again);
}
