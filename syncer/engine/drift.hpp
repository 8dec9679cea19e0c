// Drift detection: does the target object still hold what the syncer wants it to hold?
// Pure functions of two objects (no I/O), used by the reconciler to decide whether to write.
//
// "desired" is what the translator produced (origin metadata and last-synced included).
// The target matches it when:
//   - every content field (Translator::contentFields) is equal, and absent where the desired
//     object lacks it: a key someone added to the target's data is drift too;
//   - every label and annotation of the desired object is present with the same value.
//     Other labels and annotations (added by other controllers on the target) are theirs.
#pragma once

#include <string>
#include <vector>

#include "syncer/kube/json.hpp"

namespace bisync::engine {

bool matchesDesired(const kube::JsonValue& actual, const kube::JsonValue& desired,
                    const std::vector<std::string>& contentFields);

}  // namespace bisync::engine
