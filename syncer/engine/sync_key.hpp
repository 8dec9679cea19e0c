// The keys of the sync engine's work queue. Every key names a *source* object, so events
// from either side that concern one object collapse into one queued key:
//   "<resource>/<namespace>/<name>"  an object ("configmaps/team-a/settings")
//   "<resource>//<name>"             a cluster-scoped object
//   ("storageclasses.storage.k8s.io//fast") "namespaces/<namespace>/"        the target namespace
//   of a source namespace
// Neither names nor namespaces can contain '/', so the format is unambiguous.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bisync::engine {

inline constexpr std::string_view kNamespacesResource = "namespaces";

struct SyncKey {
  std::string resource;  // "configmaps", or kNamespacesResource
  std::string ns;
  std::string name;  // empty for a namespace key

  static SyncKey object(std::string_view resource, std::string_view ns, std::string_view name);
  static SyncKey namespaceKey(std::string_view sourceNamespace);

  bool isNamespace() const { return resource == kNamespacesResource; }
  std::string str() const;
  // "configmaps team-a/settings" or "namespace team-a", for logs.
  std::string describe() const;
  static std::optional<SyncKey> parse(std::string_view text);
  bool operator==(const SyncKey&) const = default;
};

}  // namespace bisync::engine
