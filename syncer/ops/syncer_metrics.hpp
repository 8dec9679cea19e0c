// The daemon's metrics, as Prometheus families built at scrape time from the Syncer's counters,
// its caches, both clients and this process (/proc/self). docs/operations.md lists them.
// Loop-affine: call on the loop thread (it reads state the loop owns).
#pragma once

#include <vector>

#include "syncer/engine/syncer.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/ops/metrics.hpp"

namespace bisync::ops {

// `syncer` is nullptr while the daemon still waits for its API servers.
std::vector<MetricFamily> daemonMetrics(const engine::Syncer* syncer, const kube::Client& source,
                                        const kube::Client& target);

}  // namespace bisync::ops
