// What the informers keep of each object (syncer/engine/cache_forms.hpp), and the digest that
// stands for the fields a compacted target copy no longer holds: drift must still be drift.
#include <optional>
#include <string>
#include <string_view>

#include "mapping/identity_mapper.hpp"
#include "policies/ownership.hpp"
#include "syncer/engine/cache_forms.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/field_rules.hpp"
#include "tests/unit/parse_json.hpp"

namespace {

using namespace bisync::policies;
using bisync::engine::CacheForms;
using bisync::engine::storedWrittenDigest;
using bisync::engine::syncView;
using bisync::engine::writtenDigest;
using bisync::engine::writtenHash;
using bisync::kube::Json;
using bisync::kube::JsonValue;
using bisync::kube::stringAt;
using bisync::kube::toJson;
using bisync::mapping::IdentityMapper;
using bisync::unit::parse;
using bisync::unit::rule;

// The built-in ConfigMap policy: everything the source has is the source's.
OwnershipMap defaultPolicy() {
  return OwnershipMap({rule("/data", Owner::Source), rule("/binaryData", Owner::Source),
                       rule("/immutable", Owner::Source), rule("/metadata/labels/*", Owner::Source),
                       rule("/metadata/annotations/*", Owner::Source)});
}

// Labels shared, host.io/ annotations the target's, data the source's.
OwnershipMap sharedPolicy() {
  return OwnershipMap({rule("/data", Owner::Source),
                       rule("/metadata/labels/*", Owner::Both, ConflictStrategy::NewestWins),
                       rule("/metadata/annotations/host.io~1*", Owner::Target),
                       rule("/metadata/annotations/*", Owner::Source)});
}

// The apply configuration the syncer sends for source data {k: v, k2: v2} and label team=x.
const char* kDesired = R"({"apiVersion":"v1","kind":"ConfigMap",
  "metadata":{"name":"a","namespace":"vc-ns","resourceVersion":"7",
    "labels":{"kube-bisync.io/managed-by":"vc","kube-bisync.io/source-namespace":"ns",
              "kube-bisync.io/source-name":"a","team":"x"},
    "annotations":{"kube-bisync.io/last-synced":"sha256:1","kube-bisync.io/source-cluster":"vc",
                   "kube-bisync.io/source-namespace":"ns","kube-bisync.io/source-name":"a",
                   "kube-bisync.io/source-uid":"u1"}},
  "data":{"k":"v","k2":"v2"}})";

// The target object as the server returns it once it holds exactly that.
const char* kTarget = R"({"apiVersion":"v1","kind":"ConfigMap",
  "metadata":{"name":"a","namespace":"vc-ns","uid":"t1","resourceVersion":"8",
    "creationTimestamp":"2026-12-01T10:00:00Z",
    "managedFields":[{"manager":"kube-bisync","operation":"Apply","time":"2026-12-01T10:00:00Z",
                      "fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:k":{},"f:k2":{}}}}],
    "labels":{"kube-bisync.io/managed-by":"vc","kube-bisync.io/source-namespace":"ns",
              "kube-bisync.io/source-name":"a","team":"x"},
    "annotations":{"kube-bisync.io/last-synced":"sha256:1","kube-bisync.io/source-cluster":"vc",
                   "kube-bisync.io/source-namespace":"ns","kube-bisync.io/source-name":"a",
                   "kube-bisync.io/source-uid":"u1"}},
  "data":{"k2":"v2","k":"v"}})";

// kTarget with `edit` applied as a JSON merge patch would (objects merged, null removes).
Json targetWith(const std::string& edit) {
  Json target = parse(kTarget);
  const Json patch = parse(edit);
  const auto merge = [&](auto& self, JsonValue& into, const JsonValue& from) -> void {
    for (const auto& member : from.GetObject()) {
      auto it = into.FindMember(member.name);
      if (member.value.IsNull()) {
        if (it != into.MemberEnd()) into.RemoveMember(it);
      } else if (it != into.MemberEnd() && it->value.IsObject() && member.value.IsObject()) {
        self(self, it->value, member.value);
      } else if (it != into.MemberEnd()) {
        it->value.CopyFrom(member.value, target.GetAllocator());
      } else {
        into.AddMember(JsonValue(member.name, target.GetAllocator()),
                       JsonValue(member.value, target.GetAllocator()), target.GetAllocator());
      }
    }
  };
  merge(merge, target, patch);
  return target;
}

IdentityMapper vcMapper() {
  bisync::mapping::MapperConfig config;
  config.clusterName = "vc";
  return IdentityMapper(config);
}

CacheForms formsFor(const IdentityMapper& mapper, const OwnershipMap& ownership) {
  CacheForms forms;
  forms.mapper = &mapper;
  forms.ownership = &ownership;
  return forms;
}

}  // namespace

TEST_CASE("a target that holds what the syncer applies has the apply's hash, whatever else",
          "[cache-forms]") {
  const OwnershipMap ownership = defaultPolicy();
  const Json desired = parse(kDesired);
  CHECK(writtenHash(parse(kTarget), ownership) == writtenHash(desired, ownership));
  CHECK(writtenHash(desired, ownership).size() == 64);
  CHECK(writtenDigest(writtenHash(desired, ownership)).size() == 32);
  // Runtime metadata and fields no rule covers are not the syncer's.
  const Json extra = targetWith(R"({"metadata":{"generation":3},"status":{"x":1}})");
  CHECK(writtenHash(extra, ownership) == writtenHash(desired, ownership));
  // A key of the syncer's prefix it does not write is someone else's.
  CHECK(writtenHash(targetWith(R"({"metadata":{"annotations":{"kube-bisync.io/note":"x"}}})"),
                    ownership) == writtenHash(desired, ownership));
  // last-synced carries the hash; it is compared beside it, not hashed into it.
  const Json stamped =
      targetWith(R"({"metadata":{"annotations":{"kube-bisync.io/last-synced":"sha256:2"}}})");
  CHECK(writtenHash(stamped, ownership) == writtenHash(desired, ownership));
}

TEST_CASE("changed, missing or extra fields the syncer writes change the hash", "[cache-forms]") {
  const OwnershipMap ownership = defaultPolicy();
  const std::string wanted = writtenHash(parse(kDesired), ownership);
  for (const char* edit : {
           R"({"data":{"k":"tampered"}})",                                  // a changed value
           R"({"data":{"k2":null}})",                                       // a removed key
           R"({"data":{"extra":"x"}})",                                     // a key added
           R"({"binaryData":{"b":"AA=="}})",                                // a field added
           R"({"immutable":false})",                                        // a field added
           R"({"metadata":{"labels":{"team":"y"}}})",                       // a source label
           R"({"metadata":{"labels":{"other":"z"}}})",                      // a label added
           R"({"metadata":{"labels":{"kube-bisync.io/managed-by":"x"}}})",  // origin metadata
           R"({"metadata":{"labels":{"kube-bisync.io/source-name":"b"}}})",
           R"({"metadata":{"annotations":{"kube-bisync.io/source-uid":null}}})",
           R"({"metadata":{"annotations":{"kube-bisync.io/merge-base":"{}"}}})",
       }) {
    INFO(edit);
    CHECK(writtenHash(targetWith(edit), ownership) != wanted);
  }
}

TEST_CASE("malformed target data gives a hash, never a crash", "[cache-forms]") {
  const OwnershipMap ownership = defaultPolicy();
  const Json odd = parse(R"({"metadata":{"labels":"oops","annotations":[1]},"data":["k","v"]})");
  CHECK(writtenHash(odd, ownership) != writtenHash(parse(kDesired), ownership));
  CHECK(writtenHash(parse("[]"), ownership).size() == 64);
}

TEST_CASE(
    "a compacted copy of ours keeps identity, the syncer's keys, target and shared fields, and "
    "the digest of the rest",
    "[cache-forms]") {
  const IdentityMapper mapper = vcMapper();
  const OwnershipMap ownership = sharedPolicy();
  Json target = targetWith(
      R"({"metadata":{"deletionTimestamp":"2026-12-01T11:00:00Z","labels":{"tier":"web"},
          "annotations":{"host.io/zone":"z1","note":"from the source"}}})");
  const std::string digest(writtenDigest(writtenHash(target, ownership)));
  const CacheForms forms = formsFor(mapper, ownership);
  forms.compactTarget(target);

  CHECK(storedWrittenDigest(target, ownership) == digest);
  CHECK(stringAt(target, "/metadata/name") == "a");
  CHECK(stringAt(target, "/metadata/namespace") == "vc-ns");
  CHECK(stringAt(target, "/metadata/uid") == "t1");
  CHECK(stringAt(target, "/metadata/resourceVersion") == "8");
  CHECK(stringAt(target, "/metadata/deletionTimestamp") == "2026-12-01T11:00:00Z");
  CHECK(stringAt(target, "/metadata/labels/kube-bisync.io~1managed-by") == "vc");
  // The other origin labels are only in the digest: nothing reads them back.
  CHECK(bisync::kube::at(target, "/metadata/labels/kube-bisync.io~1source-name") == nullptr);
  CHECK(stringAt(target, "/metadata/annotations/kube-bisync.io~1source-uid") == "u1");
  // Shared labels and target-owned annotations stay: they merge and travel up.
  CHECK(stringAt(target, "/metadata/labels/tier") == "web");
  CHECK(stringAt(target, "/metadata/labels/team") == "x");
  CHECK(stringAt(target, "/metadata/annotations/host.io~1zone") == "z1");
  // The source's fields, runtime metadata and managedFields do not.
  CHECK(bisync::kube::at(target, "/data") == nullptr);
  CHECK(bisync::kube::at(target, "/metadata/annotations/note") == nullptr);
  CHECK(bisync::kube::at(target, "/metadata/creationTimestamp") == nullptr);
  CHECK(bisync::kube::at(target, "/metadata/managedFields") == nullptr);
  CHECK(bisync::kube::at(target, "/apiVersion") == nullptr);
  // What the reconciler merges against is what the target owns or shares.
  CHECK(toJson(syncView(target)) ==
        R"({"metadata":{"labels":{"team":"x","tier":"web"},"annotations":{"host.io/zone":"z1"}}})");
}

TEST_CASE("a compacted copy keeps the field owners when the policy shares fields",
          "[cache-forms]") {
  const IdentityMapper mapper = vcMapper();
  const OwnershipMap ownership = sharedPolicy();
  CacheForms forms = formsFor(mapper, ownership);
  forms.keepFieldOwners = true;
  Json target = parse(kTarget);
  forms.compactTarget(target);
  CHECK(stringAt(target, "/metadata/managedFields/0/manager") == "kube-bisync");
  CHECK(stringAt(target, "/metadata/managedFields/0/time") == "2026-12-01T10:00:00Z");
  CHECK(bisync::kube::at(target, "/metadata/managedFields/0/operation") == nullptr);
}

TEST_CASE("an object labelled ours with inconsistent origin metadata is cached as a stub",
          "[cache-forms]") {
  const IdentityMapper mapper = vcMapper();
  const OwnershipMap ownership = defaultPolicy();
  const CacheForms forms = formsFor(mapper, ownership);
  for (const char* edit :
       {R"({"metadata":{"labels":{"kube-bisync.io/source-name":"b"}}})",
        R"({"metadata":{"annotations":{"kube-bisync.io/source-uid":null}}})",
        R"({"metadata":{"annotations":{"kube-bisync.io/source-cluster":"other"}}})"}) {
    INFO(edit);
    Json forged = targetWith(edit);
    forms.compactTarget(forged);
    CHECK(toJson(forged) ==
          R"({"metadata":{"name":"a","namespace":"vc-ns","uid":"t1","resourceVersion":"8",)"
          R"("labels":{"kube-bisync.io/managed-by":"vc"}}})");
    CHECK_FALSE(mapper.originOf(forged).has_value());
  }
  Json genuine = targetWith("{}");
  forms.compactTarget(genuine);
  CHECK(mapper.originOf(genuine).has_value());
}

TEST_CASE("an object that is not ours is cached as a stub, unless its owner lets it flow up",
          "[cache-forms]") {
  const IdentityMapper mapper = vcMapper();
  const OwnershipMap ownership = defaultPolicy();
  const char* foreign = R"({"metadata":{"name":"b","namespace":"vc-ns","uid":"f1",
      "resourceVersion":"9","labels":{"kube-bisync.io/managed-by":"other","app":"x"},
      "managedFields":[{"manager":"kubectl"}]},"data":{"k":"v"}})";
  CacheForms forms = formsFor(mapper, ownership);
  Json stub = parse(foreign);
  forms.compactTarget(stub);
  CHECK(toJson(stub) ==
        R"({"metadata":{"name":"b","namespace":"vc-ns","uid":"f1","resourceVersion":"9",)"
        R"("labels":{"kube-bisync.io/managed-by":"other"}}})");

  // createOnSource: still a stub without its owner's opt-in (a host's distributed secret)...
  forms.keepForeignContent = true;
  Json notOptedIn = parse(foreign);
  forms.compactTarget(notOptedIn);
  CHECK(stringAt(notOptedIn, "/data/k").empty());
  // ...and whole with it.
  Json whole = parse(foreign);
  bisync::kube::JsonPointer("/metadata/labels/kube-bisync.io~1create-on-source").Set(whole, "true");
  forms.compactTarget(whole);
  CHECK(stringAt(whole, "/data/k") == "v");
  CHECK(stringAt(whole, "/metadata/labels/app") == "x");
  CHECK(bisync::kube::at(whole, "/metadata/managedFields") == nullptr);
}

TEST_CASE("a source object keeps identity, creation time, labels, annotations and content",
          "[cache-forms]") {
  const IdentityMapper mapper = vcMapper();
  const OwnershipMap ownership = defaultPolicy();
  CacheForms forms = formsFor(mapper, ownership);
  Json source = parse(R"({"apiVersion":"v1","kind":"ConfigMap",
    "metadata":{"name":"a","namespace":"ns","uid":"s1","resourceVersion":"5",
      "creationTimestamp":"2026-12-01T10:00:00Z","generation":2,
      "labels":{"team":"x"},"annotations":{"note":"y"},
      "managedFields":[{"manager":"kubectl","time":"2026-12-01T10:00:00Z","fieldsV1":{}}]},
    "data":{"k":"v"},"immutable":false})");
  forms.compactSource(source);
  CHECK(
      toJson(source) ==
      R"({"metadata":{"name":"a","namespace":"ns","uid":"s1","resourceVersion":"5",)"
      R"("creationTimestamp":"2026-12-01T10:00:00Z","labels":{"team":"x"},"annotations":{"note":"y"}},"data":{"k":"v"},"immutable":false})");

  forms.keepFieldOwners = true;
  Json shared = parse(R"({"metadata":{"name":"a","managedFields":[{"manager":"kubectl",
      "operation":"Update","time":"2026-12-01T10:00:00Z","fieldsV1":{"f:data":{}}}]}})");
  forms.compactSource(shared);
  CHECK(stringAt(shared, "/metadata/managedFields/0/manager") == "kubectl");
  CHECK(stringAt(shared, "/metadata/managedFields/0/time") == "2026-12-01T10:00:00Z");
  CHECK(bisync::kube::at(shared, "/metadata/managedFields/0/fieldsV1/f:data") != nullptr);
  CHECK(bisync::kube::at(shared, "/metadata/managedFields/0/operation") == nullptr);
}
