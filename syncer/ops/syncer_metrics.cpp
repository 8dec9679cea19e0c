#include "syncer/ops/syncer_metrics.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace bisync::ops {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

MetricFamily family(std::string name, std::string help, MetricType type) {
  return MetricFamily{std::move(name), std::move(help), type, {}};
}

void add(MetricFamily& family, double value, Labels labels = {}) {
  family.samples.push_back({std::move(labels), value, ""});
}

MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily out = family(std::move(name), std::move(help), type);
  add(out, value);
  return out;
}

// Resident bytes and CPU seconds of this process, from /proc/self (0 where unreadable).
struct ProcessFigures {
  double residentBytes = 0;
  double cpuSeconds = 0;
};

ProcessFigures processFigures() {
  ProcessFigures figures;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream statm("/proc/self/statm");
  double sizePages = 0;
  double residentPages = 0;
  if (statm >> sizePages >> residentPages) figures.residentBytes = residentPages * page;
  std::ifstream stat("/proc/self/stat");
  const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces), from field 3 on: utime and stime are
  // fields 14 and 15.
  const auto close = text.rfind(')');
  if (close != std::string::npos && tick > 0) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0;
    double stime = 0;
    for (int index = 3; rest >> field; ++index) {
      if (index == 14) utime = std::strtod(field.c_str(), nullptr);
      if (index == 15) {
        stime = std::strtod(field.c_str(), nullptr);
        break;
      }
    }
    figures.cpuSeconds = (utime + stime) / tick;
  }
  return figures;
}

MetricFamily durationHistogram(std::string name, std::string help,
                               const engine::DurationStats& stats) {
  std::vector<double> bounds;
  for (const auto bound : engine::DurationStats::kBounds) {
    bounds.push_back(std::chrono::duration<double>(bound).count());
  }
  return histogram(std::move(name), std::move(help), bounds,
                   std::vector<std::uint64_t>(stats.buckets.begin(), stats.buckets.end()),
                   std::chrono::duration<double>(stats.sum).count());
}

void addWrites(MetricFamily& writes, const std::string& side, const engine::WriteCounts& counts) {
  add(writes, static_cast<double>(counts.applies), {{"side", side}, {"operation", "apply"}});
  add(writes, static_cast<double>(counts.patches), {{"side", side}, {"operation", "patch"}});
  add(writes, static_cast<double>(counts.creates), {{"side", side}, {"operation", "create"}});
  add(writes, static_cast<double>(counts.deletes), {{"side", side}, {"operation", "delete"}});
}

void addSyncerMetrics(std::vector<MetricFamily>& out, const engine::Syncer& syncer) {
  const engine::SyncerStats& stats = syncer.stats();
  constexpr MetricType kCounter = MetricType::Counter;
  constexpr MetricType kGauge = MetricType::Gauge;

  MetricFamily writes = family("kube_bisync_writes_total",
                               "Writes to synced objects, by side and operation.", kCounter);
  addWrites(writes, "target", stats.target);
  addWrites(writes, "source", stats.source);
  out.push_back(std::move(writes));
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t value;
  };
  for (const Counter& counter : {
           Counter{"kube_bisync_namespace_writes_total", "Target namespaces created or deleted.",
                   stats.namespaceWrites},
           Counter{"kube_bisync_unchanged_reconciles_total",
                   "Object reconciles that found both sides as the policy wants them.",
                   stats.unchanged},
           Counter{"kube_bisync_own_write_events_total",
                   "Watch events recognised as the syncer's own writes.", stats.ownWritesSeen},
           Counter{"kube_bisync_conflicts_total",
                   "owner: both fields changed on both sides since the last sync.",
                   stats.conflicts},
           Counter{"kube_bisync_takeovers_total", "Fields forced over another field manager.",
                   stats.takeovers},
           Counter{"kube_bisync_fights_total",
                   "Backoffs of keys whose fields someone else keeps rewriting.", stats.fights},
           Counter{"kube_bisync_clashes_total",
                   "Target objects in the way that the syncer must not touch.", stats.clashes},
           Counter{"kube_bisync_namespaces_kept_total",
                   "Times a target namespace of ours was kept: it holds objects the syncer does "
                   "not manage.",
                   stats.namespacesKept},
           Counter{"kube_bisync_malformed_annotations_total",
                   "merge-base or sync-status annotations that did not parse (treated as absent).",
                   stats.malformedAnnotations},
           Counter{"kube_bisync_events_total", "Kubernetes Events recorded.",
                   syncer.eventsRecorded()},
       }) {
    out.push_back(single(counter.name, counter.help, kCounter, static_cast<double>(counter.value)));
  }
  const engine::HostViewStats host = syncer.hostViewStats();
  MetricFamily eventCopies = family(
      "kube_bisync_event_copies_total",
      "Host Events about synced copies copied to the source objects, by operation.", kCounter);
  add(eventCopies, static_cast<double>(host.eventCopiesCreated), {{"operation", "create"}});
  add(eventCopies, static_cast<double>(host.eventCopiesUpdated), {{"operation", "update"}});
  add(eventCopies, static_cast<double>(host.foreignEvents), {{"operation", "foreign"}});
  out.push_back(std::move(eventCopies));
  MetricFamily nodeWrites = family(
      "kube_bisync_node_writes_total",
      "Writes to the source cluster's Nodes of host Nodes that run synced Pods, by operation.",
      kCounter);
  add(nodeWrites, static_cast<double>(host.nodesCreated), {{"operation", "create"}});
  add(nodeWrites, static_cast<double>(host.nodeRestores), {{"operation", "restore"}});
  add(nodeWrites, static_cast<double>(host.nodeStatusWrites), {{"operation", "status"}});
  add(nodeWrites, static_cast<double>(host.nodesDeleted), {{"operation", "delete"}});
  out.push_back(std::move(nodeWrites));
  out.push_back(single("kube_bisync_ready", "1 once the initial sync is complete.", kGauge,
                       syncer.ready() ? 1 : 0));
  out.push_back(single("kube_bisync_objects_over_limit",
                       "Source objects not copied because their namespace is over "
                       "maxObjectsPerNamespace.",
                       kGauge, static_cast<double>(stats.objectsOverLimit)));
  // Per kind and side: 1 once that side's discovery serves the kind, so that it syncs (both 1)
  // or waits for the side at 0.
  MetricFamily served =
      family("kube_bisync_resource_ready",
             "1 when the side serves the kind to sync (it syncs once both do), else 0.", kGauge);
  for (const engine::ResourceState& resource : syncer.resourceStates()) {
    add(served, resource.servedBySource ? 1 : 0,
        {{"side", "source"}, {"resource", resource.resource}});
    add(served, resource.servedByTarget ? 1 : 0,
        {{"side", "target"}, {"resource", resource.resource}});
  }
  out.push_back(std::move(served));
  MetricFamily initial = family("kube_bisync_initial_sync_keys",
                                "Keys of the initial sync: all of them, and those done.", kGauge);
  add(initial, static_cast<double>(stats.initialTotal), {{"state", "total"}});
  add(initial, static_cast<double>(stats.initialDone), {{"state", "done"}});
  out.push_back(std::move(initial));

  const engine::WorkQueueStats queue = syncer.queueStats();
  out.push_back(single("kube_bisync_queue_depth", "Keys waiting for a worker.", kGauge,
                       static_cast<double>(queue.depth)));
  out.push_back(single("kube_bisync_queue_in_flight", "Keys being reconciled.", kGauge,
                       static_cast<double>(queue.inFlight)));
  out.push_back(single("kube_bisync_queue_delayed", "Keys waiting for a delay or backoff.", kGauge,
                       static_cast<double>(queue.delayed)));
  MetricFamily reconciles =
      family("kube_bisync_reconciles_total", "Reconciles, by result.", kCounter);
  add(reconciles, static_cast<double>(queue.succeeded), {{"result", "done"}});
  add(reconciles, static_cast<double>(queue.failed), {{"result", "retry"}});
  out.push_back(std::move(reconciles));
  out.push_back(single("kube_bisync_queue_retries_total", "Keys re-queued with backoff.", kCounter,
                       static_cast<double>(queue.retries)));
  out.push_back(durationHistogram("kube_bisync_queue_wait_seconds",
                                  "From a key's first add to its hand-out to a worker.",
                                  queue.queueLatency));
  out.push_back(durationHistogram("kube_bisync_reconcile_seconds",
                                  "How long one reconcile took, its writes included.",
                                  queue.workDuration));

  MetricFamily objects =
      family("kube_bisync_cache_objects", "Objects in each informer cache.", kGauge);
  MetricFamily bytes = family("kube_bisync_cache_bytes",
                              "Bytes of stored object text in each informer cache.", kGauge);
  MetricFamily lists =
      family("kube_bisync_informer_lists_total", "Full lists of each informer.", kCounter);
  MetricFamily relists =
      family("kube_bisync_informer_relists_total",
             "Relists after 410 Gone, ERROR events and broken streams.", kCounter);
  for (const engine::CacheStats& cache : syncer.cacheStats()) {
    const Labels labels{{"side", cache.side}, {"resource", cache.resource}};
    add(objects, static_cast<double>(cache.objects), labels);
    add(bytes, static_cast<double>(cache.jsonBytes), labels);
    add(lists, static_cast<double>(cache.lists), labels);
    add(relists, static_cast<double>(cache.relists), labels);
  }
  out.push_back(std::move(objects));
  out.push_back(std::move(bytes));
  out.push_back(std::move(lists));
  out.push_back(std::move(relists));
}

void addEndpointMetrics(std::vector<MetricFamily>& out,
                        const std::vector<EndpointFigures>& endpoints) {
  MetricFamily open = family("kube_bisync_http_open_connections",
                             "Open connections of each HTTP endpoint.", MetricType::Gauge);
  MetricFamily rejected = family(
      "kube_bisync_http_rejected_connections_total",
      "Connections closed at once because the endpoint had its maximum open.", MetricType::Counter);
  MetricFamily failures =
      family("kube_bisync_http_accept_failures_total",
             "Failed accepts (out of file descriptors, ...), each followed by a wait.",
             MetricType::Counter);
  for (const EndpointFigures& endpoint : endpoints) {
    const Labels labels{{"address", endpoint.address}};
    add(open, static_cast<double>(endpoint.stats.openConnections), labels);
    add(rejected, static_cast<double>(endpoint.stats.rejectedConnections), labels);
    add(failures, static_cast<double>(endpoint.stats.acceptFailures), labels);
  }
  out.push_back(std::move(open));
  out.push_back(std::move(rejected));
  out.push_back(std::move(failures));
}

// 403 answers per (side, verb, resource), and whether any pair is refused right now.
void addForbiddenMetrics(std::vector<MetricFamily>& out, const kube::Client& source,
                         const kube::Client& target) {
  MetricFamily forbidden =
      family("kube_bisync_api_forbidden_total",
             "403 Forbidden answers per side, verb and resource.", MetricType::Counter);
  bool degraded = false;
  for (const auto& [side, client] :
       {std::pair<const char*, const kube::Client*>{"source", &source}, {"target", &target}}) {
    for (const auto& [pair, count] : client->forbidden().refusals()) {
      add(forbidden, static_cast<double>(count),
          {{"side", side}, {"verb", pair.verb}, {"resource", pair.resource}});
    }
    degraded = degraded || client->forbidden().degraded();
  }
  out.push_back(std::move(forbidden));
  out.push_back(single("kube_bisync_degraded",
                       "1 while an API server refuses (403) a verb on a resource the syncer needs.",
                       MetricType::Gauge, degraded ? 1 : 0));
}

}  // namespace

std::vector<MetricFamily> daemonMetrics(const engine::Syncer* syncer, const kube::Client& source,
                                        const kube::Client& target,
                                        const std::vector<EndpointFigures>& endpoints) {
  std::vector<MetricFamily> out;
  if (syncer != nullptr) addSyncerMetrics(out, *syncer);
  addEndpointMetrics(out, endpoints);

  MetricFamily requests =
      family("kube_bisync_api_requests_total", "Requests to each API server (watches included).",
             MetricType::Counter);
  MetricFamily retries =
      family("kube_bisync_api_retries_total",
             "Requests the client repeated after a retryable failure.", MetricType::Counter);
  MetricFamily throttled =
      family("kube_bisync_api_throttled_total",
             "Requests delayed by the client-side rate limit (--qps).", MetricType::Counter);
  for (const auto& [side, client] :
       {std::pair<const char*, const kube::Client*>{"source", &source}, {"target", &target}}) {
    const kube::ClientStats& stats = client->stats();
    add(requests, static_cast<double>(stats.requests), {{"side", side}});
    add(retries, static_cast<double>(stats.retries), {{"side", side}});
    add(throttled, static_cast<double>(stats.throttledWaits), {{"side", side}});
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(retries));
  out.push_back(std::move(throttled));
  addForbiddenMetrics(out, source, target);

  const ProcessFigures process = processFigures();
  out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                       MetricType::Gauge, process.residentBytes));
  out.push_back(single("process_cpu_seconds_total", "User and system CPU time in seconds.",
                       MetricType::Counter, process.cpuSeconds));
  // What of the resident memory the allocator has handed out: the rest is free heap it keeps.
  out.push_back(single("kube_bisync_heap_in_use_bytes", "Heap bytes allocated (glibc mallinfo2).",
                       MetricType::Gauge, static_cast<double>(mallinfo2().uordblks)));
  return out;
}

MetricFamily leaderMetric(bool leading) {
  return single("kube_bisync_leader",
                "1 while this replica holds the leader Lease and may write (1 without "
                "--leader-elect), else 0.",
                MetricType::Gauge, leading ? 1 : 0);
}

}  // namespace bisync::ops
