// What a target namespace holds besides the syncer's copies, asked before the syncer deletes a
// namespace of its own: every namespaced resource the server serves (by discovery) is listed
// in it. What every namespace gets by itself (the default ServiceAccount and its token Secret,
// kube-root-ca.crt, Events) does not count. Private to syncer/engine.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"

namespace bisync::engine::internal {

struct NamespaceContents {
  std::vector<std::string> others;  // "<resource>/<name>", at most the number asked for
  bool more = false;                // there are more than `others` names
  // Why the contents are unknown (discovery or a list failed, e.g. forbidden): the namespace
  // must then be treated as not empty.
  std::string error;
};

// The objects in `ns` on `client`'s server, except those in `ignore` ("<resource>/<name>") and
// the namespace's own defaults; at most `limit` named.
boost::asio::awaitable<NamespaceContents> namespaceContents(kube::Client& client,
                                                            const std::string& ns,
                                                            const std::set<std::string>& ignore,
                                                            std::size_t limit);

// Every namespaced, listable resource the server serves (Events aside), in the preferred version
// of its group.
boost::asio::awaitable<kube::Result<std::vector<kube::ResourceInfo>>> namespacedResources(
    kube::Client& client);

}  // namespace bisync::engine::internal
