// The testbed's workload pieces: the target's kube-scheduler, and the wait for what the
// source's ServiceAccount admission needs (TestbedOptions::scheduler, virtualClusterControllers).
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "syncer/kube/json.hpp"
#include "tests/support/http_probe.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::testing {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// The scheduler of the target (host) side: admin kubeconfig, no leader election, /healthz on a
// free loopback port and no insecure port (1.20 would serve 0.0.0.0:10251 for every testbed).
ChildProcess Testbed::spawnScheduler(const ApiServerInfo& info) {
  const std::vector<std::string> argv = {
      schedulerBinary_,
      "--kubeconfig=" + info.schedulerKubeconfig,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      "--secure-port=" + std::to_string(info.schedulerPort),
      "--cert-dir=" + (dir() / info.name / "scheduler-certs").string(),
      "--port=0",
      // Its default limit (50/s, burst 100: a bind and an Event per Pod) would pace the
      // 2,000-Pod benchmark; the testbed's server is not shared. (Deprecated flags, still
      // honoured in 1.20; the alternative is a config file.)
      "--kube-api-qps=500",
      "--kube-api-burst=1000",
  };
  return launcher_.spawn(ProcessSpec{.argv = argv, .env = {}, .logFile = info.schedulerLogFile});
}

namespace {
// "" when `ns` has the default ServiceAccount and its token Secret, else what is missing.
std::string defaultServiceAccountGap(const ApiServerInfo& info, const std::string& token,
                                     const std::string& ns) {
  ProbeRequest request{.url = info.url + "/api/v1/namespaces/" + ns + "/serviceaccounts/default",
                       .caFile = info.caFile,
                       .bearerToken = token};
  const ProbeResult account = httpGet(request);
  if (account.status != 200) {
    return "serviceaccount default: " + std::to_string(account.status) + " " + account.error;
  }
  auto parsed = kube::parseJson(account.body, "serviceaccount default");
  const std::string_view secret =
      parsed ? kube::stringAt(*parsed, "/secrets/0/name") : std::string_view();
  if (secret.empty()) {
    return "serviceaccount default lists no token Secret yet";
  }
  request.url = info.url + "/api/v1/namespaces/" + ns + "/secrets/" + std::string(secret);
  const ProbeResult tokenSecret = httpGet(request);
  if (tokenSecret.status != 200) {
    return "secret " + std::string(secret) + ": " + std::to_string(tokenSecret.status);
  }
  return {};
}
}  // namespace

void Testbed::waitForDefaultServiceAccount(Side side, const std::string& ns, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string seen;
  while (true) {
    seen = defaultServiceAccountGap(server(side), users_.adminToken, ns);
    if (seen.empty()) {
      return;
    }
    if (Clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  throw std::runtime_error("testbed: namespace " + ns + " on the " + std::string(toString(side)) +
                           " has no usable default ServiceAccount after " +
                           std::to_string(timeout.count()) + " ms" +
                           " (are virtualClusterControllers on?); last seen: " + seen);
}

}  // namespace bisync::testing
