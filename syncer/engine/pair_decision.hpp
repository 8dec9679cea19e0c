// The Reconciler's decisions for one source object and the object at its target key, as pure
// functions of the two objects (as the caches hold them), the policy and the mapper: who the
// target object is (our copy, one to adopt, a clash), what each side must be written (create,
// update, restore a drifted copy, nothing), with which preconditions, what becomes of a write
// the target refuses, and when a fight holds the restoring back. reconciler.cpp gathers the
// inputs from the caches and carries the decisions out; the table tests in
// tests/unit/pair_decision_test.cpp drive them directly. No I/O. docs/sync-engine.md.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "policies/merge.hpp"
#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "policies/sync_plan.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::engine {

// Being deleted: a deletionTimestamp, or (a namespace) phase Terminating.
bool isTerminating(const kube::JsonValue& object);

// Who the object at the mapped target key is to the source being reconciled.
enum class TargetRole {
  Absent,   // nothing there yet
  OurCopy,  // our copy of this source
  Adopted,  // the object this source was copied up from (createOnSource), by the record
  Clash,    // the copy of another source, or not ours: reported, never written
};

struct TargetVerdict {
  TargetRole role = TargetRole::Absent;
  std::string clash;  // why it is left alone, for Clash
};

// `target` is the object at `targetKey` (nullptr: none) in a target namespace of ours;
// `copiedUp`: the record says this source was copied up from it.
TargetVerdict judgeTarget(const mapping::IdentityMapper& mapper, const mapping::SourceKey& source,
                          std::string_view what, const kube::JsonValue* target, bool copiedUp);

// What a target write does.
enum class TargetWrite {
  None,     // the target holds what the syncer would write (or a copy is not to be made)
  Create,   // no copy yet
  Update,   // the source (or the merge) changed since the last write
  Restore,  // the copy holds our last write no more: someone else changed it (drift)
};

// The apply configuration of a target copy, with the hash that says whether a target holds it.
struct TargetApply {
  kube::Json body;
  std::string lastSynced;  // its last-synced annotation: "sha256:" + its writtenHash
  std::string digest;      // the writtenDigest a compact target copy holding it carries
};

struct PairInputs {
  const mapping::IdentityMapper& mapper;
  const kube::ResourceInfo& resource;
  const policies::SyncPolicy& policy;
  const policies::OwnershipMap& ownership;
  const policies::BaseForm& baseForm;  // empty unless the kind's values are secret
  std::string_view fieldManager;       // ours: its managedFields entries are not "the other side"
  mapping::SourceKey key;
  mapping::TargetKey target;
  const kube::JsonValue& source;  // the synced source object
  // The translator's target object of `source` (references mapped): the source-owned fields
  // the target gets are taken from it, the rest of the plan from the two objects.
  const kube::JsonValue& translated;
  const kube::JsonValue* actual;     // the object at the target key; nullptr when none
  const kube::JsonValue* mergeBase;  // the merge base the copy carries; nullptr when none
  const kube::JsonValue& ownerRefs;  // the copy's owner references (an array)
  bool copiedUp = false;             // see judgeTarget
  std::string_view targetVersion;    // the cached copy's resourceVersion, the precondition
  // `actual` as the source sees it (Translator::toSourceView): what the target owns travels up
  // from it. nullptr: `actual` itself.
  const kube::JsonValue* actualForSource = nullptr;
};

struct PairDecision {
  TargetVerdict target;
  // Why nothing is written at all (the source's travelling fields exceed maxObjectBytes).
  std::optional<std::string> rejected;
  // The two objects' fields that may travel (syncView), which the plan was made of.
  kube::Json sourceView{rapidjson::kObjectType};
  kube::Json targetView{rapidjson::kObjectType};
  policies::SyncPlan plan;
  std::vector<std::string> contested;  // the paths of the plan's conflicts
  TargetApply apply;
  bool writeSource = false;  // the plan gives the source fields it does not hold
  TargetWrite targetWrite = TargetWrite::None;
  // The copy is of an earlier incarnation of the source (deleted and made again under its name)
  // and holds fields the target owns or shares: merged, they would travel up into the new
  // object as if set for it. The copy is replaced instead; nothing else is decided.
  bool replaceEarlierIncarnation = false;
};

// A failure here is one of the source's own metadata (stampOrigin refuses it).
kube::Result<PairDecision> decidePair(const PairInputs& in);

// What becomes of a target write the server refused.
enum class Refusal {
  ReplaceEarlierIncarnation,  // the copy is of an earlier incarnation of the source: replace it
  ReportImmutable,            // an immutable field, onImmutable: report: no retry
  RecreateImmutable,          // an immutable field, onImmutable: recreate: replace the copy
  Rejected,                   // the target rejects the object: reported, retried with backoff
  Forbidden,                  // 403: RBAC refuses the write: reported, retried with backoff
  Retry,                      // a failure a retry may cure (conflict, 429, 5xx, network)
};

// `actual` is the copy that was to be updated (nullptr for a create).
Refusal judgeRefusal(const kube::Error& error, const mapping::IdentityMapper& mapper,
                     const kube::JsonValue* actual, const kube::JsonValue& source,
                     policies::OnImmutable onImmutable);

// Kubernetes answers that retrying the same write cannot fix: the user must change something.
bool isRejection(const kube::Error& error);

// The target keys whose objects must go (if they are our copies of this source): those at a
// name the mapping no longer gives it, and, once the source is not synced, the one at its key.
std::vector<std::string> unwantedTargets(const std::set<std::string>* misplaced, bool sourceSynced,
                                         bool targetPresent, const std::string& targetKey);

// Fight detection (docs/sync-engine.md, "Fights"): a copy that someone else keeps rewriting is
// not restored for a while, the pause doubling while the fight goes on.
struct FightOptions {
  std::chrono::steady_clock::duration window;
  int threshold = 3;  // more rewrites than this within the window start a fight
  std::chrono::milliseconds backoff;
  std::chrono::milliseconds backoffMax;
};

struct FightState {
  std::deque<std::chrono::steady_clock::time_point> rewrites;  // within the window
  int level = 0;  // backoffs so far; the delay doubles with each
  std::chrono::steady_clock::time_point backoffUntil{};
};

struct FightVerdict {
  bool hold = false;                           // do not restore now
  std::chrono::steady_clock::duration wait{};  // when to look again, while holding
  bool started = false;                        // this call began a backoff: report it
  std::size_t rewrites = 0;                    // the rewrites that began it
  std::chrono::milliseconds delay{};           // its length
  bool forget = false;                         // the state is no longer worth keeping
};

// `rewritten`: the copy held our last write and no longer does. Updates `state`.
FightVerdict judgeFight(FightState& state, std::chrono::steady_clock::time_point now,
                        bool rewritten, const FightOptions& options);

// apiVersion and kind of `resource`, metadata.name/namespace, and resourceVersion as a
// precondition unless empty: the start of an apply configuration.
kube::Json skeletonOf(const kube::ResourceInfo& resource, std::string_view ns,
                      std::string_view name, std::string_view resourceVersion);

// Writes every member of `fields` into `object`, recursing where both hold an object.
void overlay(kube::JsonValue& object, const kube::JsonValue& fields,
             kube::Json::AllocatorType& allocator);

}  // namespace bisync::engine
