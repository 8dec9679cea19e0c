#include "tests/bench/bench_kind.hpp"

namespace bisync::bench {

std::string BenchKind::resourceKey() const {
  return resource.group.empty() ? resource.resource : resource.resource + "." + resource.group;
}

BenchKind configMapKind() { return {kube::resources::configMaps(), "data", "cm", "ConfigMaps"}; }

}  // namespace bisync::bench
