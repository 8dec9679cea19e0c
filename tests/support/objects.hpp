// JSON bodies of the plain core objects integration tests write to the API servers. Built
// with RapidJSON (never by string concatenation); each returns a fresh document.
#pragma once

#include <string>
#include <string_view>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::testing {

// A v1 ConfigMap `ns`/`name` whose data holds the one entry `key`: `value`. An empty `ns`
// leaves metadata.namespace out (the request path then names it).
kube::Json configMapObject(std::string_view ns, std::string_view name, std::string_view key,
                           std::string_view value);

// A v1 Namespace called `name`.
kube::Json namespaceObject(std::string_view name);

// scheduling.k8s.io/v1 PriorityClasses: a cluster-scoped built-in kind for the tests of
// cluster-scoped copies.
kube::ResourceInfo priorityClasses();
// A PriorityClass `name` with `value` and `description`, labelled `example.com/copy: <copy>`.
kube::Json priorityClassObject(std::string_view name, int value, std::string_view description,
                               std::string_view copy);
// A policy file syncing down the PriorityClasses labelled `example.com/copy: <copy>`, every field
// owned by the source (their copies are renamed <cluster>-<name>).
std::string priorityClassPolicy(std::string_view copy);

}  // namespace bisync::testing
