// Host Nodes shown in the virtual cluster (syncer/engine/node_mirror_rules.hpp): what is kept of a
// host Node, what the virtual Node holds, which differences are written (not heartbeats), and
// what happens to a Node name in each state.
#include <string>

#include "syncer/engine/node_mirror_rules.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using bisync::engine::compactHostNode;
using bisync::engine::decideNode;
using bisync::engine::NodeAction;
using bisync::engine::nodeDrift;
using bisync::engine::virtualNodeOf;
using bisync::engine::withHostMetadata;
using bisync::engine::withHostStatus;
using bisync::kube::Json;
using bisync::kube::JsonPointer;
using bisync::kube::stringAt;
using bisync::unit::canonical;
using bisync::unit::canonicalText;
using bisync::unit::parse;

const char* kHostNode = R"({"apiVersion":"v1","kind":"Node",
  "metadata":{"name":"node-1","uid":"h-n1","resourceVersion":"9",
    "labels":{"kubernetes.io/hostname":"node-1","zone":"a"},
    "annotations":{"node.alpha.kubernetes.io/ttl":"0"},"managedFields":[{"manager":"kubelet"}]},
  "spec":{"podCIDR":"10.0.1.0/24","taints":[{"key":"k","value":"v","effect":"NoSchedule"}]},
  "status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
    "allocatable":{"cpu":"3800m","memory":"7Gi","pods":"110"},
    "conditions":[
      {"type":"Ready","status":"True","reason":"KubeletReady","message":"ready",
       "lastHeartbeatTime":"2026-12-05T09:00:00Z","lastTransitionTime":"2026-12-05T08:00:00Z"},
      {"type":"MemoryPressure","status":"False","reason":"KubeletHasSufficientMemory",
       "message":"ok","lastHeartbeatTime":"2026-12-05T09:00:00Z",
       "lastTransitionTime":"2026-12-05T08:00:00Z"}],
    "addresses":[{"type":"InternalIP","address":"10.1.0.1"}],
    "nodeInfo":{"kubeletVersion":"v1.20.0","osImage":"sim"},
    "images":[{"names":["nginx"],"sizeBytes":1}],"daemonEndpoints":{}}})";

// The host Node as the informer keeps it.
Json hostNode() {
  Json node = parse(kHostNode);
  compactHostNode(node);
  return node;
}

// The virtual Node as the syncer leaves it after creating it and writing its status.
Json syncedVirtualNode() {
  const Json host = hostNode();
  Json created = virtualNodeOf(host, "vc");
  JsonPointer("/metadata/uid").Set(created, "v-n1");
  return withHostStatus(created, host);
}

}  // namespace

TEST_CASE("the host Node cache keeps labels, taints and the status a tenant reads", "[nodes]") {
  CHECK(canonical(hostNode()) == canonicalText(R"({
    "metadata":{"name":"node-1","uid":"h-n1","resourceVersion":"9",
      "labels":{"kubernetes.io/hostname":"node-1","zone":"a"}},
    "spec":{"taints":[{"key":"k","value":"v","effect":"NoSchedule"}]},
    "status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
      "allocatable":{"cpu":"3800m","memory":"7Gi","pods":"110"},
      "conditions":[
        {"type":"Ready","status":"True","reason":"KubeletReady","message":"ready",
         "lastHeartbeatTime":"2026-12-05T09:00:00Z","lastTransitionTime":"2026-12-05T08:00:00Z"},
        {"type":"MemoryPressure","status":"False","reason":"KubeletHasSufficientMemory",
         "message":"ok","lastHeartbeatTime":"2026-12-05T09:00:00Z",
         "lastTransitionTime":"2026-12-05T08:00:00Z"}],
      "addresses":[{"type":"InternalIP","address":"10.1.0.1"}],
      "nodeInfo":{"kubeletVersion":"v1.20.0","osImage":"sim"}}})"));
}

TEST_CASE(
    "the virtual Node carries the host Node's name, labels and taints, marked as made from "
    "the target",
    "[nodes]") {
  const Json node = virtualNodeOf(hostNode(), "vc");
  CHECK(canonical(node) == canonicalText(R"({"apiVersion":"v1","kind":"Node",
    "metadata":{"name":"node-1","labels":{"kubernetes.io/hostname":"node-1","zone":"a"},
      "annotations":{"kube-bisync.io/created-from-target":"vc",
        "kube-bisync.io/created-from-target-uid":"h-n1"}},
    "spec":{"taints":[{"key":"k","value":"v","effect":"NoSchedule"}]}})"));
  CHECK_FALSE(nodeDrift(hostNode(), syncedVirtualNode()).any());
}

TEST_CASE("only the virtual Node made from that host Node finishes an unfinished creation",
          "[nodes]") {
  Json node = virtualNodeOf(hostNode(), "vc");
  CHECK(bisync::engine::madeFromHostNode(node, "h-n1"));
  CHECK_FALSE(bisync::engine::madeFromHostNode(node, "h-other"));
  CHECK_FALSE(bisync::engine::madeFromHostNode(node, ""));
  // A tenant's Node without the annotation, or with an empty one, proves nothing.
  JsonPointer("/metadata/annotations/kube-bisync.io~1created-from-target-uid").Set(node, "");
  CHECK_FALSE(bisync::engine::madeFromHostNode(node, ""));
  const Json tenant = parse(R"({"metadata":{"name":"node-1"}})");
  CHECK_FALSE(bisync::engine::madeFromHostNode(tenant, "h-n1"));
}

TEST_CASE("heartbeats do not make a virtual Node drift", "[nodes]") {
  Json host = hostNode();
  JsonPointer("/status/conditions/0/lastHeartbeatTime").Set(host, "2026-12-05T09:00:10Z");
  JsonPointer("/status/conditions/1/lastHeartbeatTime").Set(host, "2026-12-05T09:00:10Z");
  JsonPointer("/metadata/resourceVersion").Set(host, "10");
  CHECK_FALSE(nodeDrift(host, syncedVirtualNode()).any());
}

TEST_CASE("a changed condition, capacity, address or nodeInfo is status drift", "[nodes]") {
  const Json virtualNode = syncedVirtualNode();
  for (const auto& [pointer, value] :
       {std::pair<const char*, const char*>{"/status/conditions/0/status", "False"},
        {"/status/conditions/0/reason", "KubeletNotReady"},
        {"/status/conditions/1/message", "low"},
        {"/status/conditions/0/lastTransitionTime", "2026-12-05T09:00:05Z"},
        {"/status/capacity/cpu", "8"},
        {"/status/allocatable/pods", "100"},
        {"/status/addresses/0/address", "10.1.0.2"},
        {"/status/nodeInfo/kubeletVersion", "v1.21.0"}}) {
    Json host = hostNode();
    JsonPointer(pointer).Set(host, value);
    INFO(pointer);
    CHECK(nodeDrift(host, virtualNode).status);
    CHECK_FALSE(nodeDrift(host, virtualNode).metadata);
  }
}

TEST_CASE(
    "a tenant's label, taint or status edit of the virtual Node is drift that the host's "
    "values replace",
    "[nodes]") {
  const Json host = hostNode();
  Json edited = syncedVirtualNode();
  JsonPointer("/metadata/labels/tenant").Set(edited, "x");
  JsonPointer("/spec/unschedulable").Set(edited, true);
  JsonPointer("/status/capacity/cpu").Set(edited, "64");
  CHECK(nodeDrift(host, edited).metadata);
  CHECK(nodeDrift(host, edited).status);
  const Json restored = withHostStatus(withHostMetadata(edited, host, "vc"), host);
  CHECK_FALSE(nodeDrift(host, restored).any());
  CHECK(stringAt(restored, "/metadata/uid") == "v-n1");  // the update names the same Node
  CHECK(stringAt(restored, "/metadata/annotations/kube-bisync.io~1created-from-target") == "vc");
}

TEST_CASE("a virtual Node is made while a synced Pod runs on its host Node and removed after",
          "[nodes]") {
  // hostNode, podsRun, virtualPresent, recorded, ours
  CHECK(decideNode(true, true, false, false, false) == NodeAction::Create);
  CHECK(decideNode(true, true, true, true, true) == NodeAction::Sync);
  CHECK(decideNode(true, false, true, true, true) == NodeAction::Remove);
  CHECK(decideNode(false, true, true, true, true) == NodeAction::Remove);
  CHECK(decideNode(true, false, false, false, false) == NodeAction::None);
}

TEST_CASE("a Node the syncer did not record is never taken over or removed", "[nodes]") {
  CHECK(decideNode(true, true, true, false, false) == NodeAction::Clash);
  CHECK(decideNode(true, false, true, false, false) == NodeAction::None);
  CHECK(decideNode(false, false, true, false, false) == NodeAction::None);
  // Recorded, but the Node there now is another one (the tenant deleted ours and made its own).
  CHECK(decideNode(true, true, true, true, false) == NodeAction::Forget);
  CHECK(decideNode(true, true, false, true, false) == NodeAction::Forget);
}
