// A blocking HTTP GET for readiness checks (libcurl easy interface), independent of the
// syncer's asynchronous client so the testbed works even while that client is being changed.
#pragma once

#include <chrono>
#include <string>

namespace bisync::testing {

struct ProbeRequest {
  std::string url;
  std::string caFile;       // for https
  std::string bearerToken;  // empty: anonymous
  std::chrono::milliseconds timeout{2000};
};

struct ProbeResult {
  long status = 0;  // HTTP status; 0 when there was no answer
  std::string body;
  std::string error;  // curl's message when status == 0
};

ProbeResult httpGet(const ProbeRequest& request);

}  // namespace bisync::testing
