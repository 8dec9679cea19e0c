// The pure parts of a synced Pod's service-account token (translators/pod/pod_token.hpp): which
// service account a source Pod mounts a token of, the TokenRequest bound to it, the host Secret
// that holds it, and when it is refreshed; and that a Secret not owned by the host Pod is never
// taken for the syncer's.
#include <string>

#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"
#include "translators/pod/pod_names.hpp"
#include "translators/pod/pod_token.hpp"

namespace {

using namespace bisync::translators;
using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;

// A source Pod whose container `app` mounts `mountPath`.
std::string podMounting(const std::string& mountPath, const std::string& account) {
  return R"({"metadata":{"name":"web","namespace":"team","uid":"u-1"},"spec":{)" +
         (account.empty() ? std::string() : R"("serviceAccountName":")" + account + R"(",)") +
         R"("containers":[{"name":"app","volumeMounts":[{"name":"t","mountPath":")" + mountPath +
         R"("}]}]}})";
}

}  // namespace

TEST_CASE("a Pod that mounts a service-account token names its service account", "[pod_token]") {
  CHECK(mountedServiceAccount(
            parse(podMounting(std::string(kServiceAccountMountPath), "builder"))) == "builder");
  CHECK(mountedServiceAccount(parse(podMounting(std::string(kServiceAccountMountPath), ""))) ==
        "default");
  CHECK_FALSE(mountedServiceAccount(parse(podMounting("/data", "builder"))));
  // Init containers count; malformed specs mount nothing rather than fail.
  CHECK(mountedServiceAccount(parse(
            R"({"spec":{"initContainers":[{"volumeMounts":[{"mountPath":")" +
            std::string(kServiceAccountMountPath) + R"("}]}],"containers":[]}})")) == "default");
  CHECK_FALSE(mountedServiceAccount(parse(R"({"spec":{"containers":"x"}})")));
  CHECK_FALSE(mountedServiceAccount(parse(R"({"spec":7})")));
  CHECK_FALSE(mountedServiceAccount(parse(R"([])")));
}

TEST_CASE("the TokenRequest is bound to the source Pod, for the configured audiences",
          "[pod_token]") {
  const auto pod = parse(podMounting(std::string(kServiceAccountMountPath), ""));
  CHECK(canonical(tokenRequestOf(pod, {"vault", "api"}, 3600)) ==
        canonicalText(R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest",
          "spec":{"audiences":["vault","api"],"expirationSeconds":3600,
          "boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":"web","uid":"u-1"}}})"));
  CHECK(canonical(tokenRequestOf(pod, {}, 600)) ==
        canonicalText(R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest",
          "spec":{"audiences":[],"expirationSeconds":600,
          "boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":"web","uid":"u-1"}}})"));
}

TEST_CASE("the token Secret is owned by the host Pod and holds what a token volume holds",
          "[pod_token]") {
  const TokenSecretInputs in{"web-x-sa-token", "host-ns", "web-x", "hu-1", "TOKEN", "PEM",
                             "team",           4800,      "vc1"};
  const auto secret = tokenSecretOf(in);
  CHECK(canonical(secret) == canonicalText(R"({"apiVersion":"v1","kind":"Secret","type":"Opaque",
    "metadata":{"name":"web-x-sa-token","namespace":"host-ns",
      "labels":{"kube-bisync.io/managed-by":"vc1"},
      "annotations":{"kube-bisync.io/token-refresh-at":"4800"},
      "ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"web-x","uid":"hu-1",
                          "controller":true}]},
    "stringData":{"token":"TOKEN","ca.crt":"PEM","namespace":"team"}})"));
  CHECK(ownedByHostPod(secret, "hu-1"));
  CHECK(storedRefreshAt(secret, "hu-1") == 4800);
  // Another Pod's (a host Pod made anew under the same name) is not this one's.
  CHECK_FALSE(ownedByHostPod(secret, "hu-2"));
  CHECK_FALSE(storedRefreshAt(secret, "hu-2"));
}

TEST_CASE("a Secret that only looks like a token Secret is not the syncer's", "[pod_token]") {
  CHECK_FALSE(ownedByHostPod(parse(R"({"metadata":{"name":"web-x-sa-token"}})"), "hu-1"));
  CHECK_FALSE(ownedByHostPod(
      parse(R"({"metadata":{"ownerReferences":[{"kind":"ReplicaSet","uid":"hu-1"}]}})"), "hu-1"));
  CHECK_FALSE(ownedByHostPod(parse(R"({"metadata":{"ownerReferences":{"kind":"Pod"}}})"), "hu-1"));
  // Owned, but its refresh time is not an integer: refreshed now.
  const std::string owned = R"({"metadata":{"ownerReferences":[{"kind":"Pod","uid":"hu-1"}],
    "annotations":{"kube-bisync.io/token-refresh-at":")";
  CHECK_FALSE(storedRefreshAt(parse(owned + R"(12x"}}})"), "hu-1"));
  CHECK_FALSE(storedRefreshAt(parse(owned + R"("}}})"), "hu-1"));
  CHECK(storedRefreshAt(parse(owned + R"(99"}}})"), "hu-1") == 99);
}

TEST_CASE("a token is refreshed at 80 percent of its life", "[pod_token]") {
  CHECK(tokenRefreshAt(1000, 3600) == 1000 + 2880);
  CHECK(tokenRefreshAt(0, 600) == 480);
}

TEST_CASE("the token Secret's name fits the host's naming rule", "[pod_token]") {
  CHECK(tokenSecretName("web-x") == "web-x-sa-token");
  const std::string longName(250, 'a');
  const std::string fitted = tokenSecretName(longName);
  CHECK(fitted.size() == 253);
  CHECK(fitted != tokenSecretName(std::string(249, 'a')));
}
