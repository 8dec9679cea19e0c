// The daemon's metrics, as Prometheus families built at scrape time from the Syncer's counters,
// its caches, both clients, its HTTP endpoints and this process (/proc/self).
// docs/operations.md lists them.
// Loop-affine: call on the loop thread (it reads state the loop owns).
#pragma once

#include <string>
#include <vector>

#include "syncer/engine/syncer.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/ops/http_endpoint.hpp"
#include "syncer/ops/metrics.hpp"

namespace bisync::ops {

// One of the daemon's HTTP endpoints, by the address it listens on ("127.0.0.1:8081").
struct EndpointFigures {
  std::string address;
  HttpEndpointStats stats;
};

// `syncer` is nullptr while the daemon still waits for its API servers.
std::vector<MetricFamily> daemonMetrics(const engine::Syncer* syncer, const kube::Client& source,
                                        const kube::Client& target,
                                        const std::vector<EndpointFigures>& endpoints);

// kube_bisync_leader: 1 while this replica leads (always 1 without --leader-elect), else 0.
MetricFamily leaderMetric(bool leading);

}  // namespace bisync::ops
