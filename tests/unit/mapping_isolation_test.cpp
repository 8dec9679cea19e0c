// Syncer instances sharing one target cluster must never map into the same namespace: each
// would take the other's objects for its own. Found by tests/fuzz (identity_mapper, input
// tests/fuzz/corpus/identity_mapper/crash-two-clusters-one-namespace) under the old
// `<cluster>-<ns>` mapping; `<cluster>--<ns>` with cluster names free of "--" keeps them apart
// (docs/mapping.md). The wider property, over adversarial names in both modes, is in
// mapping_test.cpp ("two instances never map sources to one target namespace or name").
#include <string>

#include "mapping/identity_mapper.hpp"
#include "tests/support/catch.hpp"

using namespace bisync::mapping;

TEST_CASE("two clusters never map their namespaces to the same target namespace",
          "[mapping][fuzz-finding]") {
  const auto mapped = [](const std::string& cluster, const std::string& ns) {
    return IdentityMapper(MapperConfig{cluster, NamespaceMode::Prefix, ""}).targetNamespace(ns);
  };
  CHECK(mapped("a", "b-c") != mapped("a-b", "c"));
  CHECK(mapped("a-a", "a") != mapped("a", "a-a"));  // the fuzzer's input
}
