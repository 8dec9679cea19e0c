#include <algorithm>
#include <string_view>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "mapping/internal/sha256.hpp"

namespace bisync::mapping {
namespace {

using Member = rapidjson::GenericMember<rapidjson::UTF8<>, JsonAllocator>;

bool nameBefore(const Member& a, const Member& b) {
  return kube::stringView(a.name) < kube::stringView(b.name);
}

// Indexing instead of iterator comparison keeps clang's C++20 reversed-operator warning on
// RapidJSON's iterators away.
template <typename Writer>
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
      const rapidjson::SizeType count = value.MemberCount();
      writer.StartObject();
      if (count == 0) {
        writer.EndObject();
        return;
      }
      const Member* first = &*value.MemberBegin();
      const auto writeMember = [&writer](const Member& member) {
        writer.Key(member.name.GetString(), member.name.GetStringLength());
        writeCanonical(member.value, writer);
      };
      // Go sorts map keys, so the maps of a server's objects come sorted: no copy to sort then.
      if (std::is_sorted(first, first + count, nameBefore)) {
        for (rapidjson::SizeType i = 0; i < count; ++i) writeMember(first[i]);
      } else {
        std::vector<const Member*> sorted;
        sorted.reserve(count);
        for (rapidjson::SizeType i = 0; i < count; ++i) sorted.push_back(first + i);
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const Member* a, const Member* b) { return nameBefore(*a, *b); });
        for (const Member* member : sorted) writeMember(*member);
      }
      writer.EndObject();
      return;
    }
  }
}

}  // namespace

std::string canonicalJson(const JsonValue& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writeCanonical(value, writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string contentHash(const JsonValue& value) {
  // The digest of the canonical text, without building the text.
  internal::Sha256Stream digest;
  rapidjson::Writer<internal::Sha256Stream> writer(digest);
  writeCanonical(value, writer);
  return "sha256:" + digest.finishHex();
}

}  // namespace bisync::mapping
