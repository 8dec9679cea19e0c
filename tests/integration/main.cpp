// Catch2 main of the integration test binaries: the shared testbed (started by the first test
// that asks for it) is torn down after the session, and on SIGINT/SIGTERM/SIGHUP its servers
// are killed and its folder removed before the process exits.
#define CATCH_CONFIG_RUNNER
#include <curl/curl.h>

#include <exception>
#include <iostream>

#include "tests/support/catch.hpp"
#include "tests/support/signal_teardown.hpp"
#include "tests/support/testbed.hpp"

int main(int argc, char* argv[]) {
  // First, before any thread exists, so that every thread has the signals blocked.
  bisync::testing::SignalTeardown signals;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int result = 1;
  try {
    result = Catch::Session().run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "integration tests: " << e.what() << "\n";
  }
  bisync::testing::shutdownSharedTestbed();
  curl_global_cleanup();
  return result;
}
