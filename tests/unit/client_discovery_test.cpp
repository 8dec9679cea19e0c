// Client::resolve()/discover() against a fake API server on loopback (the daemon's own
// HttpEndpoint serving canned discovery documents): what is cached and for how long, and which
// answers mean "not served" and which are errors to pass on. The documents' parsing has its own
// tests (discovery_test.cpp); the real server's answers are in tests/integration/client_test.cpp.
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/ops/http_endpoint.hpp"
#include "tests/support/catch.hpp"

using namespace bisync::kube;
using bisync::ops::HttpEndpoint;
using bisync::ops::HttpResponse;

namespace {

constexpr const char* kCoreV1 = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
  {"name":"configmaps","namespaced":true,"kind":"ConfigMap",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"]}]})";
constexpr const char* kApps = R"({"kind":"APIGroup","apiVersion":"v1","name":"apps",
  "versions":[{"groupVersion":"apps/v1","version":"v1"}],
  "preferredVersion":{"groupVersion":"apps/v1","version":"v1"}})";
constexpr const char* kAppsV1 = R"({"kind":"APIResourceList","groupVersion":"apps/v1",
  "resources":[{"name":"deployments","namespaced":true,"kind":"Deployment",
   "verbs":["create","delete","deletecollection","get","list","patch","update","watch"]},
  {"name":"deployments/status","namespaced":true,"kind":"Deployment",
   "verbs":["get","patch","update"]}]})";
constexpr const char* kExample = R"({"kind":"APIGroup","apiVersion":"v1","name":"example.com",
  "versions":[{"groupVersion":"example.com/v1","version":"v1"}],
  "preferredVersion":{"groupVersion":"example.com/v1","version":"v1"}})";
constexpr const char* kExampleV1Gadgets = R"({"kind":"APIResourceList",
  "groupVersion":"example.com/v1","resources":[{"name":"gadgets","namespaced":false,
  "kind":"Gadget","verbs":["get","list","watch"]}]})";
constexpr const char* kExampleV1Both = R"({"kind":"APIResourceList",
  "groupVersion":"example.com/v1","resources":[{"name":"gadgets","namespaced":false,
  "kind":"Gadget","verbs":["get","list","watch"]},{"name":"widgets","namespaced":true,
  "kind":"Widget","verbs":["get","list","watch"]},{"name":"widgets/status","namespaced":true,
  "kind":"Widget","verbs":["get","patch","update"]}]})";
constexpr const char* kMetrics = R"({"kind":"APIGroup","apiVersion":"v1","name":"metrics.k8s.io",
  "versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],
  "preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}})";
// What kube-apiserver answers for an aggregated API whose backend is down.
constexpr const char* kServiceUnavailable = R"({"kind":"Status","apiVersion":"v1",
  "metadata":{},"status":"Failure","message":"service unavailable",
  "reason":"ServiceUnavailable","code":503})";
constexpr const char* kNotFound = R"({"kind":"Status","apiVersion":"v1","metadata":{},
  "status":"Failure","message":"the server could not find the requested resource",
  "reason":"NotFound","details":{},"code":404})";

// Serves `answers` by path and counts the requests per path; a path without an answer is a
// 404 Status, as kube-apiserver sends for a group or version it does not have.
class FakeApiServer {
 public:
  FakeApiServer() : endpoint_(io_) {
    REQUIRE(endpoint_.listen({"127.0.0.1", 0}));
    endpoint_.start();
    RestConfig config;
    config.server = "http://" + endpoint_.address();
    ClientOptions options;
    options.http2 = false;
    options.maxRetries = 1;
    options.retryBaseDelay = std::chrono::milliseconds(1);
    options.retryMaxDelay = std::chrono::milliseconds(1);
    client_.emplace(io_, config, options);
  }
  ~FakeApiServer() {
    client_.reset();
    endpoint_.stop();
  }
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  void answer(const std::string& path, int status, std::string body) {
    answers_[path] = HttpResponse{status, "application/json", std::move(body)};
    endpoint_.handle(path, [this, path] {
      ++requests_[path];
      const auto found = answers_.find(path);
      return found != answers_.end() ? found->second
                                     : HttpResponse{404, "application/json", kNotFound};
    });
  }
  int requests(const std::string& path) const {
    const auto found = requests_.find(path);
    return found == requests_.end() ? 0 : found->second;
  }

  Client& client() { return *client_; }

  // Runs one client call on the test's thread until it completes.
  template <class T>
  T run(asio::awaitable<T> task) {
    std::optional<T> result;
    std::exception_ptr failure;
    asio::co_spawn(io_, std::move(task), [&](std::exception_ptr error, T value) {
      failure = error;
      result = std::move(value);
    });
    while (!result && !failure) io_.run_one();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
  }

  Result<ResourceInfo> resolve(const std::string& text) {
    const auto spec = parseResourceSpec(text);
    REQUIRE(spec);
    return run(client_->resolve(*spec));
  }

 private:
  asio::io_context io_;
  HttpEndpoint endpoint_;
  std::optional<Client> client_;
  std::map<std::string, HttpResponse> answers_;
  std::map<std::string, int> requests_;
};

std::string describe(const Result<ResourceInfo>& resolved) {
  return resolved ? "resolved to " + resolved->resource : resolved.error().describe();
}

}  // namespace

TEST_CASE("resolve reads each discovery document once, and again after forgetDiscovery",
          "[discovery][client]") {
  FakeApiServer server;
  server.answer("/api/v1", 200, kCoreV1);
  server.answer("/apis/apps", 200, kApps);
  server.answer("/apis/apps/v1", 200, kAppsV1);

  for (int round = 0; round < 2; ++round) {
    const Result<ResourceInfo> configMaps = server.resolve("configmaps");
    INFO(describe(configMaps));
    REQUIRE(configMaps);
    CHECK(configMaps->kind == "ConfigMap");
    const Result<ResourceInfo> deployments = server.resolve("deployments.apps");
    INFO(describe(deployments));
    REQUIRE(deployments);
    CHECK(deployments->version == "v1");
    CHECK(deployments->kind == "Deployment");
    CHECK(deployments->statusSubresource);
    const Result<ResourceInfo> byKind = server.resolve("Deployment.v1.apps");
    REQUIRE(byKind);
    CHECK(byKind->resource == "deployments");
  }
  CHECK(server.requests("/api/v1") == 1);
  CHECK(server.requests("/apis/apps") == 1);
  CHECK(server.requests("/apis/apps/v1") == 1);

  server.client().forgetDiscovery();
  REQUIRE(server.resolve("deployments.apps"));
  CHECK(server.requests("/apis/apps") == 2);
  CHECK(server.requests("/apis/apps/v1") == 2);
}

TEST_CASE("a resource added to a cached group version is seen only after forgetDiscovery",
          "[discovery][client]") {
  FakeApiServer server;
  server.answer("/apis/example.com", 200, kExample);
  server.answer("/apis/example.com/v1", 200, kExampleV1Gadgets);
  REQUIRE(server.resolve("gadgets.example.com"));
  const Result<ResourceInfo> before = server.resolve("widgets.example.com");
  REQUIRE_FALSE(before);
  CHECK(before.error().isNotFound());
  CHECK(before.error().reason == "NotFound");
  CHECK_THAT(before.error().message,
             Catch::Equals("the server does not serve resource widgets.example.com"));

  server.answer("/apis/example.com/v1", 200, kExampleV1Both);
  CHECK_FALSE(server.resolve("widgets.example.com"));  // the cached list still lacks it
  server.client().forgetDiscovery();
  const Result<ResourceInfo> after = server.resolve("widgets.example.com");
  INFO(describe(after));
  REQUIRE(after);
  CHECK(after->kind == "Widget");
  CHECK(after->statusSubresource);
}

TEST_CASE("a group or group version the server lacks is NotFound, like a kind it lacks",
          "[discovery][client]") {
  FakeApiServer server;
  server.answer("/api/v1", 200, kCoreV1);
  server.answer("/apis/example.com", 200, kExample);  // but no /apis/example.com/v1

  const Result<ResourceInfo> noGroup = server.resolve("things.nothere.io");
  REQUIRE_FALSE(noGroup);
  CHECK(noGroup.error().isNotFound());
  CHECK(noGroup.error().message == "the server does not serve resource things.nothere.io");

  const Result<ResourceInfo> noVersion = server.resolve("widgets.example.com");
  REQUIRE_FALSE(noVersion);
  CHECK(noVersion.error().isNotFound());

  const GroupVersionKind thing{"nothere.io", "v1", "Thing"};
  const Result<ResourceInfo> noKindGroup = server.run(server.client().discover(thing));
  REQUIRE_FALSE(noKindGroup);
  CHECK(noKindGroup.error().isNotFound());
  CHECK(noKindGroup.error().message == "the server does not serve kind Thing in nothere.io/v1");

  const Result<ResourceInfo> noKind = server.resolve("Secret.v1");
  REQUIRE_FALSE(noKind);
  CHECK(noKind.error().isNotFound());
  CHECK(noKind.error().message == "the server does not serve kind Secret in v1");
  CHECK(server.resolve("ConfigMap.v1"));
  CHECK_FALSE(server.resolve("services"));
}

TEST_CASE("a 503 from an aggregated API's discovery is passed on, and not cached",
          "[discovery][client]") {
  FakeApiServer server;
  server.answer("/apis/metrics.k8s.io", 200, kMetrics);
  server.answer("/apis/metrics.k8s.io/v1beta1", 503, kServiceUnavailable);

  const Result<ResourceInfo> down = server.resolve("pods.metrics.k8s.io");
  REQUIRE_FALSE(down);
  INFO(down.error().describe());
  CHECK(down.error().isApi(503));
  CHECK(down.error().reason == "ServiceUnavailable");
  CHECK(down.error().isRetryable());
  CHECK_FALSE(down.error().isNotFound());
  const GroupVersionKind podMetrics{"metrics.k8s.io", "v1beta1", "PodMetrics"};
  const Result<ResourceInfo> downByKind = server.run(server.client().discover(podMetrics));
  REQUIRE_FALSE(downByKind);
  CHECK(downByKind.error().isApi(503));

  server.answer("/apis/metrics.k8s.io/v1beta1", 200,
                R"({"kind":"APIResourceList","groupVersion":"metrics.k8s.io/v1beta1",
                    "resources":[{"name":"pods","namespaced":true,"kind":"PodMetrics",
                    "verbs":["get","list"]}]})");
  const Result<ResourceInfo> up = server.resolve("pods.metrics.k8s.io");
  INFO(describe(up));
  REQUIRE(up);
  CHECK(up->kind == "PodMetrics");
  CHECK_FALSE(up->serves("watch"));
}

TEST_CASE("discovery documents that are not what the API promises are errors, not crashes",
          "[discovery][client]") {
  FakeApiServer server;
  server.answer("/apis/broken.io", 200, R"({"kind":"APIGroup","versions":"v1"})");
  server.answer("/apis/html.io", 200, "<html>proxy login</html>");
  server.answer("/apis/list.io", 200, kExample);
  server.answer("/apis/list.io/v1", 200, R"([{"name":"widgets"}])");

  const Result<ResourceInfo> noVersion = server.resolve("widgets.broken.io");
  REQUIRE_FALSE(noVersion);
  CHECK(noVersion.error().kind == ErrorKind::Decode);
  CHECK_THAT(noVersion.error().describe(),
             Catch::Contains("the APIGroup document names no version"));

  const Result<ResourceInfo> notJson = server.resolve("widgets.html.io");
  REQUIRE_FALSE(notJson);
  CHECK(notJson.error().kind == ErrorKind::Decode);

  // /apis/list.io names example.com's version; its resource list is no list: nothing served.
  const Result<ResourceInfo> noList = server.resolve("widgets.list.io");
  REQUIRE_FALSE(noList);
  CHECK(noList.error().isNotFound());
}
