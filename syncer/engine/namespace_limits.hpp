// Which source objects of one kind in one namespace may get a target copy under a limit
// (`limits.maxObjectsPerNamespace`, or --max-objects-per-namespace). Pure: no I/O; the reconciler
// gathers the entries from its caches (docs/sync-engine.md, "Limits").
//
// The rule: copies that exist are kept (and updated) whatever the limit; an object without a copy
// is copied only if (copies that exist) + (objects without a copy ranked before it) < limit,
// ranking the oldest first (creationTimestamp, then name). So which objects wait is
// deterministic, the same after a restart, and an object never takes the place of an older one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bisync::engine {

// One synced source object of the kind in the namespace.
struct LimitEntry {
  std::string name;
  // metadata.creationTimestamp as the API server writes it (RFC 3339, UTC, whole seconds:
  // "2026-12-05T06:00:00Z"), which orders as text; "" (absent) ranks first.
  std::string created;
  bool copied = false;  // its target copy exists
};

struct LimitVerdict {
  bool copy = true;         // the object may get (or keep) its copy
  std::size_t objects = 0;  // synced source objects of the kind in the namespace
  std::size_t copies = 0;   // of them, those whose copy exists
};

// The verdict for the object `name` (one of `entries`) under `limit` (0: no limit).
LimitVerdict judgeNamespaceLimit(std::vector<LimitEntry> entries, std::string_view name,
                                 std::size_t limit);

// "namespace team-a holds 60 configmaps, over maxObjectsPerNamespace 50: not copied": what the
// SyncFailed Event and the sync-status annotation of a waiting object say.
std::string overLimitMessage(std::string_view ns, std::string_view resource,
                             const LimitVerdict& verdict, std::size_t limit);

}  // namespace bisync::engine
