// `kube-bisync --remove-finalizers`: the one-shot command of an uninstall (docs/operations.md,
// "Upgrading and uninstalling"). It connects to the source only, lists the objects of every kind
// the daemon would sync (namespaced kinds, in the namespaces it would sync) and takes the
// syncer's finalizer kube-bisync.io/cleanup off each that carries it, leaving every other
// finalizer as it is. Without it, source objects deleted once the daemon is gone would wait for
// ever for a syncer that no longer runs.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/engine/syncer.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::startup {

struct FinalizerRemoval {
  std::size_t kinds = 0;    // kinds listed
  std::size_t removed = 0;  // objects our finalizer was taken off
  std::size_t failed = 0;   // objects it could not be taken off (each printed on stderr)
  std::size_t skipped = 0;  // kinds the source does not serve, or cluster-scoped ones
};

// Lists the objects of each of `kinds` in the namespaces `namespaces` selects and removes our
// finalizer from each that has it, printing a line per kind; `fieldManager` names the writes.
boost::asio::awaitable<FinalizerRemoval> removeFinalizers(
    kube::Client& source, const std::vector<kube::ResourceSpec>& kinds,
    const engine::NamespaceSelection& namespaces, const std::string& fieldManager);

}  // namespace bisync::startup
