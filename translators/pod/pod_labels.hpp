// The reversible rewrite of a Pod's label keys that must not appear as they are on the host:
// the syncer's own (kube-bisync.io, and any subdomain of it: a tenant could forge origin
// labels, or clash with the rewritten keys), and the keys the host's own components reserve
// (the bare kubernetes.io/ and k8s.io/ prefixes). Such a key `k` with value `v` becomes the host
// label `vlabel.kube-bisync.io/<h>: v` and the host annotation `vlabel.kube-bisync.io/<h>: k`,
// where <h> is the first 16 hex digits of SHA-256(k). Other keys (app.kubernetes.io/name,
// statefulset.kubernetes.io/pod-name, app) stay as they are, so host Services and
// NetworkPolicies copied from the virtual cluster select the host Pods as they select the
// virtual ones. Pure.
#pragma once

#include <string>
#include <string_view>

#include "mapping/identity_mapper.hpp"
#include "syncer/kube/json.hpp"

namespace bisync::translators {

// The prefix of a rewritten key (label and annotation).
inline constexpr std::string_view kRewrittenLabelPrefix = "vlabel.kube-bisync.io/";

// True when the virtual label key `key` is rewritten on the host.
bool isReservedLabelKey(std::string_view key);
// The host key of the virtual label key `key`: itself unless reserved.
std::string hostLabelKey(std::string_view key);

// The inverse: the virtual labels of a host Pod's metadata (labels and annotations). A
// rewritten key comes back as the annotation of the same key names it; one without that
// annotation (edited on the host) and the syncer's origin labels are left out.
mapping::Metadata virtualLabels(const kube::JsonValue& hostMetadata);

}  // namespace bisync::translators
