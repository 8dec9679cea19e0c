#include <algorithm>
#include <string_view>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "mapping/internal/sha256.hpp"

namespace bisync::mapping {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Indexing instead of iterator comparison keeps clang's C++20 reversed-operator warning on
// RapidJSON's iterators away.
void writeCanonical(const JsonValue& value, Writer& writer) {
  switch (value.GetType()) {
    case rapidjson::kNullType: writer.Null(); return;
    case rapidjson::kFalseType: writer.Bool(false); return;
    case rapidjson::kTrueType: writer.Bool(true); return;
    case rapidjson::kStringType: writer.String(value.GetString(), value.GetStringLength()); return;
    case rapidjson::kNumberType:
      if (value.IsInt64()) {
        writer.Int64(value.GetInt64());
      } else if (value.IsUint64()) {
        writer.Uint64(value.GetUint64());
      } else {
        writer.Double(value.GetDouble());
      }
      return;
    case rapidjson::kArrayType:
      writer.StartArray();
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) writeCanonical(value[i], writer);
      writer.EndArray();
      return;
    case rapidjson::kObjectType: {
      std::vector<const rapidjson::GenericMember<rapidjson::UTF8<>, JsonAllocator>*> members;
      members.reserve(value.MemberCount());
      for (rapidjson::SizeType i = 0; i < value.MemberCount(); ++i) {
        members.push_back(&*(value.MemberBegin() + i));
      }
      std::stable_sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
        return kube::stringView(a->name) < kube::stringView(b->name);
      });
      writer.StartObject();
      for (const auto* m : members) {
        writer.Key(m->name.GetString(), m->name.GetStringLength());
        writeCanonical(m->value, writer);
      }
      writer.EndObject();
      return;
    }
  }
}

}  // namespace

std::string canonicalJson(const JsonValue& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writeCanonical(value, writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string contentHash(const JsonValue& value) {
  return "sha256:" + internal::sha256Hex(canonicalJson(value));
}

}  // namespace bisync::mapping
