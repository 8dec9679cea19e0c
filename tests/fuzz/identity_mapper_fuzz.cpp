// The identity mapper with fuzzed valid configurations and source keys. Properties: target
// namespaces and names are valid DNS names within their limits; stampOrigin then originOf gives
// back the source; two distinct source keys never share a target key; and two distinct clusters
// never share a target namespace (the old prefix mapping `<cluster>-<ns>` broke it: cluster a
// with namespace b-c and cluster a-b with namespace c; `<cluster>--<ns>` keeps them apart).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "mapping/identity_mapper.hpp"
#include "mapping/names.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bisync::fuzz::require;
using namespace bisync::mapping;

std::string describe(const SourceKey& key) { return key.ns + "/" + key.name; }
std::string describe(const TargetKey& key) { return key.ns + "/" + key.name; }

// Any string, or one of a few letters and '-': names that differ only in where their dashes are
// are the ones that collide when joined with '-', and random bytes rarely make them.
std::string nameFrom(FuzzedDataProvider& input, std::size_t maxLength) {
  if (input.ConsumeBool()) return input.ConsumeRandomLengthString(maxLength);
  std::string name(input.ConsumeIntegralInRange<std::size_t>(1, 8), 'a');
  for (char& c : name) c = "ab-"[input.ConsumeIntegralInRange(0, 2)];
  return name;
}

std::optional<IdentityMapper> mapperFrom(FuzzedDataProvider& input) {
  MapperConfig config;
  config.clusterName = nameFrom(input, 48);
  if (input.ConsumeBool()) {
    config.mode = NamespaceMode::Single;
    config.targetNamespace = nameFrom(input, 70);
  }
  bisync::kube::Result<IdentityMapper> mapper = IdentityMapper::create(config);
  if (!mapper) return std::nullopt;
  return std::move(*mapper);
}

// A key a real source object can have: a namespace that is a DNS label (or none), a name that is
// a DNS subdomain, or a DNS label for kinds named like Services.
std::optional<SourceKey> sourceKeyFrom(FuzzedDataProvider& input, NameLimit limit) {
  SourceKey key;
  key.ns = nameFrom(input, 70);
  key.name = nameFrom(input, 260);
  if (!key.ns.empty() && !isDnsLabel(key.ns)) return std::nullopt;
  if (!isValidName(key.name, limit)) return std::nullopt;
  return key;
}

void checkTarget(const IdentityMapper& mapper, const SourceKey& source, NameLimit limit) {
  const TargetKey target = mapper.toTarget(source, limit);
  require(target.ns.empty() == source.ns.empty() && (target.ns.empty() || isDnsLabel(target.ns)),
          "the target namespace is a DNS label, empty exactly for cluster-scoped sources",
          describe(source) + " -> " + describe(target));
  require(isValidName(target.name, limit), "the target name is valid for its kind",
          describe(source) + " -> " + describe(target));
}

void checkOriginRoundTrip(const IdentityMapper& mapper, const SourceKey& source,
                          const std::string& uid) {
  bisync::kube::Json object(rapidjson::kObjectType);
  require(mapper.stampOrigin(object, object.GetAllocator(), source, uid).has_value(),
          "stampOrigin works on an empty object");
  const auto origin = mapper.originOf(object);
  require(origin.has_value() &&
              *origin == Origin{mapper.config().clusterName, source.ns, source.name, uid},
          "originOf gives back what stampOrigin recorded", describe(source));
}

// Two syncer instances (prefix mode) on one target with distinct cluster names.
void checkClustersApart(FuzzedDataProvider& input) {
  MapperConfig first{nameFrom(input, 48), NamespaceMode::Prefix, ""};
  MapperConfig second{nameFrom(input, 48), NamespaceMode::Prefix, ""};
  const std::string firstNamespace = nameFrom(input, 70);
  const std::string secondNamespace = nameFrom(input, 70);
  if (first.clusterName == second.clusterName || !isDnsLabel(firstNamespace) ||
      !isDnsLabel(secondNamespace)) {
    return;
  }
  const auto firstMapper = IdentityMapper::create(first);
  const auto secondMapper = IdentityMapper::create(second);
  if (!firstMapper || !secondMapper) return;
  const std::string mapped = firstMapper->targetNamespace(firstNamespace);
  require(mapped != secondMapper->targetNamespace(secondNamespace),
          "two clusters never share a target namespace",
          first.clusterName + " ns " + firstNamespace + " and " + second.clusterName + " ns " +
              secondNamespace + " -> " + mapped);
}

void checkOneMapper(FuzzedDataProvider& input) {
  const std::optional<IdentityMapper> mapper = mapperFrom(input);
  if (!mapper) return;
  const NameLimit limit = input.ConsumeBool() ? kLabelName : kSubdomainName;
  const std::optional<SourceKey> first = sourceKeyFrom(input, limit);
  const std::optional<SourceKey> second = sourceKeyFrom(input, limit);
  const std::string uid = input.ConsumeRandomLengthString(40);
  for (const auto& key : {first, second}) {
    if (!key) continue;
    checkTarget(*mapper, *key, limit);
    if (!uid.empty()) checkOriginRoundTrip(*mapper, *key, uid);
  }
  if (first && second && !(*first == *second)) {
    require(!(mapper->toTarget(*first, limit) == mapper->toTarget(*second, limit)),
            "two source keys never share a target key",
            describe(*first) + " and " + describe(*second) + " -> " +
                describe(mapper->toTarget(*first, limit)));
  }
}

}  // namespace

// Input: a first byte choosing the property (one mapper's, or two clusters'), then what the
// FuzzedDataProvider reads.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzedDataProvider input(data + 1, size - 1);
  if ((data[0] & 1U) != 0) {
    checkClustersApart(input);
  } else {
    checkOneMapper(input);
  }
  return 0;
}
