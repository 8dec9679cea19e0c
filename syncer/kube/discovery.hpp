// Discovery, the pure part: what the syncer reads from an API server's discovery documents to
// resolve a kind it was not built with. The user names resources on --resources in kubectl's
// forms ("configmaps", "deployments.apps", "Deployment.v1.apps"); parseResourceSpec checks one
// item strictly, before any server is asked. Client::resolve()/discover() then fetch the
// documents (GET /api/v1, /apis/<group>, /apis/<group>/<version>), cache them per client, and
// hand them to the functions below, which turn them into a ResourceInfo: the resource's plural,
// kind, scope, verbs and whether it has a status subresource.
//
// No I/O here, and no trust in the server: every field is type-checked, an entry that is not
// what the API promises is skipped, and a document that is not one at all finds nothing. A
// resource name taken from a document is checked like a user's, since it ends up in request
// paths. Thread-agnostic: plain functions of their arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::kube {

// One item of --resources: "configmaps" (core group), "deployments.apps" (plural.group), or
// "Deployment.v1.apps" / "ConfigMap.v1" (Kind.version[.group], kind starts upper-case).
struct ResourceSpec {
  std::string text;      // as written
  std::string group;     // "" for the core group
  std::string version;   // set only in the Kind form
  std::string resource;  // plural, set only in the plural forms
  std::string kind;      // set only in the Kind form
  bool byKind() const { return !kind.empty(); }
};

// A reason (e.g. "\"Deploy-ment\" is not a resource name: ...") when `text` is none of the forms.
// Parts are checked strictly: a plural is a lower-case DNS label, a group a DNS-1123 subdomain,
// a version "v" then a digit then lower-case letters and digits (v1, v1beta1, v2alpha3), a kind
// an upper-case letter then letters and digits.
tl::expected<ResourceSpec, std::string> parseResourceSpec(std::string_view text);

// The resource of an APIResourceList document (what GET /api/v1 or /apis/<group>/<version>
// answers) for `group`/`version` whose kind is `kind` (byKind) or whose plural name is
// `name`: subresources ("x/status") are not resources but set statusSubresource of theirs;
// verbs and namespaced as listed. nullopt when the list has none, or the document is
// malformed (hostile input must never crash: wrong types anywhere are just skipped).
// An entry without a boolean `namespaced`, a string `kind` or a valid plural `name` is skipped:
// guessing its scope would address the wrong paths. The first matching entry wins.
std::optional<ResourceInfo> findInResourceList(const JsonValue& list, std::string_view group,
                                               std::string_view version,
                                               const ResourceSpec& wanted);

// The preferred version of an APIGroup document (GET /apis/<group>): preferredVersion.version,
// else the first of versions; nullopt when malformed. A version that is not a lower-case DNS
// label (it goes into request paths) counts as absent.
std::optional<std::string> preferredVersion(const JsonValue& apiGroup);

// What one server says, in a rediscovery round, about a kind that syncs: its discovery serves
// it; it answers that it does not (404: a CRD deleted, an aggregated API unregistered); the
// kind's CustomResourceDefinition there is being deleted (the server's finalizer is deleting
// every object of the kind); or the lookup failed otherwise (network, 5xx, 403), which proves
// nothing either way.
enum class Presence { Served, NotServed, Withdrawn, Unknown };

// Why a kind that syncs must stop, given what each side says of it now: a reason naming the
// side(s) that no longer serve it, or that withdraw it; nullopt while both serve it, and when a
// lookup merely failed (a server that cannot be asked is no proof that a kind is gone, and
// stopping on every blip would relist everything when it ends).
std::optional<std::string> whyKindGone(Presence source, Presence target);

// A CustomResourceDefinition that is going away: it has a deletionTimestamp, or its condition
// Terminating is True. Anything else (including a malformed object) is not.
bool crdWithdrawing(const JsonValue& crd);

// What a server's CustomResourceDefinition of a kind says of it: none there, or it cannot be
// read (no permission, network); it is being deleted (crdWithdrawing); it no longer serves the
// kind's version (`served: false`, or the version is gone); or it serves it.
enum class CrdState { Absent, Unreadable, Withdrawing, NotServing, Serving };
CrdState crdStateOf(const JsonValue& crd, std::string_view version);

// What a kind served through a CRD is, when its discovery lists it: the CRD tells whether it is
// going (Withdrawn), gone or its version switched off (NotServed); a CRD that cannot be read
// proves nothing (Served, and the next round looks again).
Presence presenceByCrd(CrdState crd);
// The same when its discovery does not list it (404). An API server that is still starting
// answers so for every CRD's kind before its CRD discovery has run: while the CRD is there and
// serves the version, that proves nothing (Unknown); a CRD that cannot be read leaves the 404.
Presence presenceUndiscovered(CrdState crd);

}  // namespace bisync::kube
