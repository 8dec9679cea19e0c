// The kinds of benchmark object. Every benchmark object holds {payload, seq} in one member, its
// content: a ConfigMap's data.
#pragma once

#include <string>

#include "syncer/kube/resource.hpp"

namespace bisync::bench {

struct BenchKind {
  kube::ResourceInfo resource;
  std::string content;     // "data": the member a correct copy must equal
  std::string namePrefix;  // "cm": objects are named cm-000042
  std::string plural;      // "ConfigMaps": for progress messages
  // The daemon's name of the kind in its metrics: "configmaps", "widgets.example.com".
  std::string resourceKey() const;
};

BenchKind configMapKind();

}  // namespace bisync::bench
