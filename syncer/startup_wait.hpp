// The questions the daemon asks each API server before it syncs: its version (is it there?) and
// which cluster it belongs to. An API server that cannot be
// reached yet is waited for, as the informers would wait for it: each failure is logged as
// "<side> API server is not reachable yet: ... (asking again in N s)" and the question is asked
// again 1 s later, the wait doubling up to 30 s. Only answers end a wait.
//
// Coroutines on the client's loop (see syncer/kube/client.hpp for the coroutine rules).
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/resource.hpp"
#include "syncer/startup_checks.hpp"

namespace bisync::startup {

// Returns once the server answers /version, and logs its Kubernetes version.
boost::asio::awaitable<void> waitReachable(kube::Client& client, const std::string& side);

// The server's cluster, by the uid of its kube-system namespace. 403 and 404 are answers: a
// Config error naming the side, since without the uid the clusters cannot be told apart.
boost::asio::awaitable<kube::Result<ClusterIdentity>> clusterIdentity(kube::Client& client,
                                                                      const std::string& side);

}  // namespace bisync::startup
