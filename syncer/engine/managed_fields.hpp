// Reading an object's metadata.managedFields: which field managers own a field and when they
// last wrote it. The newest-wins strategy compares these times, and reports name the owners of
// both values. Pure functions of one object, no I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::engine {

using FieldSegments = std::vector<std::string>;
using WriteTime = std::chrono::system_clock::time_point;

// Managers (other than `ignored`) whose managedFields entry owns `field`, in entry order.
std::vector<std::string> fieldManagers(const kube::JsonValue& object, const FieldSegments& field,
                                       std::string_view ignored);

// True when `manager` owns `field` and no other manager does: the value there is `manager`'s
// write. False for an empty `manager` and for a field nobody owns (a removed field).
bool ownedOnlyBy(const kube::JsonValue& object, const FieldSegments& field,
                 std::string_view manager);

// The latest time of an entry (other than `ignored`'s) owning `field`; for a field no such
// entry owns (a removed field), the latest time of any entry but `ignored`'s: that side's last
// write. nullopt when the object has no usable entry.
std::optional<WriteTime> fieldWriteTime(const kube::JsonValue& object, const FieldSegments& field,
                                        std::string_view ignored);

// An informer transform for policies that need field owners (`owner: both`): keeps of each
// managedFields entry only manager, time and fieldsV1, the parts read above.
void keepFieldOwners(kube::Json& object);

// "2026-11-23T10:00:00Z" (metav1.Time) as a time point; nullopt when malformed.
std::optional<WriteTime> parseRfc3339(std::string_view text);

}  // namespace bisync::engine
