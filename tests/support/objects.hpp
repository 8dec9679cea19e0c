// JSON bodies of the plain core objects integration tests write to the API servers. Built
// with RapidJSON (never by string concatenation); each returns a fresh document.
#pragma once

#include <string_view>

#include "syncer/kube/json.hpp"

namespace bisync::testing {

// A v1 ConfigMap `ns`/`name` whose data holds the one entry `key`: `value`. An empty `ns`
// leaves metadata.namespace out (the request path then names it).
kube::Json configMapObject(std::string_view ns, std::string_view name, std::string_view key,
                           std::string_view value);

// A v1 Namespace called `name`.
kube::Json namespaceObject(std::string_view name);

}  // namespace bisync::testing
