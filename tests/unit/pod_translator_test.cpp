// The Pod plugin (translators/pod): every translation rule of docs/workloads.md in both
// namespace modes, the refusals of host features, the dependencies, the view of the host Pod
// the virtual side reads its status from, the reversible label rewrite and malformed Pods.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "policies/policy.hpp"
#include "syncer/kube/json.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"
#include "translators/pod/pod_labels.hpp"
#include "translators/pod/pod_names.hpp"
#include "translators/pod/pod_options.hpp"
#include "translators/pod/pod_translator.hpp"

namespace {

using namespace bisync::translators;
using bisync::kube::ErrorKind;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::mapping::IdentityMapper;
using bisync::mapping::MapperConfig;
using bisync::mapping::NamespaceMode;
using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;

IdentityMapper prefixMapper() {
  return IdentityMapper(MapperConfig{"east", NamespaceMode::Prefix, ""});
}
IdentityMapper singleMapper() {
  return IdentityMapper(MapperConfig{"east", NamespaceMode::Single, "shared"});
}

PodOptions options() {
  PodOptions pods;
  pods.virtualDnsServer = "10.96.0.10";
  pods.virtualApiServerAddress = "10.0.0.1";
  pods.hostServiceAccount = "tenant-pods";
  return pods;
}

// A Pod as a 1.20 API server returns it after the ServiceAccount admission: the legacy token
// Secret volume mounted at /var/run/secrets/kubernetes.io/serviceaccount, a node, a priority.
constexpr const char* kServedPod = R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "name": "web-1", "namespace": "team-a", "uid": "p-1", "resourceVersion": "7",
    "creationTimestamp": "2026-12-05T09:00:00Z",
    "labels": {"app": "web", "pod-template-hash": "abc"},
    "annotations": {"note": "kept"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "r-1"}]
  },
  "spec": {
    "volumes": [
      {"name": "settings", "configMap": {"name": "web-settings", "defaultMode": 420}},
      {"name": "creds", "secret": {"secretName": "db-creds", "optional": true}},
      {"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}},
      {"name": "bundle", "projected": {"sources": [
        {"configMap": {"name": "bundle-cm"}}, {"secret": {"name": "bundle-secret"}}]}},
      {"name": "default-token-x7k2p", "secret": {"secretName": "default-token-x7k2p", "defaultMode": 420}}
    ],
    "containers": [{
      "name": "app", "image": "nginx:1.25",
      "env": [
        {"name": "A", "value": "1"},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "b"}}},
        {"name": "C", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "c", "optional": true}}},
        {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
      ],
      "envFrom": [{"configMapRef": {"name": "from-cm"}}, {"secretRef": {"name": "from-secret"}}],
      "volumeMounts": [
        {"name": "settings", "mountPath": "/etc/web"},
        {"name": "default-token-x7k2p", "readOnly": true,
         "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
      ]
    }],
    "initContainers": [{"name": "init", "image": "busybox",
                        "envFrom": [{"configMapRef": {"name": "init-cm", "optional": true}}]}],
    "imagePullSecrets": [{"name": "registry"}],
    "serviceAccountName": "builder", "serviceAccount": "builder",
    "nodeName": "virtual-node", "schedulerName": "default-scheduler",
    "priority": 1000, "priorityClassName": "high", "preemptionPolicy": "PreemptLowerPriority",
    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                     "effect": "NoExecute", "tolerationSeconds": 300}]
  },
  "status": {"phase": "Pending", "qosClass": "BestEffort"}
})";

// Without the virtual API server's environment variables, which come first in every
// container's env: the tests of env references keep the indices of kServedPod.
PodOptions withoutApiEnv() {
  PodOptions pods = options();
  pods.virtualApiServerAddress.clear();
  return pods;
}

Json hostPod(const std::string& text, const IdentityMapper& mapper,
             const PodOptions& pods = options()) {
  const Json source = parse(text);
  auto target = PodTranslator(pods).toTarget(source, mapper);
  INFO((target ? std::string() : target.error().describe()));
  REQUIRE(target);
  return std::move(*target);
}

std::string at(const JsonValue& root, const char* pointer) {
  const JsonValue* value = bisync::kube::at(root, pointer);
  return value == nullptr ? "<absent>" : canonical(*value);
}

// `text` with `replace` put in place of `find` (once).
std::string replaced(std::string text, std::string_view find, std::string_view replace) {
  const std::size_t where = text.find(find);
  REQUIRE(where != std::string::npos);
  text.replace(where, find.size(), replace);
  return text;
}

std::string podWith(std::string_view find, std::string_view replace) {
  return replaced(kServedPod, find, replace);
}

}  // namespace

TEST_CASE("a virtual Pod becomes a host Pod that runs under the host service account",
          "[translators][pods]") {
  const Json pod = hostPod(kServedPod, prefixMapper());
  CHECK(at(pod, "/metadata/name") == R"("web-1")");
  CHECK(at(pod, "/metadata/namespace") == R"("east--team-a")");
  CHECK(at(pod, "/metadata/labels/app") == R"("web")");
  CHECK(at(pod, "/metadata/labels/kube-bisync.io~1managed-by") == R"("east")");
  CHECK(at(pod, "/metadata/annotations/kube-bisync.io~1source-uid") == R"("p-1")");
  CHECK(at(pod, "/metadata/ownerReferences") == "<absent>");
  CHECK(at(pod, "/metadata/uid") == "<absent>");
  CHECK(at(pod, "/status") == "<absent>");
  CHECK(at(pod, "/spec/serviceAccountName") == R"("tenant-pods")");
  CHECK(at(pod, "/spec/automountServiceAccountToken") == "false");
  CHECK(at(pod, "/spec/enableServiceLinks") == "false");
  for (const char* dropped :
       {"/spec/serviceAccount", "/spec/nodeName", "/spec/schedulerName", "/spec/priority",
        "/spec/priorityClassName", "/spec/preemptionPolicy"}) {
    INFO(dropped);
    CHECK(at(pod, dropped) == "<absent>");
  }
  CHECK(at(pod, "/spec/restartPolicy") == R"("Always")");
  CHECK(at(pod, "/spec/tolerations/0/tolerationSeconds") == "300");
  CHECK(at(pod, "/spec/containers/0/image") == R"("nginx:1.25")");
}

TEST_CASE("the virtual Pod's service-account token volume mounts the Secret the engine fills",
          "[translators][pods]") {
  SECTION("the legacy Secret volume of a 1.20 server") {
    const Json pod = hostPod(kServedPod, prefixMapper());
    CHECK(at(pod, "/spec/volumes/4") ==
          canonicalText(R"({"name":"default-token-x7k2p","secret":{"secretName":")" +
                        tokenSecretName("web-1") + R"(","defaultMode":420}})"));
    CHECK(at(pod, "/spec/containers/0/volumeMounts/1/mountPath") ==
          R"("/var/run/secrets/kubernetes.io/serviceaccount")");
    CHECK(at(pod, "/spec/containers/0/volumeMounts/1/name") == R"("default-token-x7k2p")");
  }
  SECTION("the projected kube-api-access volume of later servers, in single mode") {
    const Json pod = hostPod(
        podWith(
            R"({"name": "default-token-x7k2p", "secret": {"secretName": "default-token-x7k2p", "defaultMode": 420}})",
            R"({"name": "default-token-x7k2p", "projected": {"defaultMode": 292, "sources": [
                     {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                     {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                     {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}})"),
        singleMapper());
    const std::string hostName = "web-1-x-team-a-x-east";
    CHECK(at(pod, "/metadata/name") == "\"" + hostName + "\"");
    CHECK(at(pod, "/spec/volumes/4") ==
          canonicalText(R"({"name":"default-token-x7k2p","secret":{"secretName":")" +
                        tokenSecretName(hostName) + R"(","defaultMode":292}})"));
  }
  SECTION("none when automountServiceAccountToken is false: the volume is the Pod's own") {
    const Json pod = hostPod(
        podWith(R"("restartPolicy")", R"("automountServiceAccountToken": false, "restartPolicy")"),
        prefixMapper());
    CHECK(at(pod, "/spec/volumes/4/secret/secretName") == R"("default-token-x7k2p")");
    CHECK(at(pod, "/spec/automountServiceAccountToken") == "false");
  }
  SECTION("none when no container mounts the token path") {
    const Json pod =
        hostPod(podWith(R"("/var/run/secrets/kubernetes.io/serviceaccount")", R"("/elsewhere")"),
                prefixMapper());
    // An ordinary Secret volume then, mapped like any other.
    CHECK(at(pod, "/spec/volumes/4/secret/secretName") == R"("default-token-x7k2p")");
  }
}

TEST_CASE("the names of referenced ConfigMaps, Secrets and PVCs are mapped in both modes",
          "[translators][pods]") {
  struct Case {
    const char* pointer;
    const char* prefixName;  // prefix mode keeps names
  };
  const std::vector<Case> cases = {
      {"/spec/volumes/0/configMap/name", "web-settings"},
      {"/spec/volumes/1/secret/secretName", "db-creds"},
      {"/spec/volumes/2/persistentVolumeClaim/claimName", "web-data"},
      {"/spec/volumes/3/projected/sources/0/configMap/name", "bundle-cm"},
      {"/spec/volumes/3/projected/sources/1/secret/name", "bundle-secret"},
      {"/spec/containers/0/env/1/valueFrom/configMapKeyRef/name", "env-cm"},
      {"/spec/containers/0/env/2/valueFrom/secretKeyRef/name", "env-secret"},
      {"/spec/containers/0/envFrom/0/configMapRef/name", "from-cm"},
      {"/spec/containers/0/envFrom/1/secretRef/name", "from-secret"},
      {"/spec/initContainers/0/envFrom/0/configMapRef/name", "init-cm"},
      {"/spec/imagePullSecrets/0/name", "registry"},
  };
  const Json prefix = hostPod(kServedPod, prefixMapper(), withoutApiEnv());
  const Json single = hostPod(kServedPod, singleMapper(), withoutApiEnv());
  for (const Case& c : cases) {
    INFO(c.pointer);
    CHECK(at(prefix, c.pointer) == "\"" + std::string(c.prefixName) + "\"");
    CHECK(at(single, c.pointer) == "\"" + std::string(c.prefixName) + "-x-team-a-x-east\"");
  }
  // Not references: kept as they are.
  CHECK(at(single, "/spec/containers/0/env/1/valueFrom/configMapKeyRef/key") == R"("b")");
  CHECK(at(single, "/metadata/namespace") == R"("shared")");
}

TEST_CASE("kube-root-ca.crt reads the virtual cluster's CA from the token Secret",
          "[translators][pods]") {
  const std::string_view claim =
      R"({"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}})";
  const std::string text = podWith(
      claim, R"({"name": "ca", "configMap": {"name": "kube-root-ca.crt", "defaultMode": 256}},
                {"name": "bundle2", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt",
                  "items": [{"key": "ca.crt", "path": "ca.pem"}]}}]}})");
  const Json pod = hostPod(text, singleMapper());
  const std::string secret = tokenSecretName("web-1-x-team-a-x-east");
  CHECK(at(pod, "/spec/volumes/2") ==
        canonicalText(R"({"name":"ca","secret":{"defaultMode":256,"secretName":")" + secret +
                      R"("}})"));
  CHECK(at(pod, "/spec/volumes/3/projected/sources/0") ==
        canonicalText(R"({"secret":{"items":[{"key":"ca.crt","path":"ca.pem"}],"name":")" + secret +
                      R"("}})"));
  // Never a dependency: it never syncs.
  for (const Dependency& dependency : PodTranslator(options()).dependencies(parse(text))) {
    CHECK(dependency.name != "kube-root-ca.crt");
  }
  // Without a token volume there is no token Secret: the host's own, under its own name.
  const Json noToken = hostPod(
      replaced(podWith(claim, R"({"name": "ca", "configMap": {"name": "kube-root-ca.crt"}})"),
               R"("/var/run/secrets/kubernetes.io/serviceaccount")", R"("/elsewhere")"),
      singleMapper());
  CHECK(at(noToken, "/spec/volumes/2/configMap/name") == R"("kube-root-ca.crt")");
}

TEST_CASE("volume plugins' Secret references are mapped too", "[translators][pods]") {
  const Json pod = hostPod(
      podWith(
          R"({"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}})",
          R"({"name": "data", "csi": {"driver": "x.csi.io", "nodePublishSecretRef": {"name": "csi-creds"}}})"),
      singleMapper());
  CHECK(at(pod, "/spec/volumes/2/csi/nodePublishSecretRef/name") ==
        R"("csi-creds-x-team-a-x-east")");
}

TEST_CASE("the downward API reads the virtual Pod's name, namespace, uid and labels",
          "[translators][pods]") {
  const std::string text =
      podWith(R"({"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})",
              R"({"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
         {"name": "E", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
         {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['kubernetes.io/role']"}}},
         {"name": "G", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
         {"name": "H", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}})");
  const std::string both = replaced(
      text, R"({"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}})",
      R"({"name": "data", "downwardAPI": {"items": [{"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}}]}})");
  const Json pod = hostPod(both, singleMapper(), withoutApiEnv());
  const std::string env = "/spec/containers/0/env/";
  CHECK(at(pod, (env + "3/valueFrom/fieldRef/fieldPath").c_str()) ==
        R"("metadata.annotations['kube-bisync.io/source-name']")");
  CHECK(at(pod, (env + "4/valueFrom/fieldRef/fieldPath").c_str()) ==
        R"("metadata.annotations['kube-bisync.io/source-namespace']")");
  CHECK(at(pod, (env + "5/valueFrom/fieldRef/fieldPath").c_str()) ==
        "\"metadata.labels['" + hostLabelKey("kubernetes.io/role") + "']\"");
  CHECK(at(pod, (env + "6/valueFrom/fieldRef/fieldPath").c_str()) == R"("metadata.labels['app']")");
  CHECK(at(pod, (env + "7/valueFrom/fieldRef/fieldPath").c_str()) == R"("status.podIP")");
  CHECK(at(pod, "/spec/volumes/2/downwardAPI/items/0/fieldRef/fieldPath") ==
        R"("metadata.annotations['kube-bisync.io/source-uid']")");
}

TEST_CASE("a host Pod keeps the virtual Pod's hostname; its subdomain names the mapped Service",
          "[translators][pods]") {
  const std::string text =
      podWith(R"("restartPolicy")", R"("subdomain": "web-headless", "restartPolicy")");
  const Json single = hostPod(text, singleMapper());
  CHECK(at(single, "/spec/hostname") == R"("web-1")");
  CHECK(at(single, "/spec/subdomain") == R"("web-headless-x-team-a-x-east")");
  const Json prefix = hostPod(text, prefixMapper());
  CHECK(at(prefix, "/spec/hostname") == "<absent>");  // the host Pod's name is the same
  CHECK(at(prefix, "/spec/subdomain") == R"("web-headless")");
  const Json own = hostPod(podWith(R"("restartPolicy")", R"("hostname": "db-0", "restartPolicy")"),
                           singleMapper());
  CHECK(at(own, "/spec/hostname") == R"("db-0")");
}

TEST_CASE(
    "affinity and topology spread select on the host what they select in the virtual namespace",
    "[translators][pods]") {
  const std::string text = podWith(R"("restartPolicy")", R"("affinity": {
      "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web", "kubernetes.io/role": "edge"}},
         "topologyKey": "kubernetes.io/hostname"}]},
      "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": {
          "labelSelector": {"matchExpressions": [{"key": "k8s.io/tier", "operator": "Exists"}]},
          "namespaces": ["cache", "db"], "topologyKey": "zone"}}]}},
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
      "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}],
    "restartPolicy")");
  const std::string role = hostLabelKey("kubernetes.io/role");
  const std::string tier = hostLabelKey("k8s.io/tier");
  const char* anti =
      "/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0";
  const char* pref =
      "/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/0/"
      "podAffinityTerm";
  SECTION("prefix mode: keys rewritten, namespaces mapped") {
    const Json pod = hostPod(text, prefixMapper());
    CHECK(at(pod, (std::string(anti) + "/labelSelector").c_str()) ==
          canonicalText(R"({"matchLabels": {"app": "web", ")" + role + R"(": "edge"}})"));
    CHECK(at(pod, (std::string(pref) + "/labelSelector/matchExpressions/0/key").c_str()) ==
          "\"" + tier + "\"");
    CHECK(at(pod, (std::string(pref) + "/namespaces").c_str()) == R"(["east--cache","east--db"])");
    CHECK(at(pod, "/spec/topologySpreadConstraints/0/labelSelector") ==
          R"({"matchLabels":{"app":"web"}})");
  }
  SECTION("single mode: narrowed to the source namespaces by the origin label") {
    const Json pod = hostPod(text, singleMapper());
    const std::string own =
        R"({"key":"kube-bisync.io/source-namespace","operator":"In","values":["team-a"]})";
    CHECK(at(pod, (std::string(anti) + "/labelSelector").c_str()) ==
          canonicalText(R"({"matchLabels": {"app": "web", ")" + role +
                        R"(": "edge"}, "matchExpressions": [)" + own + "]}"));
    CHECK(at(pod, (std::string(pref) + "/labelSelector/matchExpressions/1").c_str()) ==
          R"({"key":"kube-bisync.io/source-namespace","operator":"In","values":["cache","db"]})");
    CHECK(at(pod, (std::string(pref) + "/namespaces").c_str()) == "<absent>");
    CHECK(at(pod, "/spec/topologySpreadConstraints/0/labelSelector") ==
          canonicalText(R"({"matchLabels": {"app": "web"}, "matchExpressions": [)" + own + "]}"));
  }
}

TEST_CASE("host Pods resolve names with the virtual cluster's DNS", "[translators][pods]") {
  const std::string searches =
      R"(["team-a.svc.cluster.local","svc.cluster.local","cluster.local"])";
  SECTION("ClusterFirst: the virtual DNS server, its search path, ndots 5") {
    const Json pod = hostPod(kServedPod, prefixMapper());
    CHECK(at(pod, "/spec/dnsPolicy") == R"("None")");
    CHECK(at(pod, "/spec/dnsConfig") ==
          canonicalText(R"({"nameservers":["10.96.0.10"],"searches":)" + searches +
                        R"(,"options":[{"name":"ndots","value":"5"}]})"));
  }
  SECTION("absent dnsPolicy is ClusterFirst; the cluster domain is the option's") {
    PodOptions pods = options();
    pods.clusterDomain = "tenant.example";
    const Json pod = hostPod(podWith(R"("dnsPolicy": "ClusterFirst",)", ""), prefixMapper(), pods);
    CHECK(at(pod, "/spec/dnsConfig/searches") ==
          R"(["team-a.svc.tenant.example","svc.tenant.example","tenant.example"])");
  }
  SECTION("the Pod's own dnsConfig is merged as Kubernetes merges it") {
    const Json pod = hostPod(
        podWith(R"("dnsPolicy": "ClusterFirst")",
                R"("dnsPolicy": "ClusterFirstWithHostNet", "dnsConfig": {"nameservers": ["1.1.1.1"],
                   "searches": ["corp.example", "svc.cluster.local"],
                   "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})"),
        prefixMapper());
    CHECK(
        at(pod, "/spec/dnsConfig") ==
        canonicalText(
            R"({"nameservers":["10.96.0.10","1.1.1.1"],"searches":["team-a.svc.cluster.local","svc.cluster.local","cluster.local","corp.example"],"options":[{"name":"ndots","value":"2"},{"name":"edns0"}]})"));
  }
  SECTION("None and Default are the Pod's own choice") {
    for (const char* policy : {"None", "Default"}) {
      INFO(policy);
      const Json pod = hostPod(
          podWith(R"("dnsPolicy": "ClusterFirst")",
                  std::string(R"("dnsConfig": {"nameservers": ["9.9.9.9"]}, "dnsPolicy": ")") +
                      policy + "\""),
          prefixMapper());
      CHECK(at(pod, "/spec/dnsPolicy") == "\"" + std::string(policy) + "\"");
      CHECK(at(pod, "/spec/dnsConfig") == R"({"nameservers":["9.9.9.9"]})");
    }
  }
  SECTION("without a virtual DNS server the Pod's DNS policy stays") {
    PodOptions pods = options();
    pods.virtualDnsServer.clear();
    const Json pod = hostPod(kServedPod, prefixMapper(), pods);
    CHECK(at(pod, "/spec/dnsPolicy") == R"("ClusterFirst")");
    CHECK(at(pod, "/spec/dnsConfig") == "<absent>");
  }
}

TEST_CASE("kubernetes.default resolves to the virtual API server in host Pods",
          "[translators][pods]") {
  const std::string alias =
      R"({"ip":"10.0.0.1","hostnames":["kubernetes","kubernetes.default","kubernetes.default.svc","kubernetes.default.svc.cluster.local"]})";
  SECTION("added to the Pod's own hostAliases") {
    const Json pod = hostPod(
        podWith(R"("restartPolicy")",
                R"("hostAliases": [{"ip": "192.0.2.1", "hostnames": ["db"]}], "restartPolicy")"),
        prefixMapper());
    CHECK(at(pod, "/spec/hostAliases") ==
          canonicalText(R"([{"ip":"192.0.2.1","hostnames":["db"]},)" + alias + "]"));
  }
  SECTION("none without the address") {
    PodOptions pods = options();
    pods.virtualApiServerAddress.clear();
    CHECK(at(hostPod(kServedPod, prefixMapper(), pods), "/spec/hostAliases") == "<absent>");
  }
}

TEST_CASE("in-cluster clients of host Pods find the virtual API server in their environment",
          "[translators][pods]") {
  const Json pod = hostPod(podWith(R"({"name": "A", "value": "1"})",
                                   R"({"name": "A", "value": "1"},
                                      {"name": "KUBERNETES_SERVICE_PORT", "value": "6443"})"),
                           prefixMapper());
  const JsonValue& env = pod["spec"]["containers"][0]["env"];
  std::map<std::string, std::string> values;
  for (const JsonValue& variable : env.GetArray()) {
    values[std::string(bisync::kube::stringMember(variable, "name"))] =
        std::string(bisync::kube::stringMember(variable, "value"));
  }
  CHECK(values["KUBERNETES_SERVICE_HOST"] == "10.0.0.1");
  CHECK(values["KUBERNETES_PORT_443_TCP"] == "tcp://10.0.0.1:443");
  CHECK(values["KUBERNETES_SERVICE_PORT"] == "6443");  // the container's own wins
  CHECK(values["A"] == "1");
  // The virtual API server's variables come first: the container's own may refer to them.
  CHECK(bisync::kube::stringMember(env[0], "name") == "KUBERNETES_SERVICE_HOST");
  CHECK(at(pod, "/spec/initContainers/0/env/0/name") == R"("KUBERNETES_SERVICE_HOST")");
  // An IPv6 address in a URL is bracketed; without an address nothing is added.
  PodOptions ipv6 = options();
  ipv6.virtualApiServerAddress = "fd00::1";
  CHECK(at(hostPod(kServedPod, prefixMapper(), ipv6), "/spec/containers/0/env/3/value") ==
        R"("tcp://[fd00::1]:443")");
  CHECK(at(hostPod(kServedPod, prefixMapper(), withoutApiEnv()), "/spec/initContainers/0/env") ==
        "<absent>");
}

TEST_CASE("reserved label keys are rewritten on the host and come back unchanged",
          "[translators][pods]") {
  const Json pod =
      hostPod(podWith(R"("labels": {"app": "web", "pod-template-hash": "abc"})",
                      R"("labels": {"app": "web", "kubernetes.io/role": "edge", "k8s.io/x": "y",
                  "kube-bisync.io/managed-by": "forged", "vlabel.kube-bisync.io/z": "w",
                  "app.kubernetes.io/name": "web"})"),
              prefixMapper());
  const JsonValue& metadata = pod["metadata"];
  for (const char* key :
       {"kubernetes.io/role", "k8s.io/x", "kube-bisync.io/managed-by", "vlabel.kube-bisync.io/z"}) {
    INFO(key);
    CHECK(isReservedLabelKey(key));
    const std::string hostKey = hostLabelKey(key);
    CHECK(hostKey.starts_with(kRewrittenLabelPrefix));
    CHECK(bisync::kube::stringMember(metadata["annotations"], hostKey) == key);
    CHECK(metadata["labels"].HasMember(hostKey.c_str()));
    if (std::string_view(key) != "kube-bisync.io/managed-by") {
      CHECK_FALSE(metadata["labels"].HasMember(key));
    }
  }
  // The origin label is the syncer's, never the tenant's forged one.
  CHECK(bisync::kube::stringMember(metadata["labels"], "kube-bisync.io/managed-by") == "east");
  CHECK_FALSE(isReservedLabelKey("app.kubernetes.io/name"));
  CHECK(bisync::kube::stringMember(metadata["labels"], "app.kubernetes.io/name") == "web");
  const bisync::mapping::Metadata back = virtualLabels(metadata);
  CHECK(back == bisync::mapping::Metadata{{"app", "web"},
                                          {"kubernetes.io/role", "edge"},
                                          {"k8s.io/x", "y"},
                                          {"kube-bisync.io/managed-by", "forged"},
                                          {"vlabel.kube-bisync.io/z", "w"},
                                          {"app.kubernetes.io/name", "web"}});
}

TEST_CASE("a tenant's vlabel annotation cannot invent a virtual label", "[translators][pods]") {
  const Json pod =
      hostPod(podWith(R"("annotations": {"note": "kept"})",
                      std::string(R"("annotations": {"note": "kept", ")") +
                          hostLabelKey("kubernetes.io/a") + R"(": "kubernetes.io/a"})"),
              prefixMapper());
  CHECK_FALSE(pod["metadata"]["annotations"].HasMember(hostLabelKey("kubernetes.io/a").c_str()));
  // A host label without its annotation (or with one naming another key) is left out.
  const Json forged = parse(R"({"labels": {"vlabel.kube-bisync.io/0123456789abcdef": "v"},
                               "annotations": {"vlabel.kube-bisync.io/0123456789abcdef": "app"}})");
  CHECK(virtualLabels(forged).empty());
}

TEST_CASE("host features are refused unless the Pod policy allows each one",
          "[translators][pods]") {
  struct Case {
    HostFeature feature;
    std::string find;
    std::string replace;
    std::string named;  // in the message
  };
  const std::vector<Case> cases = {
      {HostFeature::Privileged, R"("image": "nginx:1.25")",
       R"("image": "nginx:1.25", "securityContext": {"privileged": true})",
       "privileged (container app)"},
      {HostFeature::Privileged, R"("image": "busybox")",
       R"("image": "busybox", "securityContext": {"windowsOptions": {"hostProcess": true}})",
       "privileged (container init: hostProcess)"},
      {HostFeature::Privileged, R"("restartPolicy")",
       R"("securityContext": {"windowsOptions": {"hostProcess": true}}, "restartPolicy")",
       "privileged (hostProcess)"},
      {HostFeature::HostPath,
       R"({"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}})",
       R"({"name": "data", "hostPath": {"path": "/var/lib"}})", "hostPath (volume data)"},
      {HostFeature::HostNetwork, R"("restartPolicy")", R"("hostNetwork": true, "restartPolicy")",
       "hostNetwork"},
      {HostFeature::HostPID, R"("restartPolicy")", R"("hostPID": true, "restartPolicy")",
       "hostPID"},
      {HostFeature::HostIPC, R"("restartPolicy")", R"("hostIPC": true, "restartPolicy")",
       "hostIPC"},
      {HostFeature::HostPorts, R"("image": "busybox")",
       R"("image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}])",
       "hostPorts (container init: 8080)"},
      {HostFeature::Capabilities, R"("image": "nginx:1.25")",
       R"("image": "nginx:1.25", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["ALL"]}})",
       "capabilities (container app: NET_ADMIN,SYS_TIME)"},
  };
  for (const Case& c : cases) {
    INFO(hostFeatureName(c.feature));
    const Json source = parse(podWith(c.find, c.replace));
    const auto refused = PodTranslator(options()).toTarget(source, prefixMapper());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::Config);
    CHECK(refused.error().reason == kRefusedReason);
    CHECK(refused.error().origin == "Pod team-a/web-1");
    CHECK(refused.error().message.find(c.named) != std::string::npos);
    PodOptions allowing = options();
    allowing.allowedHostFeatures.insert(c.feature);
    const auto allowed = PodTranslator(allowing).toTarget(source, prefixMapper());
    INFO((allowed ? std::string() : allowed.error().describe()));
    CHECK(allowed);
  }
}

TEST_CASE("every refused feature is named in one refusal; dropped capabilities are not one",
          "[translators][pods]") {
  const Json source =
      parse(podWith(R"("restartPolicy")", R"("hostPID": true, "hostIPC": true, "restartPolicy")"));
  const auto refused = PodTranslator(options()).toTarget(source, prefixMapper());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("hostPID; hostIPC") != std::string::npos);
  const Json dropping = parse(podWith(
      R"("image": "nginx:1.25")",
      R"("image": "nginx:1.25", "securityContext": {"privileged": false, "capabilities": {"add": [], "drop": ["ALL"]}})"));
  CHECK(PodTranslator(options()).toTarget(dropping, prefixMapper()));
}

TEST_CASE("hostNetwork allowed covers the host ports the API server defaults from it",
          "[translators][pods]") {
  PodOptions pods = options();
  pods.allowedHostFeatures.insert(HostFeature::HostNetwork);
  const Json implied =
      parse(podWith(R"("image": "busybox")",
                    R"("image": "busybox", "ports": [{"containerPort": 80, "hostPort": 80}])"));
  const std::string hostNetwork = R"("hostNetwork": true, "restartPolicy")";
  const Json pod = parse(
      replaced(podWith(R"("image": "busybox")",
                       R"("image": "busybox", "ports": [{"containerPort": 80, "hostPort": 80}])"),
               R"("restartPolicy")", hostNetwork));
  CHECK(PodTranslator(pods).toTarget(pod, prefixMapper()));
  // Without hostNetwork the same port is a host port of its own.
  CHECK_FALSE(PodTranslator(pods).toTarget(implied, prefixMapper()));
  // ClusterFirst on the host network is Default in Kubernetes: the DNS rule leaves it.
  const auto translated = PodTranslator(pods).toTarget(pod, prefixMapper());
  REQUIRE(translated);
  CHECK(at(*translated, "/spec/dnsPolicy") == R"("ClusterFirst")");
}

TEST_CASE("a projected service-account token of the Pod's own is refused", "[translators][pods]") {
  const Json source = parse(podWith(
      R"({"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}})",
      R"({"name": "vault", "projected": {"sources": [{"serviceAccountToken": {"audience": "vault", "path": "t"}}]}})"));
  const auto refused = PodTranslator(options()).toTarget(source, prefixMapper());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().reason == kRefusedReason);
  CHECK(refused.error().message.find("serviceAccountToken (volume vault)") != std::string::npos);
}

TEST_CASE("a Pod depends on what it mounts and reads, never on its token Secret",
          "[translators][pods]") {
  const Json source =
      parse(podWith(R"("envFrom": [{"configMapRef": {"name": "from-cm"}})",
                    R"("envFrom": [{"configMapRef": {"name": "web-settings", "optional": true}})"));
  const std::vector<Dependency> found = PodTranslator(options()).dependencies(source);
  const std::vector<Dependency> expected = {
      {"configmaps", "web-settings", false},  // mounted (required) and envFrom (optional)
      {"secrets", "db-creds", true},         {"persistentvolumeclaims", "web-data", false},
      {"configmaps", "bundle-cm", false},    {"secrets", "bundle-secret", false},
      {"secrets", "registry", true},  // a pull secret: Kubernetes does not wait for it
      {"configmaps", "env-cm", false},       {"secrets", "env-secret", true},
      {"secrets", "from-secret", false},     {"configmaps", "init-cm", true},
  };
  CHECK(found == expected);
  // The token volume's Secret is listed once nothing mounts it at the token path.
  const Json unmounted =
      parse(podWith(R"("/var/run/secrets/kubernetes.io/serviceaccount")", R"("/elsewhere")"));
  const std::vector<Dependency> all = PodTranslator(options()).dependencies(unmounted);
  CHECK(std::find(all.begin(), all.end(), Dependency{"secrets", "default-token-x7k2p", false}) !=
        all.end());
}

TEST_CASE("container statuses of host-injected sidecars never flow up", "[translators][pods]") {
  const Json source = parse(kServedPod);
  const Json target = parse(R"({"metadata": {"name": "web-1"}, "spec": {"nodeName": "n1"},
    "status": {"phase": "Running", "podIP": "10.1.2.3",
      "containerStatuses": [{"name": "app", "ready": true}, {"name": "istio-proxy", "ready": true}],
      "initContainerStatuses": [{"name": "istio-init"}, {"name": "init"}],
      "ephemeralContainerStatuses": [{"name": "debugger"}]}})");
  const Json view = PodTranslator(options()).toSourceView(target, source);
  CHECK(canonical(view) ==
        canonicalText(R"({"metadata": {"name": "web-1"}, "spec": {"nodeName": "n1"},
    "status": {"phase": "Running", "podIP": "10.1.2.3",
      "containerStatuses": [{"name": "app", "ready": true}],
      "initContainerStatuses": [{"name": "init"}],
      "ephemeralContainerStatuses": []}})"));
  // Without a status there is nothing to filter.
  const Json bare = parse(R"({"metadata": {"name": "web-1"}})");
  CHECK(canonical(PodTranslator(options()).toSourceView(bare, source)) == canonical(bare));
}

TEST_CASE("the host Pod's conditions and container statuses come up in the virtual Pod's order",
          "[translators][pods]") {
  // The virtual API server keeps PodScheduled (set by the binding) first; the host lists it last.
  const Json source = parse(R"({"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
    "status": {"conditions": [{"type": "PodScheduled"}, {"type": "Ready", "status": "False"}],
               "containerStatuses": [{"name": "b"}, {"name": "a"}]}})");
  const Json target = parse(R"({"status": {
    "conditions": [{"type": "Initialized"}, {"type": "Ready", "status": "True"},
                   {"type": "PodScheduled"}],
    "containerStatuses": [{"name": "a", "ready": true}, {"name": "b", "ready": true}]}})");
  const Json view = PodTranslator(options()).toSourceView(target, source);
  // Known items in the virtual Pod's order with the host's values, new ones after.
  CHECK(bisync::kube::toJson(view) == bisync::kube::toJson(parse(R"({"status": {
    "conditions": [{"type": "PodScheduled"}, {"type": "Ready", "status": "True"},
                   {"type": "Initialized"}],
    "containerStatuses": [{"name": "b", "ready": true}, {"name": "a", "ready": true}]}})")));
  // A virtual Pod without a status yet takes the host's order as it is.
  const Json fresh = parse(R"({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}})");
  CHECK(bisync::kube::toJson(PodTranslator(options()).toSourceView(target, fresh)) ==
        bisync::kube::toJson(target));
}

TEST_CASE("every Pod syncs but a kubelet's mirror Pod", "[translators][pods]") {
  const PodTranslator pods(options());
  CHECK(pods.shouldSync(parse(kServedPod)));
  CHECK_FALSE(pods.shouldSync(parse(
      R"({"metadata": {"name": "etcd-n1", "annotations": {"kubernetes.io/config.mirror": "x"}}})")));
  CHECK(pods.resource().resource == "pods");
  CHECK(pods.resource().statusSubresource);
  CHECK(pods.nameLimit().maxLength == 253);
}

TEST_CASE("a malformed Pod is a Decode error naming the field", "[translators][pods]") {
  struct Case {
    std::string find;
    std::string replace;
    std::string named;
  };
  const std::vector<Case> cases = {
      {R"("spec": {)", R"("spec": 3, "x": {)", "/spec is missing or not an object"},
      {R"("volumes": [)", R"("volumes": 7, "v": [)", "/spec/volumes is not an array"},
      {R"({"name": "settings", )", R"({"name": 5, )", "/spec/volumes/0/name is not a string"},
      {R"("secretName": "db-creds")", R"("secretName": ["db-creds"])",
       "/spec/volumes/1/secret/secretName is not a string"},
      {R"("containers": [{)", R"("containers": ["x", {)", "/spec/containers/0 is not an object"},
      {R"("key": "c", "optional": true)", R"("key": "c", "optional": "yes")",
       "/spec/containers/0/env/2/valueFrom/secretKeyRef/optional is not a boolean"},
      {R"("restartPolicy")", R"("hostNetwork": "true", "restartPolicy")",
       "/spec/hostNetwork is not a boolean"},
      {R"("dnsPolicy": "ClusterFirst")", R"("dnsPolicy": "ClusterFirst", "dnsConfig": [])",
       "/spec/dnsConfig is not an object"},
      {R"("envFrom": [{"configMapRef": {"name": "init-cm", "optional": true}}])",
       R"("envFrom": {"configMapRef": {}})", "/spec/initContainers/0/envFrom is not an array"},
  };
  for (const Case& c : cases) {
    INFO(c.named);
    const Json source = parse(podWith(c.find, c.replace));
    const PodTranslator pods(options());
    const auto translated = pods.toTarget(source, prefixMapper());
    REQUIRE_FALSE(translated);
    CHECK(translated.error().kind == ErrorKind::Decode);
    CHECK(translated.error().origin == "Pod team-a/web-1");
    CHECK(translated.error().message == c.named);
    CHECK(pods.dependencies(source).empty());
  }
  // Not a Pod at all: the common checks of every kind, and no crash anywhere.
  for (const char* text : {"[]", "null", R"({"metadata": {"name": "p", "namespace": "n"}})"}) {
    INFO(text);
    const Json source = parse(text);
    const PodTranslator pods(options());
    CHECK_FALSE(pods.toTarget(source, prefixMapper()));
    CHECK(pods.dependencies(source).empty());
    (void)pods.toSourceView(source, source);
    (void)pods.shouldSync(source);
  }
}

TEST_CASE("Pod options: addresses, names and audiences are checked", "[translators][pods]") {
  CHECK(validate(options()));
  CHECK(validate(PodOptions{}));
  PodOptions ipv6 = options();
  ipv6.virtualDnsServer = "fd00::10";
  CHECK(validate(ipv6));
  struct Case {
    void (*spoil)(PodOptions&);
    const char* origin;
  };
  const Case cases[] = {
      {[](PodOptions& o) { o.virtualDnsServer = "kube-dns"; }, "PodOptions.virtualDnsServer"},
      {[](PodOptions& o) { o.virtualApiServerAddress = "10.0.0"; },
       "PodOptions.virtualApiServerAddress"},
      {[](PodOptions& o) { o.clusterDomain = "Cluster_Local"; }, "PodOptions.clusterDomain"},
      {[](PodOptions& o) { o.hostServiceAccount = ""; }, "PodOptions.hostServiceAccount"},
      {[](PodOptions& o) {
         o.tokenAudiences = {"a", ""};
       },
       "PodOptions.tokenAudiences"},
  };
  for (const Case& c : cases) {
    INFO(c.origin);
    PodOptions spoiled = options();
    c.spoil(spoiled);
    const auto valid = validate(spoiled);
    REQUIRE_FALSE(valid);
    CHECK(valid.error().kind == ErrorKind::Config);
    CHECK(valid.error().origin == c.origin);
  }
}

TEST_CASE("the policy's host feature names are the plugin's", "[translators][pods][policies]") {
  std::vector<std::string_view> plugin;
  for (const HostFeature feature : kHostFeatures) {
    plugin.push_back(hostFeatureName(feature));
    CHECK(parseHostFeature(hostFeatureName(feature)) == feature);
  }
  CHECK(plugin == std::vector<std::string_view>(std::begin(bisync::policies::kHostFeatureNames),
                                                std::end(bisync::policies::kHostFeatureNames)));
  CHECK_FALSE(parseHostFeature("HostPath").has_value());
}
