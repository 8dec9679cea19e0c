// The Syncer's state, shared by syncer.cpp (wiring, start-up, shutdown) and reconciler.cpp
// (what one key's reconcile does). Private to syncer/engine. Loop-affine, like the Syncer.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mapping/identity_mapper.hpp"
#include "policies/merge.hpp"
#include "policies/ownership.hpp"
#include "policies/policy.hpp"
#include "syncer/engine/cache_forms.hpp"
#include "syncer/engine/event_recorder.hpp"
#include "syncer/engine/internal/pending_write.hpp"
#include "syncer/engine/ownership_record.hpp"
#include "syncer/engine/pair_decision.hpp"
#include "syncer/engine/sync_key.hpp"
#include "syncer/engine/syncer.hpp"
#include "syncer/engine/work_queue.hpp"
#include "syncer/kube/client.hpp"
#include "syncer/kube/discovery.hpp"
#include "syncer/kube/informer.hpp"
#include "translators/translator.hpp"

namespace bisync::engine::internal {

class EventCopies;  // event_copies.hpp
class NodeMirror;   // node_mirror.hpp

// The target refused to change a copy because a field of it is immutable (onImmutable: report).
// The same write is not tried again while it would be the same: same copy incarnation, same
// apply configuration (its last-synced value). Not the source's resourceVersion alone: the
// syncer's own sync-status annotation moves it on with every report.
struct ImmutableRefusal {
  std::string targetUid;   // the copy that refused
  std::string lastSynced;  // what the refused apply carried as last-synced
};

// One synced resource type: its translator and policy, the informers of both sides and the
// indexes the reconciler needs.
struct ResourceSync {
  // "configmaps" for the core group, "<plural>.<group>" otherwise ("deployments.apps"): the
  // resource part of its queue keys, and its name in logs and metrics.
  std::string key;
  // The kind as the user named it (--resources, a policy): what it is looked up by again
  // once it has gone away. crdMirror: it is the CRD mirror's own kind (WaitingResource).
  kube::ResourceSpec spec;
  bool crdMirror = false;
  // The kind went away from a side (resources.cpp, "a kind that disappears"): its informers
  // are stopped and its keys are not reconciled, so nothing is written or deleted for it, until
  // both sides serve it again and it restarts like a kind that appears. It stays in
  // SyncState::resources meanwhile: reconciles and loops hold references across co_await.
  bool suspended = false;
  // Reconciles of the kind that are running (ReconcileInFlight). One that began before a stop
  // goes on to its end, and may write and record a pending write meanwhile: the kind resumes
  // only once none is left, and forgets those records then (lookUp, addResource).
  int reconcilesInFlight = 0;
  // Whether each side serves it through a CustomResourceDefinition, whose deletion then stops it
  // before the objects the deletion removes are taken for deleted by a user.
  bool sourceCrd = false;
  bool targetCrd = false;
  // Keys that came before the source informers had listed: the reconcile would take an object
  // they have not listed yet for a deleted one. Queued again once they have.
  std::set<std::string> heldKeys;
  const translators::Translator* translator = nullptr;     // the kind's plugin, or ownTranslator
  std::unique_ptr<translators::Translator> ownTranslator;  // the generic one, made for this kind
  // The resource as the source serves it; the target's is translator->resource(). Both have one
  // group, version and kind, but may differ in their subresources (a CRD with /status on one
  // side only).
  kube::ResourceInfo sourceResource;
  // A cluster-scoped kind: under direction up its target objects are mirrored into the source
  // (cluster_mirror.cpp), under direction down its source objects are copied to the target as
  // `<cluster>-<name>` (cluster_copies.cpp); one informer per side under "", whatever the
  // namespaces.
  bool clusterScoped = false;
  // Set for the CRD mirror only: the kinds whose CustomResourceDefinition is copied from the
  // target (policies with `crd: fromTarget`). Only their CRDs are mirrored, and never deleted.
  std::vector<kube::GroupVersionKind> mirroredCrds;
  // Set for the CRD mirror only: the kinds whose CRD is copied from the source to the target
  // (`crd: fromSource`, crd_copies.cpp). Never deleted either.
  std::vector<kube::GroupVersionKind> copiedCrds;
  policies::SyncPolicy policy;
  std::optional<policies::OwnershipMap> ownership;
  bool sharedFields = false;  // the policy has `owner: both` rules: a merge base is kept
  // How the merge base holds values: digests for kinds whose values are secret, else as they are.
  policies::BaseForm baseForm;
  // createOnSource (prefix mode, direction up or bidirectional): objects made in a mapped target
  // namespace are created on the source.
  bool createsOnSource = false;
  CacheForms forms;  // what the informers keep of each object (cache_forms.hpp)
  // Source informers by namespace: one per listed namespace, or one under "" for all.
  std::map<std::string, std::unique_ptr<kube::Informer>, std::less<>> source;
  // Target informers by target namespace: one for each namespace this instance owns (prefix
  // mode) or the one target namespace (single mode), never more, so that an instance's memory
  // and API load do not depend on other tenants' objects. Each holds every object of the kind
  // in its namespace, objects not ours as stubs: complete, so an object missing from a synced
  // one does not exist.
  std::map<std::string, std::unique_ptr<kube::Informer>, std::less<>> targets;
  // Source "ns/name" -> our target copies of it that are not at the key the mapper gives it
  // (left by a change of the mapping). The copy at the mapped key is looked up directly, so
  // this holds nothing in the common case.
  std::unordered_map<std::string, std::set<std::string>> misplacedCopies;
  // Target key -> our write not yet seen on the target watch.
  std::unordered_map<std::string, PendingWrite> pendingWrites;
  // Source key -> our write not yet seen on the source watch.
  std::unordered_map<std::string, PendingWrite> pendingSourceWrites;
  // Pods: source key -> the uid of the source Pod whose host Pod someone else deleted, seen by
  // this process (ranOnHost). Dropped with the source Pod.
  std::unordered_map<std::string, std::string> hostPodsGone;
  // Source key -> fight detection state.
  std::unordered_map<std::string, FightState> fights;
  // Source key -> the write the target refused for an immutable field; dropped once the write
  // changes, the copy is another one, or the source is gone.
  std::unordered_map<std::string, ImmutableRefusal> immutableRefusals;
  // Source namespace -> names of objects without a copy that wait for room under the limit of
  // objects per namespace (waiting_objects.cpp); queued again when an object or a copy there goes.
  std::map<std::string, std::set<std::string>, std::less<>> overLimit;
  // Source namespace -> how many objects of the kind its source cache holds, kept by the source
  // informers' add and delete events: the limit check counts a namespace without scanning a cache
  // of every namespace for each object it reconciles.
  std::unordered_map<std::string, std::size_t> sourceCounts;

  const std::string& name() const { return key; }
  // A cluster-scoped kind copied down (cluster_copies.cpp) rather than mirrored up.
  // A cluster-scoped kind a policy file syncs down (the syncer's own mirror of CRDs, which has
  // no policy file and so the default direction, is not one).
  bool copiesClusterScopedDown() const {
    return clusterScoped && policy.direction == policies::Direction::Down && !crdMirror;
  }
  const kube::ResourceInfo& resourceOn(policies::Side side) const {
    return side == policies::Side::Source ? sourceResource : translator->resource();
  }
  kube::CachedObjectPtr sourceObject(const std::string& ns, const std::string& name) const;
  // The informer that caches the source objects of namespace `ns`; nullptr when none does.
  const kube::Informer* sourceInformer(const std::string& ns) const;
  // The informer of target namespace `ns` once it has synced, else nullptr.
  const kube::Informer* targetInformer(std::string_view ns) const;
  // The target object cached under "ns/name"; nullptr when absent or its namespace is not
  // watched (yet).
  kube::CachedObjectPtr targetObject(std::string_view targetKey) const;
};

enum class Outcome {
  Done,    // the key is in its desired state, or reported and left alone
  Parked,  // waits for its target namespace; re-queued when that namespace changes
  Retry,   // failed; re-queued with backoff
};

// A kind to sync that is not served by both API servers yet (or whose discovery failed): looked
// up again every discoveryInterval (resources.cpp).
struct WaitingResource {
  kube::ResourceSpec spec;
  std::string name;  // its ResourceSync key once the source served it, else provisionalKey
  bool servedBySource = false;
  bool servedByTarget = false;
  std::string why;  // for the log line and /readyz
  // The CRD mirror's own resource (customresourcedefinitions), which no policy names.
  bool crdMirror = false;
};

struct SyncState : std::enable_shared_from_this<SyncState> {
  SyncState(kube::Client& source, kube::Client& target, const translators::Registry& registry,
            mapping::IdentityMapper mapper, SyncerOptions options);

  kube::Client& sourceClient;
  kube::Client& targetClient;
  const translators::Registry& registry;
  const mapping::IdentityMapper mapper;
  const SyncerOptions options;

  std::unique_ptr<kube::Informer> sourceNamespaces;
  // All of them, as stubs (name, uid, phase, deletion, managed-by label): a namespace in the
  // way must be visible, and namespaces cost little.
  std::unique_ptr<kube::Informer> targetNamespaces;
  // Prefix mode: which target namespaces (and objects copied up) this instance created.
  std::unique_ptr<OwnershipRecord> record;
  std::map<std::string, ResourceSync, std::less<>> resources;  // by ResourceSync::key
  // Kinds not served by both sides yet, or gone from one (suspended). A deque: resolveWaiting
  // holds a reference to an entry across lookups while suspendKind may append.
  std::deque<WaitingResource> waiting;
  // Makes (not starts) the informer of one resource in one target namespace (syncer.cpp).
  std::function<std::unique_ptr<kube::Informer>(ResourceSync&, const std::string& ns)>
      makeTargetInformer;
  // The same for the source informer of one namespace ("" for all).
  std::function<std::unique_ptr<kube::Informer>(ResourceSync&, const std::string& ns)>
      makeSourceInformer;
  // The target namespaces of ours have informers: a kind added from now on starts its own there.
  bool targetsWatched = false;

  WorkQueue queue;
  EventRecorder recorder;        // Events on source objects
  EventRecorder targetRecorder;  // Events on target namespaces the syncer keeps
  // Host Events about our copies, copied to the source objects (--sync-events); null when off.
  std::shared_ptr<EventCopies> eventCopies;
  // The host Nodes of synced Pods, shown in the source cluster once Pods sync (prefix mode).
  std::shared_ptr<NodeMirror> nodeMirror;
  // Target namespaces created by us that the target informer has not shown yet: another
  // reconcile of the namespace key meanwhile must not create it again.
  std::set<std::string, std::less<>> namespacesCreating;
  // Target namespace -> queue keys parked until it exists and is usable.
  std::map<std::string, std::set<std::string>, std::less<>> waitingForNamespace;
  // Source uid of an owner -> keys of children synced while the owner had no target copy: they
  // are reconciled again when it gets one (owner_references.cpp).
  std::unordered_map<std::string, std::set<std::string>> childrenAwaitingOwner;
  // "<resource>/<target ns>/<name>" of a copy that is not there yet -> keys of objects whose
  // copies wait for it (Translator::dependencies, waiting_objects.cpp); queued when it appears.
  std::unordered_map<std::string, std::set<std::string>> awaitingCopies;
  // Host Pod key -> the token the syncer last wrote for it (pod_tokens.cpp): what it would
  // otherwise read back from the host Secret on every reconcile of the Pod.
  struct PodToken {
    std::string hostUid;         // the host Pod it was written for
    std::int64_t refreshAt = 0;  // Unix seconds
  };
  std::unordered_map<std::string, PodToken> podTokens;
  // Queue key -> why its last reconcile failed, for the retry log line.
  std::unordered_map<std::string, std::string> lastErrors;

  std::set<std::string> initialPending;  // keys of the initial sync not yet done
  bool workersStarted = false;
  bool ready = false;
  bool stopping = false;
  bool cachesSynced = false;  // every informer has listed: a follower is ready then
  bool leading = false;       // options.waitForLeadership: startLeading() was called
  std::chrono::steady_clock::time_point startedAt;
  boost::asio::steady_timer progressTimer;
  boost::asio::steady_timer discoveryTimer;   // between rediscovery rounds
  boost::asio::steady_timer leadershipTimer;  // run() waits on it until startLeading()
  SyncerStats stats;

  void enqueue(const SyncKey& key);
  void releaseWaiters(std::string_view targetNamespace);
  void park(std::string_view targetNamespace, const SyncKey& key);
};

// --- What is ours on the target (ownership.cpp). One predicate each, used before every write
// and delete: a label or annotation alone is a claim anyone can copy, never proof.

// The target namespace `name` (as cached, with `uid`) is this instance's: in prefix mode one it
// created, recorded with exactly this uid; in single mode the configured one.
bool ownsNamespace(const SyncState& state, std::string_view name, std::string_view uid);
// The same for the namespace as the target namespace cache holds it (false when not cached).
bool ownsCachedNamespace(const SyncState& state, std::string_view name);
// `object`, a target object in namespace `ns`, is a copy this instance made: its namespace is
// ours, its origin metadata is complete and consistent (labels match the annotations), and the
// source it names maps to this namespace.
bool ownsCopy(const SyncState& state, const kube::JsonValue& object);
// Starts the informers of every synced resource in target namespace `ns` (a namespace of ours);
// once all have listed, keys parked on it are released. Nothing happens when they run already.
void watchTargetNamespace(SyncState& state, const std::string& ns);
void unwatchTargetNamespace(SyncState& state, std::string_view ns);
// The target namespaces this instance owns, by the record and the namespace cache (or the one
// of single mode): the ones its target informers watch.
std::vector<std::string> ownedTargetNamespaces(const SyncState& state);
// Every informer of target namespace `ns` has listed.
bool targetNamespaceWatched(const SyncState& state, std::string_view ns);
// The source namespace whose target namespace `targetNs` is, by the record (prefix mode).
std::optional<std::string> recordedSourceNamespace(const SyncState& state,
                                                   std::string_view targetNs);

// metadata.<field>[key] ("labels" or "annotations") as a string, "" when absent or malformed.
std::string_view metadataEntry(const kube::JsonValue& object, std::string_view field,
                               std::string_view key);

// What the engine writes on the source object when a sync needs the user's attention
// (kube-bisync.io/sync-status). `result` is "Synced", "Conflict", "Rejected" or "Fight".
inline constexpr std::string_view kStatusSynced = "Synced";
inline constexpr std::string_view kStatusConflict = "Conflict";
inline constexpr std::string_view kStatusRejected = "Rejected";
inline constexpr std::string_view kStatusFight = "Fight";
// Not copied: the namespace is over limits.maxObjectsPerNamespace (waiting_objects.cpp).
inline constexpr std::string_view kStatusSyncFailed = "SyncFailed";
// Not copied yet: the target namespace is terminating; it is made again once it is gone.
inline constexpr std::string_view kStatusSyncWaiting = "SyncWaiting";
// The source is being deleted and its target copy cannot be (finalizers.cpp).
inline constexpr std::string_view kStatusCleanupFailed = "CleanupFailed";

// One write of the fields the policy gives one side (side_writes.cpp).
struct SideWrite {
  policies::Side side = policies::Side::Target;
  std::string ns;
  std::string name;
  kube::Json body;  // the apply configuration (metadata.resourceVersion: precondition)
  const kube::JsonValue* has = nullptr;     // the written fields the side holds now
  const kube::JsonValue* wanted = nullptr;  // the fields the plan gives it
  // The `both` fields the merge found in conflict (JSON pointers). Taking such a field, or a
  // field the other side owns, from another manager is reported; taking a `both` field whose
  // change simply travels from the other side is normal propagation and is not.
  std::vector<std::string> contested;
  // The cache holds no object here, so the write creates one. Should the apply meet an object
  // after all (made since the cache last heard from the server), nothing of it is taken over:
  // the write fails as AlreadyExists and leaves that object as it was.
  bool create = false;
  // The uid of the object the write means to update; empty: no object is meant (a create).
  // A server-side apply creates an object that does not exist, and no precondition stops it
  // (the API server ignores metadata.uid and resourceVersion when it creates): when the object
  // written has another uid, the one meant was deleted while the write was on its way, and the
  // apply made it anew. applyFields then deletes that object again (docs/sync-engine.md, "No
  // resurrection by apply"). Set it only with that object's resourceVersion in `body`: the
  // precondition is what makes an apply fail (409) rather than merge into an object someone
  // else made at the name meanwhile, which the delete would otherwise take away.
  std::string expectedUid = {};
};

// The reasons of applyFields' error for a write that made anew an object deleted meanwhile
// (SideWrite::expectedUid): kReasonMadeAnew once that new object is deleted again (the deletion's
// event brings the key back), kReasonMadeAnewLeft when deleting it failed (the message says so).
inline constexpr std::string_view kReasonMadeAnew = "MadeAnew";
inline constexpr std::string_view kReasonMadeAnewLeft = "MadeAnewLeft";

// What applyFields' `error` comes to for the key `key` when it says the write made an object
// anew (see above): Done when that object was deleted again, Retry (recorded) when not;
// nullopt for any other error.
std::optional<Outcome> afterMadeAnew(SyncState& state, const SyncKey& key,
                                     const kube::Error& error);

// What applyFields found worth telling the user, besides the write itself.
struct WriteReport {
  std::string result;   // kStatusConflict after a takeover, kStatusRejected after a refusal
  std::string message;  // for the sync-status annotation
};

// Server-side applies `write` (the /status part through the status subresource), first without
// force; fields another manager owns are forced or left as the policy says (both reported on
// `source`, the source object), then fields the side still holds but should not are removed
// with a merge patch. Returns the object as written; an object made anew instead of the one
// meant (SideWrite::expectedUid) is deleted again and comes back as a kReasonMadeAnew* error.
boost::asio::awaitable<kube::Result<kube::Json>> applyFields(SyncState& state, ResourceSync& sync,
                                                             const kube::JsonValue& source,
                                                             SideWrite& write, WriteReport& report);

// Sets the sync-status annotation of `source` when it would change (a "Synced" status is
// only written over another one). Failures are logged: reporting never fails a sync.
boost::asio::awaitable<void> setSyncStatus(SyncState& state, ResourceSync& sync,
                                           const kube::JsonValue& source, std::string_view result,
                                           std::string_view message);

// Records a report: a log line, an Event on `source`.
boost::asio::awaitable<void> report(SyncState& state, ResourceSync& sync,
                                    const kube::JsonValue& source, std::string_view reason,
                                    std::string message);

// A write the `side` API server refused with 403 (`error`): a Forbidden Event and sync-status
// Rejected on `source`, naming the side, verb and resource. Logged at debug only: the client
// logs each refused (side, verb, resource) once, not once per object and retry. The key (`key`)
// is also looked at again within clashRecheck, whatever its backoff has grown to: no event says
// when the permission is back.
boost::asio::awaitable<void> reportForbidden(SyncState& state, ResourceSync& sync,
                                             const std::string& key, const kube::JsonValue& source,
                                             std::string_view side, const kube::Error& error);

// The syncer's own annotations it reads back (merge-base, sync-status) are parsed within the API
// server's limit for all annotations of an object (256 KiB): anything larger was not written by
// the syncer, and is malformed.
inline constexpr kube::JsonLimits kAnnotationLimits{kube::kMaxJsonDepth, 256 * 1024};

// Reports that the syncer's own `annotation` on `where` ("target configmaps ns/name") does not
// parse (`problem`, never the value): a log line, an Event on `source`, a count.
boost::asio::awaitable<void> reportMalformedAnnotation(SyncState& state, ResourceSync& sync,
                                                       const kube::JsonValue& source,
                                                       const std::string& where,
                                                       std::string_view annotation,
                                                       const std::string& problem);

// Fight detection (fights.cpp): `rewritten` says whether this reconcile restores what someone
// else changed since our last identical write. True when the key must be left alone for now (it
// is then re-queued for when its backoff ends); `what` names the object in the report.
boost::asio::awaitable<bool> holdForFight(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                          const kube::JsonValue& source, bool rewritten,
                                          const std::string& what);

// --- Cluster-scoped kinds (cluster_mirror.cpp).

// The policy's matchLabels as a label selector ("a=1,b=2").
std::string labelSelectorOf(const policies::SyncPolicy& policy);
// Mirrors the target object of a cluster-scoped kind named by `key` into the source (created,
// restored, deleted with it), touching only mirrors the ownership record says are ours.
boost::asio::awaitable<Outcome> reconcileMirror(SyncState& state, ResourceSync& sync,
                                                const SyncKey& key);
// Is the CRD `crd` one of `kinds`'s (spec.group, spec.names.kind)?
bool wantedCrd(const std::vector<kube::GroupVersionKind>& kinds, const kube::JsonValue& crd);
// A conversion webhook runs in the cluster that has it, which the other side's API server
// cannot reach: the copy gets strategy None, and the log says so (`to` names the copy's side).
void dropConversionWebhook(kube::Json& crd, std::string_view to);
// The JSON patch that makes `current` hold `wanted`'s labels, annotations and content (status
// aside), tested against `version`.
kube::Json restorePatch(const kube::JsonValue& wanted, const kube::JsonValue& current,
                        std::string_view version);
// A new object of `resource` named as `object`, with what may travel of it (syncView: labels,
// annotations and content) but its status, which belongs to the cluster that writes it.
kube::Json contentOf(const kube::ResourceInfo& resource, const kube::JsonValue& object);
// The mirror's (or copy's) labels, annotations and content equal `current`'s, status aside.
bool sameContent(const kube::JsonValue& copy, const kube::JsonValue& current);

// --- CRDs copied from the source to the target, `crd: fromSource` (crd_copies.cpp).

// A key of the CRD mirror: a source CRD a `crd: fromSource` policy copies goes to the target
// (same name; the copy kept equal to it, never deleted, and a target CRD of that name the
// ownership record does not say is ours never touched); any other is reconcileMirror's.
boost::asio::awaitable<Outcome> reconcileCrd(SyncState& state, ResourceSync& sync,
                                             const SyncKey& key);

// --- Cluster-scoped kinds under `direction: down` (cluster_copies.cpp).

// Makes the target copy `<cluster>-<name>` of the source object named by `key` (created,
// updated, restored, deleted with it) when the policy selects it, touching only copies the
// ownership record says are ours; anything else at that name is a clash.
boost::asio::awaitable<Outcome> reconcileClusterCopy(SyncState& state, ResourceSync& sync,
                                                     const SyncKey& key);
// The target informer's handlers of such a kind: a target object queues the source it is the
// copy of (by its origin), or whose copy would take its name.
kube::InformerHandlers clusterCopyHandlers(SyncState& state, ResourceSync& sync);

// --- Owner references of target copies (owner_references.cpp).

struct OwnerLinks {
  kube::Json references{rapidjson::kArrayType};  // for the copy's metadata.ownerReferences
  std::vector<std::string> pendingOwners;        // source uids of synced owners without a copy
};
// The copy's owner references for the source object `source` of `key`: each reference to an
// owner the syncer syncs (same namespace, a synced kind) whose target copy exists names that
// copy (its name and uid there), keeping controller and blockOwnerDeletion; the others are
// dropped.
OwnerLinks ownerLinks(const SyncState& state, const SyncKey& key, const kube::JsonValue& source);
// Remembers `key` as a child of each owner in links.pendingOwners.
void awaitOwners(SyncState& state, const SyncKey& key, const OwnerLinks& links);
// A target copy (of the source with this source-uid annotation) appeared: its children waiting
// for it are queued.
void releaseChildren(SyncState& state, const kube::JsonValue& targetCopy);

// --- Copies with immutable fields, under onImmutable: report (immutable_fields.cpp).

// True when the target refused this very write (`lastSynced`) of the copy `targetCached` of
// source `sourceKey` because a field of it is immutable: the write is not tried again, whatever
// re-queued the key. Another write (the source changed) or another copy forgets the refusal.
bool immutableRefusalStands(ResourceSync& sync, const std::string& sourceKey,
                            const kube::CachedObjectPtr& targetCached,
                            const std::string& lastSynced);
// Remembers the refusal of the write `lastSynced` to `targetCached` and reports it on `source`:
// a log line, a Warning Event ImmutableField, the sync-status annotation (Rejected), all with
// the server's message.
boost::asio::awaitable<void> reportImmutableRefusal(SyncState& state, ResourceSync& sync,
                                                    const kube::JsonValue& source,
                                                    const kube::CachedObjectPtr& targetCached,
                                                    const std::string& lastSynced,
                                                    const kube::Error& error);

// --- Kinds found by discovery (resources.cpp).

// Looks every waiting kind up on both servers (afresh: the discovery caches are dropped first);
// a kind both serve starts syncing: its ResourceSync is made and its informers started, target
// ones in every target namespace the syncer watches already. A kind found unfit (not listable,
// or refused) is dropped with an error line.
boost::asio::awaitable<void> resolveWaiting(SyncState& state);
// Every options.discoveryInterval until the syncer stops: looks the waiting kinds up again
// (resolveWaiting), then checks that both sides still serve every kind that syncs
// (checkRunningKinds).
boost::asio::awaitable<void> rediscover(std::shared_ptr<SyncState> state);
// Stops every syncing kind that a side no longer serves (its discovery answers 404 and it has no
// CRD there that serves its version, or its CRD there is being deleted or switched the version
// off): see suspendKind. A lookup that fails otherwise stops nothing, and nor does a 404 while
// the CRD serves the version (an API server still starting answers so).
boost::asio::awaitable<void> checkRunningKinds(SyncState& state);
// Stops a kind that went away from a side, cleanly and without deleting anything: its informers
// stop (their caches go with them), its pending writes, fight and refusal state are forgotten,
// its keys are no longer reconciled; it waits again (log line, resource_ready 0 for that side,
// /readyz) and resumes through resolveWaiting, with fresh informers and a full relist.
// The finalizers of its source objects are taken off only when its source CRD is being deleted
// (`onSource` Withdrawn).
void suspendKind(SyncState& state, ResourceSync& sync, kube::Presence onSource,
                 kube::Presence onTarget, const std::string& why);
// Whether the object key `key` may be reconciled now; called before every reconcile of one. Not
// when its kind is suspended (the key is dropped: a resume relists everything), nor while its
// source informers have not listed (the key is held until they have), nor when the reconcile
// would act on an object's absence from a side whose CRD of the kind is gone or being deleted:
// the kind is then suspended instead, so that a CRD's deletion (which deletes its objects, each
// seen as an ordinary delete) never deletes their copies on the other side.
boost::asio::awaitable<bool> admitKey(SyncState& state, const SyncKey& key);
// Some policy says `crd: fromTarget` (and the mode allows it): the syncer mirrors CRDs.
bool mirrorsCrds(const SyncState& state);
// The ResourceSync key of a resource: "configmaps", "deployments.apps".
std::string resourceKey(const kube::ResourceInfo& resource);
// The key a kind to sync is shown under until discovery names its resource: the plural of the
// spec, or for a Kind form the plural guessed from the kind as client-go's
// UnsafeGuessKindToResource does ("Widget" -> "widgets", "Policy" -> "policies").
std::string provisionalKey(const kube::ResourceSpec& spec);

// What a reconcile of one key does (reconciler.cpp).
boost::asio::awaitable<Outcome> reconcile(SyncState& state, const SyncKey& key);

// --- Shared by the reconcile files (isTerminating: pair_decision.hpp).
// Records why `key` failed (for the retry log line) and returns Outcome::Retry.
Outcome fail(SyncState& state, const SyncKey& key, std::string reason);
void logWrite(const SyncState& state, std::string_view what);  // with -v 2
// Deletes `ns`/`name` of `resource` in the incarnation `uid` only (a newer object of that name,
// made by someone else, is never touched): true when this call deleted it, false when it was gone
// already, else the API's error. Every delete of the engine goes through here.
// `grace`: the deletion's grace period (a Pod's, as its source was deleted with); none: the
// object's own default.
boost::asio::awaitable<kube::Result<bool>> removeIncarnation(
    kube::Client& client, const kube::ResourceInfo& resource, std::string_view ns,
    std::string_view name, std::string_view uid, std::optional<std::int64_t> grace = std::nullopt);
// A log line and a Warning Event (`reason`) on `source`; the key is looked at again after
// clashRecheck.
boost::asio::awaitable<Outcome> reportClash(SyncState& state, const kube::ResourceInfo& resource,
                                            const SyncKey& key, const kube::JsonValue& source,
                                            const std::string& message,
                                            std::string_view reason = kReasonNameClash);
// The target namespace of a namespace key (namespace_reconciler.cpp).
boost::asio::awaitable<Outcome> reconcileNamespace(SyncState& state, const SyncKey& key);

// --- Objects made on the target (createOnSource; copy_up.cpp).

// What the reconcile of an object key read, when the source is absent or not synced.
struct UpwardContext {
  const SyncKey& key;
  const mapping::TargetKey& target;
  const kube::CachedObjectPtr& sourceCached;  // may be set: present but not synced
  const kube::CachedObjectPtr& targetCached;
  const CopiedUp* copiedUp;  // the record's entry for the target key, if any
  bool sourceNamespaceActive = false;
};
// Copies an opted-in target object of someone else's up to the source (createOnSource), or
// forgets a record entry whose objects are both gone.
boost::asio::awaitable<Outcome> reconcileUpward(SyncState& state, ResourceSync& sync,
                                                const UpwardContext& context);
// A copy-up the record holds as an intent only (no source uid: its create may have happened
// without being recorded), now that `sourceCached` is at its name: finished when that object
// carries the intent's target uid, dropped when it does not (the name is someone else's).
// Returns the entry as it stands now; nullopt once dropped.
boost::asio::awaitable<kube::Result<std::optional<CopiedUp>>> settleCopyUpIntent(
    SyncState& state, const CopiedUp& intent, const kube::CachedObjectPtr& sourceCached);
// The record says `sourceCached` was copied up from a target object that is gone: it goes too.
boost::asio::awaitable<Outcome> deleteCopiedUpSource(SyncState& state, ResourceSync& sync,
                                                     const SyncKey& key,
                                                     const kube::CachedObjectPtr& sourceCached,
                                                     const CopiedUp& entry);
// Does the policy select an object of source namespace `ns` with the labels of `object`
// (namespace filter, label selector)?
bool policySelects(const policies::SyncPolicy& policy, std::string_view ns,
                   const kube::JsonValue& object);

// --- Objects that wait: for room under a limit, for their target namespace (waiting_objects.cpp).

// The most objects of `sync`'s kind one source namespace may have copied: the policy's
// limits.maxObjectsPerNamespace, else --max-objects-per-namespace; 0: no limit.
std::size_t namespaceLimit(const SyncState& state, const ResourceSync& sync);
// Whether the source object `source` of `key` must wait because its namespace is over the limit
// (namespace_limits.hpp decides from the caches; an object whose copy exists, `copied`, never
// waits): then it is reported (a SyncFailed Event, the sync-status annotation; each once per
// message) and remembered, to be queued again by releaseOverLimit. False, and forgotten, when it
// may be copied.
boost::asio::awaitable<bool> holdOverLimit(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                           const kube::JsonValue& source, bool copied);
// The source of `key` is gone or no longer synced: it waits no more, and the objects waiting in
// its namespace are queued (there may be room now).
void leaveNamespaceLimit(SyncState& state, ResourceSync& sync, const SyncKey& key);
// Queues the objects of source namespace `ns` that wait for room: an object or a copy there went.
void releaseOverLimit(SyncState& state, ResourceSync& sync, std::string_view ns);
// Whether the copy of `source` (`key`, not copied yet) must wait for the copies of objects it
// depends on (Translator::dependencies: the ConfigMaps a Pod mounts): those of synced kinds that
// the target caches lack. Then it is reported (a SyncWaiting Event and sync-status naming each
// missing one, once per message) and queued again when the last of them appears. A dependency of
// a kind that is not synced, or marked optional, is not waited for.
boost::asio::awaitable<bool> holdForDependencies(SyncState& state, ResourceSync& sync,
                                                 const SyncKey& key, const kube::JsonValue& source);
// The copy at `targetKey` of resource `resource` ("configmaps") appeared on the target: the
// objects waiting for it are queued.
void releaseDependents(SyncState& state, std::string_view resource, std::string_view targetKey);
// Tells the user why `source` is not copied while its target namespace `targetNs` terminates: a
// SyncWaiting Event and the sync-status annotation (each once; a Synced status follows the copy).
boost::asio::awaitable<void> reportNamespaceTerminating(SyncState& state, ResourceSync& sync,
                                                        const kube::JsonValue& source,
                                                        const std::string& targetNs);
// --- The syncer's finalizer on source objects (finalizers.cpp, finalizer.hpp).

// What the finalizer asks of the reconcile of `key`, once the copies the source no longer wants
// are deleted (`sourceSynced`: it is copied now; `copiedUp`: it was made from a target object):
// nullopt to go on (ours added or taken off as needed), else how the reconcile ends: Done while
// a copy of ours is still there (its deletion event brings the key back) or once ours is off a
// terminating source, Parked while the target namespace's informers have not listed, Retry when
// the write failed.
boost::asio::awaitable<std::optional<Outcome>> guardWithFinalizer(
    SyncState& state, ResourceSync& sync, const SyncKey& key, const mapping::TargetKey& target,
    const kube::CachedObjectPtr& sourceCached, bool sourceSynced, bool copiedUp);
// The copy of `key` could not be deleted (the reason in lastErrors): when the source is being
// deleted and our finalizer holds it, that is reported on it (Warning Event CleanupFailed and
// sync-status CleanupFailed). Returns Outcome::Retry: the work queue backs off.
boost::asio::awaitable<Outcome> reportCleanupFailure(SyncState& state, ResourceSync& sync,
                                                     const SyncKey& key,
                                                     const kube::CachedObjectPtr& sourceCached);

// --- Pods (pods.cpp): what a Pod needs beyond a copy, since it runs on the host and no kubelet
// runs in the source cluster. docs/workloads.md, "Lifecycle".

// The kind is core v1 Pods.
bool syncsPods(const ResourceSync& sync);
// The grace period the host Pod is deleted with: that of its source Pod's deletion, when the
// source (`sourceCached`) is a Pod being deleted; else none.
std::optional<std::int64_t> hostDeletionGrace(const ResourceSync& sync,
                                              const kube::CachedObjectPtr& sourceCached);
// A source Pod being deleted whose host Pod is gone (or never was): no kubelet will finish its
// deletion, so the syncer does (grace period 0, uid precondition). Parked while the target
// namespace's informers have not listed: no copy in the cache proves nothing then.
boost::asio::awaitable<Outcome> finishPodDeletion(SyncState& state, ResourceSync& sync,
                                                  const SyncKey& key, const std::string& targetKey,
                                                  const kube::CachedObjectPtr& sourceCached);
// The source Pod `source` has run on the host but its host Pod is gone: deleted or evicted on the
// host. The source Pod is removed too (an Event says why), so that its controller replaces it,
// rather than a copy made anew behind its back. It ran there when the syncer wrote a host IP into
// its status, or when this process saw its host Pod deleted by someone else (noteHostPodGone):
// an eviction can come before the status reached the source.
bool ranOnHost(const ResourceSync& sync, const kube::CachedObject& sourceCached,
               const kube::JsonValue& source);
// Called for each host Pod of ours that leaves the target cache (`last`, `origin` the source Pod
// it was made for): remembers a deletion that was not the syncer's own.
void noteHostPodGone(SyncState& state, ResourceSync& sync, const mapping::Origin& origin,
                     const kube::CachedObject& last);
boost::asio::awaitable<Outcome> removePodGoneFromHost(SyncState& state, ResourceSync& sync,
                                                      const SyncKey& key,
                                                      const kube::JsonValue& source,
                                                      const std::string& targetKey);
// The source-side write of a Pod: the host scheduler's node (`/spec/nodeName` of what the plan
// gives the source, `forSource`) cannot be applied: the Pod is bound to it (pods/binding) first,
// once. Failed: the failure is recorded.
enum class Binding { Unchanged, Bound, Failed };
boost::asio::awaitable<Binding> bindSourcePod(SyncState& state, ResourceSync& sync,
                                              const SyncKey& key, const kube::JsonValue& source,
                                              const kube::JsonValue& forSource);
// Removes spec.nodeName from a Pod's apply configuration (`spec` too, once empty): it is
// written through the binding, and is left in what the write wants, so that it is not removed.
void dropNodeName(kube::Json& body);

// The service-account token of the source Pod `source` (`key`), whose host Pod is `hostPod`
// (pod_tokens.cpp): when the source Pod mounts one, the host Secret holding a token the source
// API server issued for it exists and is fresh; the key is queued again for its refresh. False
// (the failure recorded) when it could not be made.
boost::asio::awaitable<bool> keepPodToken(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                          const kube::JsonValue& source,
                                          const kube::CachedObjectPtr& hostPod);

// After the sync of the source Pod `source` (`key`) to `targetKey`: keepPodToken for the host Pod
// in the cache (`targetCached`) when it is our copy; one created by this reconcile has its token
// made by the next, once the cache holds it (its uid owns the Secret).
boost::asio::awaitable<Outcome> keepHostPodToken(SyncState& state, ResourceSync& sync,
                                                 const SyncKey& key, const kube::JsonValue& source,
                                                 const std::string& targetKey,
                                                 const kube::CachedObjectPtr& targetCached);

// --prune (prune.cpp): once, after the initial sync, deletes our copies of the kinds no longer
// synced from our target namespaces and takes our finalizer off their sources.
boost::asio::awaitable<void> pruneDroppedKinds(std::shared_ptr<SyncState> state);

}  // namespace bisync::engine::internal
