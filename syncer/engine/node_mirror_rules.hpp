// Host Nodes shown in the virtual cluster (docs/sync-engine.md, "Events and Nodes from the host"):
// every host Node that runs a synced Pod appears in the source cluster as a read-only Node of the
// same name, with the host Node's labels, taints, capacity, allocatable, conditions, addresses and
// nodeInfo, and goes when no synced Pod runs there any more. Heartbeats do not rewrite it: a
// condition's lastHeartbeatTime is not compared, so only a change of what a tenant can read
// (a condition's status, reason, message or transition, capacity, addresses, labels, nodeInfo)
// is written.
//
// Pure functions of objects, no I/O (the I/O is node_mirror.cpp).
#pragma once

#include <string>
#include <string_view>

#include "syncer/kube/json.hpp"

namespace bisync::engine {

// What the host Node informer keeps of a Node: identity, labels, spec.taints and
// spec.unschedulable, and of status capacity, allocatable, conditions, addresses and nodeInfo.
// Images, volumes and annotations (which change often and say nothing a tenant needs) are dropped.
void compactHostNode(kube::Json& node);

// The virtual Node to create for `hostNode`: its name, labels, taints and unschedulable, plus the
// annotations kube-bisync.io/created-from-target: <instance> (for people; the ownership record is
// the proof that it is ours) and kube-bisync.io/created-from-target-uid: <the host Node's uid>
// (madeFromHostNode). No status: that is written through the status subresource.
kube::Json virtualNodeOf(const kube::JsonValue& hostNode, std::string_view instance);
// Whether `virtualNode` is the one a creation from the host Node of uid `hostUid` made: what
// finishes an unfinished creation in the record, and nothing else (anyone can copy the
// annotation; only a recorded intent for that very host Node makes it count).
bool madeFromHostNode(const kube::JsonValue& virtualNode, std::string_view hostUid);

// `virtualNode` (the whole object, as read) with the labels, taints and unschedulable of
// `hostNode`: the body of an update that takes a tenant's edits back.
kube::Json withHostMetadata(const kube::JsonValue& virtualNode, const kube::JsonValue& hostNode,
                            std::string_view instance);
// `virtualNode` with the status of `hostNode`: the body of an update of the status subresource.
kube::Json withHostStatus(const kube::JsonValue& virtualNode, const kube::JsonValue& hostNode);

// What differs between the host Node and its virtual Node, in what a tenant reads. Conditions are
// compared without lastHeartbeatTime (by type, any order).
struct NodeDrift {
  bool metadata = false;  // labels, taints, unschedulable
  bool status = false;    // capacity, allocatable, conditions, addresses, nodeInfo
  bool any() const { return metadata || status; }
};
NodeDrift nodeDrift(const kube::JsonValue& hostNode, const kube::JsonValue& virtualNode);

enum class NodeAction {
  None,    // nothing to do: no virtual Node is wanted and none of ours is there
  Create,  // wanted and absent: create it, record it, write its status
  Sync,    // wanted and ours: write what drifted (nodeDrift)
  Remove,  // ours and no longer wanted (no synced Pod runs there, or the host Node went)
  Forget,  // recorded, but the virtual Node is gone or another one: drop the record entry
  Clash,   // wanted, but a Node of that name that is not ours is there: left alone
};
// `hostNode`: the host Node exists; `podsRun`: a synced Pod of ours runs on it; `virtualPresent`:
// the source has a Node of that name; `recorded`: the ownership record has an entry for it;
// `ours`: that entry names the virtual Node's uid.
NodeAction decideNode(bool hostNode, bool podsRun, bool virtualPresent, bool recorded, bool ours);

}  // namespace bisync::engine
