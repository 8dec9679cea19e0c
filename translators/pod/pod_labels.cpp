#include "translators/pod/pod_labels.hpp"

#include "mapping/names.hpp"

namespace bisync::translators {
namespace {

constexpr std::string_view kSyncerDomain = "kube-bisync.io";
// Reserved for the host's core components: only the bare domains. Their subdomains
// (app.kubernetes.io, statefulset.kubernetes.io, batch.kubernetes.io) carry workload labels that
// Services and NetworkPolicies select on, and mean the same on both sides.
constexpr std::string_view kHostReservedDomains[] = {"kubernetes.io", "k8s.io"};

// The prefix of a label key ("app.kubernetes.io" of "app.kubernetes.io/name"), empty when none.
std::string_view keyPrefix(std::string_view key) {
  const std::size_t slash = key.find('/');
  return slash == std::string_view::npos ? std::string_view{} : key.substr(0, slash);
}

bool inDomain(std::string_view prefix, std::string_view domain) {
  return prefix == domain || (prefix.size() > domain.size() && prefix.ends_with(domain) &&
                              prefix[prefix.size() - domain.size() - 1] == '.');
}

}  // namespace

bool isReservedLabelKey(std::string_view key) {
  const std::string_view prefix = keyPrefix(key);
  if (inDomain(prefix, kSyncerDomain)) return true;
  for (const std::string_view domain : kHostReservedDomains) {
    if (prefix == domain) return true;
  }
  return false;
}

// 16 hex digits (64 bits of SHA-256): a Pod has a handful of reserved keys, so a collision
// between two of them is out of reach, and the name part stays a valid label name.
std::string hostLabelKey(std::string_view key) {
  if (!isReservedLabelKey(key)) return std::string(key);
  return std::string(kRewrittenLabelPrefix) + mapping::stableHash(key).substr(0, 16);
}

mapping::Metadata virtualLabels(const kube::JsonValue& hostMetadata) {
  mapping::Metadata labels;
  const kube::JsonValue* hostLabels = kube::member(hostMetadata, "labels");
  if (hostLabels == nullptr || !hostLabels->IsObject()) return labels;
  const kube::JsonValue* annotations = kube::member(hostMetadata, "annotations");
  for (const auto& label : hostLabels->GetObject()) {
    if (!label.value.IsString()) continue;
    const std::string_view key = kube::stringView(label.name);
    const std::string_view value = kube::stringView(label.value);
    if (key.starts_with(kRewrittenLabelPrefix)) {
      const std::string_view original =
          annotations == nullptr ? std::string_view{} : kube::stringMember(*annotations, key);
      // Only a key whose annotation still names a key that hashes to it: a host edit of either
      // one must not invent a virtual label.
      if (!original.empty() && hostLabelKey(original) == key) labels.emplace(original, value);
      continue;
    }
    if (key.starts_with(mapping::kSyncerKeyPrefix)) continue;  // the origin labels
    labels.emplace(key, value);
  }
  return labels;
}

}  // namespace bisync::translators
