// The benchmark's objects and the work the driver does itself with the project's client:
// seeding the source, the baseline copy of scenario 1 and timed lists. The coroutines run on
// the LoopThread's io_context; runJobs() drives many of them from the main thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/bench/bench_kind.hpp"
#include "tests/support/loop_thread.hpp"

namespace bisync::bench {

namespace asio = boost::asio;

// The driver's own clients: unthrottled, for set-up, load and watching.
kube::ClientOptions driverClientOptions();
// The baselines' clients: what the daemon's main() gives its own, with its --qps and --burst.
kube::ClientOptions baselineClientOptions(double qps, int burst);

// Every source object of the benchmark carries this label (value: "true").
inline constexpr const char* kBenchLabel = "kube-bisync-bench/object";
inline const std::string kBenchSelector = std::string(kBenchLabel) + "=true";

// `value` in decimal, zero-padded on the left to `width` digits: padded(7, 3) is "007".
std::string padded(std::size_t value, int width);
// "load-07": the i-th source namespace.
std::string sourceNamespace(std::size_t i);
// "cm-000042": the i-th object of `kind`; object i lives in namespace i % namespaces.
std::string objectName(const BenchKind& kind, std::size_t i);
// data.seq as stored: zero-padded, so an update never changes an object's size.
std::string seqText(std::uint64_t seq);

// An object of `kind` with the bench label and, as its content (a ConfigMap's data, a Widget's
// spec), {payload: <payloadBytes characters, different per object>, seq: seqText(0)}.
kube::Json benchObject(const BenchKind& kind, const std::string& ns, const std::string& name,
                       std::size_t index, std::size_t payloadBytes);

// Runs job(0) .. job(count - 1) with `workers` coroutines on `loop` and blocks until all are
// done. A job returns "" or what went wrong; the first failure is returned (the other jobs
// still run).
std::string runJobs(testing::LoopThread& loop, std::size_t count, std::size_t workers,
                    const std::function<asio::awaitable<std::string>(std::size_t)>& job);

// Creates `object` (which names its namespace), by POST, or by server-side apply as field
// manager `applyManager` when one is given; AlreadyExists counts as success, other failures are
// retried a few times. Returns "" or the last error.
asio::awaitable<std::string> createObject(kube::Client& client, const kube::ResourceInfo& resource,
                                          const kube::Json& object, std::string applyManager = "");

// Every page of a list of `resource` in `ns` ("" = all namespaces) with `selector`, `pageSize`
// objects a page (the informer's default is 500). The strings are copies: the coroutine may
// outlive the caller's temporaries.
asio::awaitable<kube::Result<std::vector<kube::ListResult>>> listPages(
    kube::Client& client, const kube::ResourceInfo& resource, std::string ns, std::string selector,
    std::int64_t pageSize);

std::size_t countItems(const std::vector<kube::ListResult>& pages);

// The copy the baseline creates of a source object of `kind`: its content, labels and
// annotations, the daemon's origin labels and annotations (so it is as big as the daemon's copy)
// under the managed-by value `owner`, in namespace `ns`.
kube::Json baselineCopy(const BenchKind& kind, const kube::JsonValue& source, const std::string& ns,
                        const std::string& owner);

}  // namespace bisync::bench
