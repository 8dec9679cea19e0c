// Virtual-cluster workloads (docs/workloads.md): the source is a virtual cluster whose
// controllers make Pods, the target the host that runs them. Against the workload testbed (the
// host's real kube-scheduler, the virtual side's deployment, replicaset and service-account
// controllers) with a NodeSimulator as the host's kubelets, and the real daemon as a child
// process. Waits poll with a deadline; what must not happen is checked over a window whose name
// says so.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "syncer/kube/base64.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/node_simulator.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/testbed.hpp"

using namespace std::chrono_literals;
namespace kube = bisync::kube;
using bisync::testing::DaemonProcess;
using bisync::testing::holdsThroughout;
using bisync::testing::kReadyLine;
using bisync::testing::lookup;
using bisync::testing::NodeSimulator;
using bisync::testing::NodeSimulatorOptions;
using bisync::testing::Side;
using bisync::testing::stringMapAt;
using bisync::testing::SyncScene;
using bisync::testing::TempDir;
using bisync::testing::waitLogged;

namespace {

constexpr const char* kSyncStatus = "kube-bisync.io/sync-status";
constexpr const char* kTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount";

kube::ResourceInfo pods() { return {"", "v1", "pods", "Pod", true, true}; }

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

kube::Json parsed(const std::string& text) {
  auto json = kube::parseJson(text, "test object");
  INFO(text);
  REQUIRE(json);
  return std::move(*json);
}

// A Pod `name` in `ns` with one container and `specExtra` (JSON members, with a leading comma)
// added to its spec.
kube::Json pod(const std::string& ns, const std::string& name, const std::string& specExtra = "",
               const std::string& containerExtra = "") {
  return parsed(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                R"(","namespace":")" + ns +
                R"(","labels":{"app":"it"}},"spec":{"containers":[{"name":"app",)"
                R"("image":"registry.k8s.io/pause:3.9")" +
                containerExtra + "}]" + specExtra + "}}");
}

// One scene of these tests: the workload testbed, a source namespace whose default
// ServiceAccount exists (the virtual cluster's admission needs it), simulated host nodes.
struct WorkloadScene {
  explicit WorkloadScene(std::string_view prefix, NodeSimulatorOptions nodeOptions = {.nodes = 2})
      : scene(bisync::testing::sharedTestbed(bisync::testing::kWorkloadFeatures), prefix),
        nodes(scene.testbed(), nodeOptions) {
    scene.testbed().waitForDefaultServiceAccount(Side::Source, scene.ns());
    nodes.start();
  }

  std::vector<std::string> daemonArgs(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args =
        scene.daemonArgs({"--resources", "pods,configmaps,secrets", "--virtual-dns-server",
                          "10.96.0.10", "--virtual-apiserver-address", "10.96.0.1"});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::optional<kube::Json> get(Side side, const std::string& ns, const std::string& name,
                                std::string& seen) {
    auto got = scene.api().run(scene.api().client(side).get(pods(), ns, name));
    if (!got) {
      seen +=
          " " + std::string(toString(side)) + " pod " + name + ": " + got.error().describe() + ";";
      return std::nullopt;
    }
    return std::move(*got);
  }

  // The Pods of `ns` on `side` by name.
  std::map<std::string, kube::Json> list(Side side, const std::string& ns, std::string& seen) {
    std::map<std::string, kube::Json> found;
    auto listed = scene.api().run(scene.api().client(side).list(pods(), ns));
    if (!listed) {
      seen += " list pods: " + listed.error().describe() + ";";
      return found;
    }
    for (const kube::JsonValue& item : listed->items().GetArray()) {
      kube::Json copy;
      copy.CopyFrom(item, copy.GetAllocator());
      found.emplace(std::string(kube::nameOf(item)), std::move(copy));
    }
    return found;
  }

  void kubectl(Side side, const std::vector<std::string>& args) {
    const bisync::testing::CommandResult result = scene.testbed().kubectl(side, args);
    INFO("kubectl " << args.at(0) << ": " << result.summary());
    REQUIRE(result.ok());
  }

  void create(Side side, const kube::ResourceInfo& resource, const kube::Json& object) {
    auto created = scene.tryCreate(side, resource, object);
    INFO((created ? std::string() : created.error().describe()));
    REQUIRE(created);
  }

  // Waits until Pod `name` runs on both sides; the host Pod's uid, "" (the test failed) if not.
  std::string waitRunningOnBothSides(DaemonProcess& daemon, const std::string& name);

  SyncScene scene;
  NodeSimulator nodes;
};

bool running(const kube::JsonValue& pod) {
  return kube::stringAt(pod, "/status/phase") == "Running" &&
         !kube::stringAt(pod, "/status/podIP").empty();
}

std::string podLine(const kube::JsonValue& pod) {
  return std::string(kube::nameOf(pod)) +
         " phase=" + std::string(kube::stringAt(pod, "/status/phase")) +
         " node=" + std::string(kube::stringAt(pod, "/spec/nodeName")) +
         " ip=" + std::string(kube::stringAt(pod, "/status/podIP"));
}

std::string WorkloadScene::waitRunningOnBothSides(DaemonProcess& daemon, const std::string& name) {
  std::string hostUid;
  CHECK(waitLogged(daemon, name + " Running on both sides", 30s, [&](std::string& seen) {
    const auto virt = get(Side::Source, scene.ns(), name, seen);
    const auto host = get(Side::Target, scene.targetNs(), name, seen);
    if (!virt || !host || !running(*virt) || !running(*host)) return false;
    hostUid = std::string(kube::uidOf(*host));
    return true;
  }));
  return hostUid;
}

// The host Pod `pod` mounts Secret `secret` at the service-account token path.
bool mountsSecret(const kube::JsonValue& pod, const std::string& secret) {
  std::string volume;
  const kube::JsonValue* volumes = kube::at(pod, "/spec/volumes");
  for (std::size_t i = 0; volumes != nullptr && volumes->IsArray() && i < volumes->Size(); ++i) {
    if (kube::stringAt((*volumes)[static_cast<rapidjson::SizeType>(i)], "/secret/secretName") ==
        secret) {
      volume = kube::stringAt((*volumes)[static_cast<rapidjson::SizeType>(i)], "/name");
    }
  }
  const kube::JsonValue* mounts = kube::at(pod, "/spec/containers/0/volumeMounts");
  for (std::size_t i = 0;
       !volume.empty() && mounts != nullptr && mounts->IsArray() && i < mounts->Size(); ++i) {
    const kube::JsonValue& mount = (*mounts)[static_cast<rapidjson::SizeType>(i)];
    if (kube::stringAt(mount, "/name") == volume &&
        kube::stringAt(mount, "/mountPath") == kTokenPath) {
      return true;
    }
  }
  return false;
}

// A policy directory holding `pods.yaml`: the built-in Pod policy's rules, and `extra`.
TempDir podPolicy(const std::string& extra) {
  TempDir dir(std::filesystem::temp_directory_path(), "wl-policy-");
  std::ofstream(dir.path() / "pods.yaml")
      << "apiVersion: kube-bisync.io/v1alpha1\nkind: SyncPolicy\n"
         "resource: {group: \"\", version: v1, kind: Pod}\ndirection: down\n"
         "fields:\n"
         "  - {path: /spec, owner: source}\n"
         "  - {path: /spec/nodeName, owner: target}\n"
         "  - {path: /spec/schedulerName, owner: ignore}\n"
         "  - {path: /spec/priority, owner: ignore}\n"
         "  - {path: /spec/priorityClassName, owner: ignore}\n"
         "  - {path: /spec/preemptionPolicy, owner: ignore}\n"
         "  - {path: /spec/overhead, owner: ignore}\n"
         "  - {path: /spec/serviceAccount, owner: ignore}\n"
         "  - {path: /metadata/labels/*, owner: source}\n"
         "  - {path: /metadata/annotations/*, owner: source}\n"
         "  - {path: /status, owner: target}\n"
      << extra;
  return dir;
}

}  // namespace

TEST_CASE("a Deployment in the virtual cluster runs on the host", "[workloads]") {
  WorkloadScene w("wl-deploy");
  DaemonProcess daemon(w.scene.testbed(),
                       {BISYNC_DAEMON_BINARY, w.daemonArgs({"--pod-security-level", "baseline"})});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.kubectl(Side::Source, {"create", "deployment", "web", "--image=registry.k8s.io/pause:3.9",
                           "--replicas=3", "-n", w.scene.ns()});

  // When each host Pod and its virtual Pod were first seen Running (the virtual one with the
  // host's node and IP), polled every 100 ms.
  using Clock = std::chrono::steady_clock;
  std::map<std::string, Clock::time_point> hostRunning;
  std::map<std::string, Clock::time_point> virtualRunning;
  REQUIRE(waitLogged(
      daemon, "3 virtual Pods Running with their host Pods' nodes and IPs", 60s,
      [&](std::string& seen) {
        seen.clear();
        const auto now = Clock::now();
        const auto hosts = w.list(Side::Target, w.scene.targetNs(), seen);
        const auto virtuals = w.list(Side::Source, w.scene.ns(), seen);
        for (const auto& [name, host] : hosts) {
          seen += " host " + podLine(host) + ";";
          if (running(host)) hostRunning.emplace(name, now);
        }
        for (const auto& [name, virt] : virtuals) {
          seen += " virtual " + podLine(virt) + ";";
          const auto host = hosts.find(name);
          if (host == hosts.end() || !running(virt) || !running(host->second)) {
            continue;
          }
          if (kube::stringAt(virt, "/spec/nodeName") ==
                  kube::stringAt(host->second, "/spec/nodeName") &&
              kube::stringAt(virt, "/status/podIP") ==
                  kube::stringAt(host->second, "/status/podIP")) {
            virtualRunning.emplace(name, now);
          }
        }
        return virtuals.size() == 3 && virtualRunning.size() == 3;
      },
      100ms));
  std::set<std::string> hostNodes;
  for (const auto& [name, at] : virtualRunning) {
    INFO("pod " << name);
    REQUIRE(hostRunning.contains(name));
    const auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(at - hostRunning[name]);
    INFO("virtual Pod Running " << lag.count() << " ms after its host Pod");
    CHECK(lag <= 5s);
  }
  // The host scheduler placed them on the simulated nodes.
  std::string seen;
  for (const auto& [name, host] : w.list(Side::Target, w.scene.targetNs(), seen)) {
    const std::string node(kube::stringAt(host, "/spec/nodeName"));
    const auto& names = w.nodes.nodeNames();
    CHECK(std::find(names.begin(), names.end(), node) != names.end());
  }
  // The host namespace enforces the Pod Security level the flag names.
  auto hostNs = w.scene.api().run(
      w.scene.api().target().get(kube::resources::namespaces(), "", w.scene.targetNs()));
  REQUIRE(hostNs);
  CHECK(lookup(stringMapAt(*hostNs, "/metadata/labels"), "pod-security.kubernetes.io/enforce") ==
        "baseline");
  // What the host sets on its Pods (node, scheduler, priority, status) is no drift: once all
  // run, nothing is written while nothing changes.
  const auto writes = [&](std::string& scraped) {
    double total = 0;
    for (const char* series : {R"(kube_bisync_writes_total{side="target",operation="apply"})",
                               R"(kube_bisync_writes_total{side="source",operation="apply"})",
                               R"(kube_bisync_writes_total{side="source",operation="create"})"}) {
      total += daemon.metric(series, scraped).value_or(-1000);
    }
    return total;
  };
  // The last status writes and bindings of the start may still be on their way: settled first.
  double before = writes(seen);
  auto unchangedSince = std::chrono::steady_clock::now();
  REQUIRE(waitLogged(
      daemon, "the writes of the start settled (1 s without one)", 15s,
      [&](std::string& s) {
        const double now = writes(s);
        if (now != before) unchangedSince = std::chrono::steady_clock::now();
        before = now;
        return std::chrono::steady_clock::now() - unchangedSince >= 1s;
      },
      250ms));
  CHECK(holdsThroughout("the quiet 3 s once all Pods run: no writes", 3s, [&](std::string& s) {
    const double now = writes(s);
    s += " writes before " + std::to_string(before) + ", now " + std::to_string(now);
    if (now != before) s += "; daemon log:\n" + daemon.logTail(30);
    return now == before;
  }));
  // Binding a virtual Pod moves its resourceVersion on: a write in the same pass with the
  // cached one would fail with 409 and wait out a rate-limited retry, for every Pod.
  INFO(daemon.logTail(30));
  CHECK(daemon.countLog("409 Conflict") == 0);
  CHECK(daemon.running());
}

TEST_CASE("an image change of a running virtual Pod reaches its host Pod in place", "[workloads]") {
  WorkloadScene w("wl-image");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.create(Side::Source, pods(), pod(w.scene.ns(), "patched"));
  const std::string hostUid = w.waitRunningOnBothSides(daemon, "patched");
  REQUIRE(!hostUid.empty());
  // Kubernetes lets a Pod's images change: the host Pod is updated, not made anew.
  w.kubectl(Side::Source,
            {"set", "image", "pod/patched", "app=registry.k8s.io/pause:3.10", "-n", w.scene.ns()});
  REQUIRE(waitLogged(daemon, "the new image on the same host Pod", 30s, [&](std::string& seen) {
    const auto host = w.get(Side::Target, w.scene.targetNs(), "patched", seen);
    if (!host) return false;
    seen += " host image " + std::string(kube::stringAt(*host, "/spec/containers/0/image"));
    return kube::stringAt(*host, "/spec/containers/0/image") == "registry.k8s.io/pause:3.10" &&
           kube::uidOf(*host) == hostUid;
  }));
  std::string seen;
  const auto virt = w.get(Side::Source, w.scene.ns(), "patched", seen);
  REQUIRE(virt);
  // Nothing to report: no sync-status, or Synced.
  const std::string status = lookup(stringMapAt(*virt, "/metadata/annotations"), kSyncStatus);
  CHECK((status == "<absent>" || contains(status, "Synced")));
}

TEST_CASE("a Pod reads the virtual API server with its mounted token", "[workloads]") {
  WorkloadScene w("wl-token");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.create(Side::Source, pods(), pod(w.scene.ns(), "reader"));
  const std::string secretName = "reader-sa-token";  // docs/workloads.md, "Service-account tokens"

  // The host Pod mounts the token Secret where the virtual Pod's token is.
  std::string token;
  REQUIRE(waitLogged(daemon, "the host Pod and its token Secret", 30s, [&](std::string& seen) {
    const auto host = w.get(Side::Target, w.scene.targetNs(), "reader", seen);
    if (!host) return false;
    seen = kube::toJson(*host);
    if (!mountsSecret(*host, secretName)) return false;
    const kube::JsonValue* automount = kube::at(*host, "/spec/automountServiceAccountToken");
    if (automount == nullptr || !automount->IsFalse()) return false;
    auto secret = w.scene.api().run(
        w.scene.api().target().get(kube::resources::secrets(), w.scene.targetNs(), secretName));
    if (!secret) {
      seen += " secret: " + secret.error().describe();
      return false;
    }
    const auto data = stringMapAt(*secret, "/data");
    const std::string encoded = lookup(data, "token");
    if (encoded == "<absent>") return false;
    CHECK(lookup(data, "ca.crt") != "<absent>");
    CHECK(lookup(data, "namespace") != "<absent>");
    CHECK(kube::stringAt(*secret, "/metadata/ownerReferences/0/uid") == kube::uidOf(*host));
    const auto decoded = kube::decodeBase64(encoded);
    REQUIRE(decoded);
    token = *decoded;
    return true;
  }));
  const std::string expectedUser = "system:serviceaccount:" + w.scene.ns() + ":default";
  const auto review = [&](Side side) {
    const kube::ResourceInfo reviews{"authentication.k8s.io", "v1", "tokenreviews", "TokenReview",
                                     false};
    kube::Json body = parsed(R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",
                                 "spec":{"token":")" +
                             token + R"("}})");
    auto answer = w.scene.api().run(w.scene.api().client(side).create(reviews, "", body));
    INFO((answer ? kube::toJson(*answer) : answer.error().describe()));
    REQUIRE(answer);
    kube::Json status;
    status.CopyFrom(*answer, status.GetAllocator());
    return status;
  };
  const kube::Json onVirtual = review(Side::Source);
  INFO(kube::toJson(onVirtual));
  CHECK(kube::at(onVirtual, "/status/authenticated") != nullptr);
  CHECK(kube::at(onVirtual, "/status/authenticated")->IsTrue());
  CHECK(kube::stringAt(onVirtual, "/status/user/username") == expectedUser);
  const kube::Json onHost = review(Side::Target);
  INFO(kube::toJson(onHost));
  const kube::JsonValue* hostAuthenticated = kube::at(onHost, "/status/authenticated");
  CHECK((hostAuthenticated == nullptr || hostAuthenticated->IsFalse()));
}

TEST_CASE(
    "a privileged Pod or one with a hostPath volume is refused on the host and the tenant sees "
    "why",
    "[workloads]") {
  WorkloadScene w("wl-refuse");
  const std::string privileged = R"(,"securityContext":{"privileged":true})";
  const std::string hostPath = R"(,"volumes":[{"name":"root","hostPath":{"path":"/"}}])";
  {
    DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
    REQUIRE(daemon.waitForLog(kReadyLine, 30s));
    w.create(Side::Source, pods(), pod(w.scene.ns(), "priv", "", privileged));
    w.create(Side::Source, pods(), pod(w.scene.ns(), "hostpath", hostPath));
    for (const auto& [name, feature] :
         std::map<std::string, std::string>{{"priv", "privileged"}, {"hostpath", "hostPath"}}) {
      REQUIRE(waitLogged(
          daemon, "SyncRejected and sync-status Rejected on " + name, 30s, [&](std::string& seen) {
            const auto source = w.get(Side::Source, w.scene.ns(), name, seen);
            if (!source) return false;
            const std::string status =
                lookup(stringMapAt(*source, "/metadata/annotations"), kSyncStatus);
            seen += " sync-status " + status;
            return w.scene.countEvents(Side::Source, w.scene.ns(), "SyncRejected", name, seen) >
                       0 &&
                   contains(status, "Rejected") && contains(status, feature);
          }));
    }
    CHECK(holdsThroughout("the refusal window: no host Pod for either", 2s, [&](std::string& seen) {
      return w.list(Side::Target, w.scene.targetNs(), seen).empty();
    }));
  }
  // Allowed by the Pod policy: both run on the host.
  const TempDir policies = podPolicy("hostFeatures: {allow: [privileged, hostPath]}\n");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY,
                                           w.daemonArgs({"--policies", policies.path().string()})});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  REQUIRE(waitLogged(daemon, "both Pods on the host once the policy allows them", 30s,
                     [&](std::string& seen) {
                       const auto hosts = w.list(Side::Target, w.scene.targetNs(), seen);
                       return hosts.contains("priv") && hosts.contains("hostpath");
                     }));
}

TEST_CASE("a Pod waits for the ConfigMap it mounts", "[workloads]") {
  WorkloadScene w("wl-wait");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.create(Side::Source, pods(),
           pod(w.scene.ns(), "mounter",
               R"(,"volumes":[{"name":"settings","configMap":{"name":"settings"}}])",
               R"(,"volumeMounts":[{"name":"settings","mountPath":"/etc/settings"}])"));
  REQUIRE(waitLogged(daemon, "SyncWaiting naming the ConfigMap", 30s, [&](std::string& seen) {
    const auto source = w.get(Side::Source, w.scene.ns(), "mounter", seen);
    if (!source) return false;
    const std::string status = lookup(stringMapAt(*source, "/metadata/annotations"), kSyncStatus);
    seen += " sync-status " + status;
    return w.scene.countEvents(Side::Source, w.scene.ns(), "SyncWaiting", "mounter", seen) > 0 &&
           contains(status, "SyncWaiting") && contains(status, "configmaps settings");
  }));
  CHECK(holdsThroughout(
      "the waiting window: no host Pod before its ConfigMap", 2s, [&](std::string& seen) {
        return !w.list(Side::Target, w.scene.targetNs(), seen).contains("mounter");
      }));
  w.create(Side::Source, kube::resources::configMaps(),
           bisync::testing::configMap(w.scene.ns(), "settings", {{"mode", "fast"}}));
  REQUIRE(
      waitLogged(daemon, "the host Pod once the ConfigMap is copied", 30s, [&](std::string& seen) {
        auto copy = w.scene.api().run(w.scene.api().target().get(kube::resources::configMaps(),
                                                                 w.scene.targetNs(), "settings"));
        const auto hosts = w.list(Side::Target, w.scene.targetNs(), seen);
        return copy && hosts.contains("mounter");
      }));
}

TEST_CASE("an evicted host Pod is replaced through its ReplicaSet in the virtual cluster",
          "[workloads]") {
  WorkloadScene w("wl-evict");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.kubectl(Side::Source, {"create", "deployment", "web", "--image=registry.k8s.io/pause:3.9",
                           "--replicas=1", "-n", w.scene.ns()});
  std::string first;
  REQUIRE(waitLogged(daemon, "the replica Running on both sides", 60s, [&](std::string& seen) {
    for (const auto& [name, virt] : w.list(Side::Source, w.scene.ns(), seen)) {
      seen += " virtual " + podLine(virt) + ";";
      const auto host = w.get(Side::Target, w.scene.targetNs(), name, seen);
      if (running(virt) && host && running(*host)) first = name;
    }
    return !first.empty();
  }));
  w.nodes.evictPod(w.scene.targetNs(), first);
  REQUIRE(waitLogged(daemon, "a new replica Running on both sides, the evicted one gone", 60s,
                     [&](std::string& seen) {
                       const auto virtuals = w.list(Side::Source, w.scene.ns(), seen);
                       if (virtuals.contains(first)) return false;
                       for (const auto& [name, virt] : virtuals) {
                         seen += " virtual " + podLine(virt) + ";";
                         const auto host = w.get(Side::Target, w.scene.targetNs(), name, seen);
                         if (running(virt) && host && running(*host)) return true;
                       }
                       return false;
                     }));
  std::string seen;
  CHECK(w.scene.countEvents(Side::Source, w.scene.ns(), "HostPodGone", first, seen) > 0);
}

// Found by the chaos checker: a host Pod evicted before its status reached the virtual Pod was
// made again, hiding the eviction from the virtual ReplicaSet. The syncer now also goes by the
// host deletions it sees that are not its own. Here the host's kubelet never starts the Pod, so
// the virtual Pod never gets a host IP.
TEST_CASE("a host Pod evicted before it started is not made again: its virtual Pod is replaced",
          "[workloads][chaos]") {
  WorkloadScene w("wl-early-evict",
                  {.nodes = 1, .namePrefix = "early-node-", .runPods = false, .events = false});
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.kubectl(Side::Source, {"create", "deployment", "web", "--image=registry.k8s.io/pause:3.9",
                           "--replicas=1", "-n", w.scene.ns()});
  std::string first;
  REQUIRE(waitLogged(daemon, "the replica bound on both sides, not started", 60s,
                     [&](std::string& seen) {
                       for (const auto& [name, virt] : w.list(Side::Source, w.scene.ns(), seen)) {
                         seen += " virtual " + podLine(virt) + ";";
                         const auto host = w.get(Side::Target, w.scene.targetNs(), name, seen);
                         if (host && !kube::stringAt(virt, "/spec/nodeName").empty() &&
                             kube::stringAt(virt, "/status/hostIP").empty()) {
                           first = name;
                         }
                       }
                       return !first.empty();
                     }));
  w.nodes.evictPod(w.scene.targetNs(), first);
  REQUIRE(waitLogged(daemon, "the evicted replica gone from both sides, a new one made", 60s,
                     [&](std::string& seen) {
                       const auto virtuals = w.list(Side::Source, w.scene.ns(), seen);
                       const auto hosts = w.list(Side::Target, w.scene.targetNs(), seen);
                       return !virtuals.contains(first) && !hosts.contains(first) &&
                              virtuals.size() == 1;
                     }));
  std::string seen;
  CHECK(w.scene.countEvents(Side::Source, w.scene.ns(), "HostPodGone", first, seen) > 0);
}

TEST_CASE("a Pod deleted in the virtual cluster disappears from both sides", "[workloads]") {
  WorkloadScene w("wl-delete");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.create(Side::Source, pods(),
           pod(w.scene.ns(), "short", R"(,"terminationGracePeriodSeconds":30)"));
  REQUIRE(!w.waitRunningOnBothSides(daemon, "short").empty());
  w.kubectl(Side::Source,
            {"delete", "pod", "short", "-n", w.scene.ns(), "--grace-period=7", "--wait=false"});
  REQUIRE(waitLogged(daemon, "gone from both sides", 30s, [&](std::string& seen) {
    return w.list(Side::Source, w.scene.ns(), seen).empty() &&
           w.list(Side::Target, w.scene.targetNs(), seen).empty();
  }));
  // The host's kubelet was given the grace the tenant asked for.
  CHECK(w.nodes.observedGracePeriod(w.scene.targetNs(), "short") == 7);
}

TEST_CASE("a restart of the syncer while the host changes Pod status loses nothing",
          "[workloads]") {
  WorkloadScene w("wl-restart");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  w.create(Side::Source, pods(), pod(w.scene.ns(), "steady"));
  const std::string hostUid = w.waitRunningOnBothSides(daemon, "steady");
  REQUIRE(!hostUid.empty());
  REQUIRE(daemon.terminate() == "exited with status 0");
  // While the syncer is down, the host's kubelet reports the Pod failed.
  w.nodes.failPod(w.scene.targetNs(), "steady", "OOMKilled", "the container ran out of memory");
  daemon.start();
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  REQUIRE(waitLogged(daemon, "the Failed status on the virtual Pod", 30s, [&](std::string& seen) {
    const auto virt = w.get(Side::Source, w.scene.ns(), "steady", seen);
    if (!virt) return false;
    seen += " virtual " + podLine(*virt) + " reason " +
            std::string(kube::stringAt(*virt, "/status/reason"));
    return kube::stringAt(*virt, "/status/phase") == "Failed" &&
           kube::stringAt(*virt, "/status/reason") == "OOMKilled";
  }));
  std::string seen;
  const auto host = w.get(Side::Target, w.scene.targetNs(), "steady", seen);
  INFO(seen);
  REQUIRE(host);
  CHECK(kube::uidOf(*host) == hostUid);  // never recreated
  CHECK(daemon.running());
}

// The destructive paths of Pods, tricked.

TEST_CASE("a Secret in the way of a Pod's token is never overwritten", "[workloads][safety]") {
  WorkloadScene w("wl-secret");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  // A ConfigMap makes the daemon create the host namespace; a host user then puts a Secret of
  // their own where the Pod's token Secret would go.
  w.create(Side::Source, kube::resources::configMaps(),
           bisync::testing::configMap(w.scene.ns(), "first", {{"k", "v"}}));
  REQUIRE(waitLogged(daemon, "the host namespace", 30s, [&](std::string& seen) {
    auto copy = w.scene.api().run(
        w.scene.api().target().get(kube::resources::configMaps(), w.scene.targetNs(), "first"));
    if (!copy) seen = copy.error().describe();
    return copy.has_value();
  }));
  auto foreign = w.scene.tryCreate(Side::Target, kube::resources::secrets(),
                                   bisync::testing::secret(w.scene.targetNs(), "reader-sa-token",
                                                           "Opaque", {{"token", "mine"}}));
  INFO((foreign ? std::string() : foreign.error().describe()));
  REQUIRE(foreign);
  const std::string version(kube::resourceVersionOf(*foreign));
  w.create(Side::Source, pods(), pod(w.scene.ns(), "reader"));
  REQUIRE(waitLogged(daemon, "NameClash on the Pod", 30s, [&](std::string& seen) {
    return w.scene.countEvents(Side::Source, w.scene.ns(), "NameClash", "reader", seen) > 0;
  }));
  CHECK(holdsThroughout("the clash window: the host user's Secret unchanged", 2s,
                        [&](std::string& seen) {
                          auto now = w.scene.api().run(w.scene.api().target().get(
                              kube::resources::secrets(), w.scene.targetNs(), "reader-sa-token"));
                          if (!now) {
                            seen = now.error().describe();
                            return false;
                          }
                          seen = "resourceVersion " + std::string(kube::resourceVersionOf(*now));
                          return kube::resourceVersionOf(*now) == version;
                        }));
}

TEST_CASE("a virtual Pod created with a nodeName is not taken for one whose host Pod is gone",
          "[workloads][safety]") {
  WorkloadScene w("wl-nodename");
  DaemonProcess daemon(w.scene.testbed(), {BISYNC_DAEMON_BINARY, w.daemonArgs()});
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  // The tenant names a node itself: the virtual Pod is bound from the start, yet never ran.
  w.create(Side::Source, pods(),
           pod(w.scene.ns(), "pinned", R"(,"nodeName":")" + w.nodes.nodeNames().at(0) + R"(")"));
  std::string seen;
  const auto created = w.get(Side::Source, w.scene.ns(), "pinned", seen);
  INFO(seen);
  REQUIRE(created);
  const std::string uid(kube::uidOf(*created));
  const std::string hostUid = w.waitRunningOnBothSides(daemon, "pinned");
  REQUIRE(!hostUid.empty());
  const auto now = w.get(Side::Source, w.scene.ns(), "pinned", seen);
  REQUIRE(now);
  CHECK(kube::uidOf(*now) == uid);  // the same virtual Pod, never removed
  CHECK(w.scene.countEvents(Side::Source, w.scene.ns(), "HostPodGone", "pinned", seen) == 0);
}

// Found by the chaos checker: a syncer that died (or lost its Lease, or the record write)
// between creating a virtual Node and recording it left a Node nobody owned, taken for a
// tenant's from then on: never updated from the host, never removed (an orphan Node).
TEST_CASE(
    "a syncer killed between creating a virtual Node and recording it removes that Node once "
    "no Pod runs there",
    "[workloads][chaos]") {
  WorkloadScene w("wl-node-intent", {.nodes = 1, .namePrefix = "intent-node-"});
  const std::string node = w.nodes.nodeNames().at(0);
  const kube::ResourceInfo nodes{"", "v1", "nodes", "Node", false, true};
  auto virtualNode = [&](std::string& seen) {
    auto got = w.scene.api().run(w.scene.api().client(Side::Source).get(nodes, "", node));
    if (!got) seen = "virtual Node " + node + ": " + got.error().describe();
    return got;
  };
  bisync::testing::TcpProxy sourceProxy("127.0.0.1", w.scene.testbed().server(Side::Source).port);
  TempDir kubeconfigs(std::filesystem::temp_directory_path(), "wl-node-intent-");
  DaemonProcess daemon(
      w.scene.testbed(),
      bisync::testing::daemonThrough(w.scene.testbed(), Side::Source, sourceProxy.url(),
                                     kubeconfigs.path(), {BISYNC_DAEMON_BINARY, w.daemonArgs()}));
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));

  // Every chunk to and from the source now takes 3 s: the Node's create answer comes 3 s after
  // the Node exists, and the daemon dies in between.
  sourceProxy.setDelay(3s);
  w.create(Side::Source, pods(), pod(w.scene.ns(), "runner"));
  REQUIRE(waitLogged(daemon, "virtual Node " + node + " created", 90s,
                     [&](std::string& seen) { return virtualNode(seen).has_value(); }));
  daemon.kill();
  CHECK(daemon.countLog("created Node " + node) == 0);

  sourceProxy.setDelay(0ms);
  daemon.start();
  REQUIRE(daemon.waitForLog(kReadyLine, 30s));
  REQUIRE(daemon.waitForLog("Node " + node + ": finished its creation", 30s));
  CHECK(daemon.countLog("was not made by the syncer") == 0);
  // It is the syncer's again: it goes with its last Pod.
  w.kubectl(Side::Source, {"delete", "pod", "runner", "-n", w.scene.ns(), "--wait=false"});
  REQUIRE(waitLogged(daemon, "virtual Node " + node + " removed with its last Pod", 60s,
                     [&](std::string& seen) { return !virtualNode(seen).has_value(); }));
}
