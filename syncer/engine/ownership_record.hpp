// OwnershipRecord: what this syncer instance can prove it created on the target, kept where
// neither a tenant nor a narrowly privileged host user can write: the ConfigMap
// kube-bisync-ownership-<cluster-name> in the state namespace (SyncerOptions::stateNamespace).
// Labels and annotations on target objects are claims anyone with write access can copy; an
// entry here is proof. Two kinds of entries, one ConfigMap key each:
//
//   namespace.<target namespace>  {"uid": "...", "sourceNamespace": "..."}
//       a target namespace this instance created (POST). It is ours only while its uid is the
//       recorded one: deleted and recreated by someone else, it is foreign.
//   copied-up.<hash>              {"resource", "namespace", "name", "targetUid", "sourceUid"}
//       a source object this instance created (sourceUid) from the target object `namespace`/
//       `name` (targetUid) under a createOnSource policy, or (namespace "") the source mirror of
//       a cluster-scoped target object under a policy of direction up.
//   copied-down.<hash>            {"resource", "namespace": "", "name", "targetUid", "sourceUid"}
//       a cluster-scoped target object `name` (targetUid) this instance created as the copy of
//       the source object with sourceUid under a policy of direction down. Cluster-scoped
//       objects live in no namespace of ours, so this entry is the only proof they are ours.
//
// A host admin hands a pre-created namespace to an instance by adding its entry
// (docs/security.md). Reads come from an informer on that one ConfigMap; writes are JSON merge
// patches of single keys (the ConfigMap is created on the first write), and what reads see
// follows a write at once. Entries that do not parse are ignored and logged.
//
// Loop-affine: use on the io_context thread of the target Client.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "syncer/kube/informer.hpp"

namespace bisync::engine {

struct OwnedNamespace {
  std::string uid;
  std::string sourceNamespace;
  bool operator==(const OwnedNamespace&) const = default;
};

struct CopiedUp {
  std::string resource;  // "configmaps"
  std::string ns;        // the target object's namespace and name
  std::string name;
  std::string targetUid;
  std::string sourceUid;
  bool operator==(const CopiedUp&) const = default;
};

// The entries of a record ConfigMap; pure, for the record and its tests.
struct RecordEntries {
  std::map<std::string, OwnedNamespace, std::less<>> namespaces;  // by target namespace
  std::map<std::string, CopiedUp, std::less<>> copiedUp;          // by ConfigMap key
  std::map<std::string, CopiedUp, std::less<>> copiedDown;        // by ConfigMap key
  std::vector<std::string> problems;                              // entries that were ignored
};
RecordEntries parseRecord(const kube::JsonValue& configMap);
std::string namespaceEntryKey(std::string_view targetNamespace);
std::string copiedUpEntryKey(std::string_view resource, std::string_view ns, std::string_view name);
std::string copiedDownEntryKey(std::string_view resource, std::string_view name);
std::string entryValue(const OwnedNamespace& entry);
std::string entryValue(const CopiedUp& entry);

class OwnershipRecord {
 public:
  // `onChange` is called (on the loop) after the record changed by someone else's hand, e.g. a
  // host admin handing over a namespace; the engine looks at its namespaces again.
  OwnershipRecord(kube::Client& target, std::string stateNamespace, std::string clusterName,
                  std::string fieldManager, std::function<void()> onChange);
  ~OwnershipRecord();
  OwnershipRecord(const OwnershipRecord&) = delete;
  OwnershipRecord& operator=(const OwnershipRecord&) = delete;

  kube::Informer& informer();
  std::string describe() const;  // "configmap <ns>/<name>"

  const std::map<std::string, OwnedNamespace, std::less<>>& namespaces() const;
  const OwnedNamespace* findNamespace(std::string_view targetNamespace) const;
  // True when `targetNamespace` is recorded with exactly this uid.
  bool ownsNamespace(std::string_view targetNamespace, std::string_view uid) const;
  const CopiedUp* findCopiedUp(std::string_view resource, std::string_view ns,
                               std::string_view name) const;
  std::vector<CopiedUp> copiedUpIn(std::string_view targetNamespace) const;
  // The copied-down entry of the cluster-scoped target object `name` of `resource`.
  const CopiedUp* findCopiedDown(std::string_view resource, std::string_view name) const;

  boost::asio::awaitable<kube::Result<void>> recordNamespace(const std::string& targetNamespace,
                                                             const OwnedNamespace& entry);
  boost::asio::awaitable<kube::Result<void>> forgetNamespace(const std::string& targetNamespace);
  boost::asio::awaitable<kube::Result<void>> recordCopiedUp(const CopiedUp& entry);
  boost::asio::awaitable<kube::Result<void>> forgetCopiedUp(const CopiedUp& entry);
  // Settles an unfinished creation: `intent` is an entry written before its POST (no sourceUid),
  // and an object of its name now shows, with uid `shownUid`. When the caller proved that object
  // is the one the intent made (`proven`), the entry is finished with that uid and returned;
  // otherwise the object is someone else's, the intent is forgotten and nullopt returned.
  boost::asio::awaitable<kube::Result<std::optional<CopiedUp>>> finishOrForgetIntent(
      const CopiedUp& intent, bool proven, std::string shownUid);
  boost::asio::awaitable<kube::Result<void>> recordCopiedDown(const CopiedUp& entry);
  boost::asio::awaitable<kube::Result<void>> forgetCopiedDown(const CopiedUp& entry);

  std::uint64_t writes() const { return writes_; }

 private:
  boost::asio::awaitable<kube::Result<void>> write(const std::string& key,
                                                   const std::optional<std::string>& value);
  // Takes `configMap` (at `version`) as the record unless what is held is newer.
  bool load(const kube::JsonValue& configMap, std::string_view version);

  kube::Client& client_;
  std::string namespace_;
  std::string name_;
  std::string fieldManager_;
  std::function<void()> onChange_;
  std::unique_ptr<kube::Informer> informer_;
  RecordEntries entries_;
  std::string version_;  // resourceVersion of what entries_ holds
  std::uint64_t writes_ = 0;
};

}  // namespace bisync::engine
