// Informer: keeps a Store in step with one resource type on one API server and tells
// handlers what changed. List, then watch from the list's resourceVersion; bookmarks
// advance it. On a 410 Gone, an ERROR event or a broken stream it relists and diffs the
// cache against the fresh list, so deletions missed while disconnected are delivered as
// deletes. Reconnects back off exponentially with jitter. A watch the server ends normally
// (its timeout) is resumed from the last resourceVersion without relisting.
//
// A relist swaps in the complete fresh list, then calls onAdd for new keys, onUpdate for a
// changed resourceVersion (or uid) and onDelete for keys the list no longer has; objects whose
// version did not change are kept as they are and reported to no handler. onDelete gets the
// object's final state from a DELETED event, or the last cached state after a relist.
//
// Loop-affine: runs as a coroutine on the Client's io_context; handlers are called there, with
// the Store already updated. Destroy the Informer before that io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/store.hpp"

namespace bisync::kube {

struct InformerHandlers {
  std::function<void(const CachedObjectPtr& object)> onAdd;
  std::function<void(const CachedObjectPtr& old, const CachedObjectPtr& current)> onUpdate;
  std::function<void(const CachedObjectPtr& last)> onDelete;
};

// Rewrites an object before it is stored (client-go's SetTransform). The default removes
// metadata.managedFields.
using ObjectTransform = std::function<void(Json& object)>;
void stripManagedFields(Json& object);

struct InformerOptions {
  std::string ns;  // "" = all namespaces
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t pageSize = 500;
  std::chrono::milliseconds backoffInitial{800};
  std::chrono::milliseconds backoffMax{30000};
  // A watch that stayed up this long resets the backoff to backoffInitial.
  std::chrono::milliseconds backoffResetAfter{60000};
  // Server-side watch timeout, randomised in [min, 2*min) like client-go's reflector.
  std::chrono::seconds watchTimeoutMin{300};
  ObjectTransform transform = stripManagedFields;
  // Told of every failed list, before the backoff wait (the syncer takes a 404 as a hint that the
  // kind went away, and looks it up at once). Called on the loop; it must not stop this informer.
  std::function<void(const Error& error)> onListError;
};

struct InformerStats {
  std::uint64_t lists = 0;    // completed full lists (the first one included)
  std::uint64_t watches = 0;  // watch requests started
  std::uint64_t relistsAfterGone = 0;
  std::uint64_t relistsAfterError = 0;  // ERROR events and broken streams
  std::uint64_t bookmarks = 0;
  std::string lastError;
};

class Informer {
 public:
  Informer(Client& client, ResourceInfo resource, InformerOptions options,
           InformerHandlers handlers);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts the list/watch loop on the client's io_context. Call once, from the loop thread
  // or before the loop runs.
  void start();
  // Ends the loop: cancels the watch and any backoff wait. Handlers are not called after
  // (when stop() runs on the loop thread; from another thread, a handler already running
  // finishes). The destructor calls it.
  void stop();

  // True from start() until the loop coroutine has returned, which may be a little after
  // stop(): a list request in flight is not interrupted. Destroy the Client only after.
  bool running() const;
  bool hasSynced() const;  // true once the first list has been stored
  // Completes when hasSynced() is true (immediately if already so), or when the informer is
  // stopped before it synced: check hasSynced() after.
  boost::asio::awaitable<void> waitForSync();

  const Store& store() const;
  const ResourceInfo& resource() const;
  const std::string& lastResourceVersion() const;
  const InformerStats& stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bisync::kube
