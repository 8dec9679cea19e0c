// The testbeds shared by the tests of one binary, one per feature set (testbed.hpp).
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/support/testbed.hpp"

namespace bisync::testing {

namespace {
struct SharedTestbed {
  std::unique_ptr<Testbed> instance;
  std::optional<std::string> failure;
};
std::mutex sharedMutex;
TestbedFeatures sharedDefaultFeatures;
std::map<TestbedFeatures, SharedTestbed> sharedInstances;
}  // namespace

Testbed& sharedTestbed() {
  TestbedFeatures features;
  {
    std::lock_guard lock(sharedMutex);
    features = sharedDefaultFeatures;
  }
  return sharedTestbed(features);
}

Testbed& sharedTestbed(TestbedFeatures features) {
  std::lock_guard lock(sharedMutex);
  SharedTestbed& shared = sharedInstances[features];
  if (shared.failure) {
    throw std::runtime_error("the shared testbed failed to start earlier: " + *shared.failure);
  }
  if (!shared.instance) {
    try {
      TestbedOptions options = TestbedOptions::fromEnvironment();
      options.scheduler = features.scheduler;
      options.virtualClusterControllers = features.virtualClusterControllers;
      shared.instance = std::make_unique<Testbed>(std::move(options));
    } catch (const std::exception& e) {
      shared.failure = e.what();
      throw;
    }
  }
  return *shared.instance;
}

void setSharedTestbedFeatures(TestbedFeatures features) {
  std::lock_guard lock(sharedMutex);
  sharedDefaultFeatures = features;
}

void shutdownSharedTestbed() {
  std::lock_guard lock(sharedMutex);
  sharedInstances.clear();
}

}  // namespace bisync::testing
