// NodeMirror: the host Nodes that run synced Pods, shown read-only in the source cluster
// (node_mirror_rules.hpp decides; this file does the I/O). Enabled once Pods sync, in prefix mode
// only: the ownership record proves which virtual Nodes the syncer made (a copied-up entry of
// resource "nodes" with the virtual Node's uid), and a Node it did not record is never touched.
// Two informers of its own (host Nodes, compacted; virtual Nodes), the count of our Pod copies
// per node from the target Pod informers (observePods), and a queue keyed by Node name whose
// workers start once the replica leads. docs/sync-engine.md, "Events and Nodes from the host".
//
// Loop-affine, like the Syncer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/engine/internal/pending_write.hpp"
#include "syncer/engine/node_mirror_rules.hpp"
#include "syncer/engine/ownership_record.hpp"
#include "syncer/engine/work_queue.hpp"
#include "syncer/kube/informer.hpp"

namespace bisync::engine::internal {

struct SyncState;

// The ResourceSync key of core v1 Pods (syncsPods), whose copies make their host Nodes appear.
inline constexpr std::string_view kPodsResource = "pods";

struct NodeMirrorStats {
  std::uint64_t created = 0;
  std::uint64_t metadataWrites = 0;  // labels, taints or unschedulable restored from the host
  std::uint64_t statusWrites = 0;    // status written through the status subresource
  std::uint64_t removed = 0;
};

class NodeMirror {
 public:
  explicit NodeMirror(SyncState& state);
  ~NodeMirror();
  NodeMirror(const NodeMirror&) = delete;
  NodeMirror& operator=(const NodeMirror&) = delete;

  // Pods sync now: the two Node informers start (once). Not in single namespace mode (no record),
  // nor when a policy mirrors Nodes itself: logged.
  void enable();
  bool enabled() const { return hosts_ != nullptr; }
  // The handlers of a target Pod informer, which also keep the count of our Pod copies per node.
  kube::InformerHandlers observePods(kube::InformerHandlers handlers);
  // The replica leads: the workers start.
  void start();
  boost::asio::awaitable<void> shutdown();
  std::vector<kube::Informer*> informers();
  // For the cache metrics; nullptr until enabled.
  const kube::Informer* hostNodes() const { return hosts_.get(); }
  const kube::Informer* virtualNodes() const { return virtuals_.get(); }
  const NodeMirrorStats& stats() const { return stats_; }

 private:
  boost::asio::awaitable<bool> handle(const std::string& node);
  // Notes the Pod copy `pod` (cached under its target key) on its node; `present` false: gone.
  void notePod(const kube::CachedObjectPtr& pod, bool present);
  // Whether a Pod copy of ours runs on `node` now (stale entries are dropped on the way).
  bool podsRunOn(const std::string& node);
  // The record's entry of `node`, an unfinished creation (an intent) settled against the
  // virtual Node `current`: finished when `current` is the Node the intent made, else
  // forgotten (nullopt). Fails when the record cannot be written.
  boost::asio::awaitable<kube::Result<std::optional<CopiedUp>>> settleIntent(
      const CopiedUp& intent, const kube::CachedObjectPtr& current);
  boost::asio::awaitable<bool> create(const std::string& node, const kube::JsonValue& host);
  boost::asio::awaitable<bool> sync(const std::string& node, const kube::JsonValue& host,
                                    kube::Json current);
  boost::asio::awaitable<bool> writeStatus(const std::string& node, const kube::JsonValue& host,
                                           const kube::JsonValue& current);
  boost::asio::awaitable<bool> remove(const std::string& node, std::string uid);

  SyncState& state_;
  WorkQueue queue_;
  bool started_ = false;
  std::unique_ptr<kube::Informer> hosts_;     // host Nodes, compactHostNode
  std::unique_ptr<kube::Informer> virtuals_;  // source Nodes, ours and the tenant's
  std::unordered_map<std::string, std::set<std::string>> podsByNode_;  // node -> Pod copy keys
  std::unordered_map<std::string, std::string> nodeOfPod_;             // Pod copy key -> node
  std::set<std::string> clashesReported_;
  std::unordered_map<std::string, PendingWrite> ownWrites_;  // node -> our last write of it
  NodeMirrorStats stats_;
};

}  // namespace bisync::engine::internal
