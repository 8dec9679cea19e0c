// setFinalizer: the one writer of the syncer's finalizer (finalizer.hpp).
#include "syncer/engine/finalizer.hpp"
#include "syncer/engine/pair_decision.hpp"

namespace bisync::engine {

namespace {

// A busy object (a controller updating it all the time) is given a few chances; after that the
// caller's own retry (the work queue's backoff) takes over.
constexpr int kAttempts = 4;

}  // namespace

boost::asio::awaitable<kube::Result<FinalizerWrite>> setFinalizer(
    kube::Client& client, const kube::ResourceInfo& resource, const kube::JsonValue& object,
    std::string_view finalizer, bool present, const std::string& fieldManager) {
  kube::Json current;
  current.CopyFrom(object, current.GetAllocator());
  const std::string ns(kube::namespaceOf(object));
  const std::string name(kube::nameOf(object));
  kube::PatchOptions options;
  options.fieldManager = fieldManager;
  kube::Error lastError;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // The API server refuses new finalizers on an object being deleted.
    if (present && isTerminating(current)) co_return FinalizerWrite{};
    const std::optional<std::string> patch =
        present ? addFinalizerPatch(current, finalizer) : removeFinalizerPatch(current, finalizer);
    if (!patch) co_return FinalizerWrite{};
    const kube::Result<kube::Json> patched =
        co_await client.patch(resource, ns, name, kube::PatchType::JsonPatch, *patch, options);
    if (patched) {
      co_return FinalizerWrite{true, std::string(kube::resourceVersionOf(*patched))};
    }
    if (patched.error().isNotFound()) co_return FinalizerWrite{};
    // 409: changed since it was read; 422: its finalizers differ from what was read.
    if (!patched.error().isConflict() && !patched.error().isInvalid()) {
      co_return kube::fail(patched.error());
    }
    lastError = patched.error();
    const std::string_view whole;
    kube::Result<kube::Json> fresh = co_await client.get(resource, ns, name, whole);
    if (!fresh) {
      if (fresh.error().isNotFound()) co_return FinalizerWrite{};
      co_return kube::fail(fresh.error());
    }
    current = std::move(*fresh);
  }
  co_return kube::fail(lastError);
}

boost::asio::awaitable<kube::Result<FinalizerSweep>> removeFinalizerFromAll(
    kube::Client& client, const kube::ResourceInfo& resource,
    std::function<bool(std::string_view ns)> selects, std::string finalizer,
    std::string fieldManager) {
  FinalizerSweep sweep;
  kube::ListOptions options;
  options.limit = 500;
  const std::string allNamespaces;
  do {
    kube::Result<kube::ListResult> page = co_await client.list(resource, allNamespaces, options);
    if (!page) co_return kube::fail(page.error());
    for (const kube::JsonValue& item : page->items().GetArray()) {
      if (!hasFinalizer(item, finalizer) || !selects(kube::namespaceOf(item))) continue;
      const kube::Result<FinalizerWrite> written =
          co_await setFinalizer(client, resource, item, finalizer, false, fieldManager);
      if (!written) {
        sweep.failures.push_back(std::string(kube::namespaceOf(item)) + "/" +
                                 std::string(kube::nameOf(item)) + ": " +
                                 written.error().describe());
      } else if (written->written) {
        ++sweep.removed;
      }
    }
    options.continueToken = page->continueToken;
  } while (!options.continueToken.empty());
  co_return sweep;
}

}  // namespace bisync::engine
