// Reading the chaos workload's objects from the servers: what model.hpp compares. I/O on a
// kube::Client (on its loop); the conversion of one object is pure.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/chaos/model.hpp"

namespace bisync::chaos {

kube::ResourceInfo resourceOf(Kind kind);
// The target namespace of source namespace `ns` (prefix mode: "<cluster>--<ns>").
std::string targetNamespace(const std::string& cluster, const std::string& ns);

// The annotation kube-bisync.io/source-uid of `object` (a copy the syncer made); "" without one.
std::string sourceUidOf(const kube::JsonValue& object);

// What the checker compares of `object`, a `kind` read from either side.
Observed observedOf(const kube::JsonValue& object, Kind kind);

// Where the workload's objects live: its source namespaces and, on the target, what they map to.
struct Scope {
  std::string cluster;
  std::vector<std::string> namespaces;  // source namespaces
};
// The source namespace `ns` of one side stands for; "" when it is outside the scope.
std::string sourceNamespaceOf(const std::string& ns, bool target, const Scope& scope);

// Every object of every chaos kind in the scope on one side, filed under source namespaces.
// One list per kind, cluster-wide: a snapshot is one read of each kind, not one per namespace.
boost::asio::awaitable<kube::Result<Snapshot>> readSnapshot(kube::Client& client, bool target,
                                                            const Scope& scope);

}  // namespace bisync::chaos
