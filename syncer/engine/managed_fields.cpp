#include "syncer/engine/managed_fields.hpp"

#include <algorithm>
#include <cstddef>

#include "policies/field_path.hpp"

namespace bisync::engine {

namespace {

using kube::JsonValue;

// fieldsV1 names a map key or struct field `k` as "f:k", and the item of a list keyed by name
// (a "[name=app]" segment of ours) as `k:{"name":"app"}`.
std::string fieldsV1Key(const std::string& segment) {
  const std::string_view item = policies::keyedItemName(segment);
  if (item.empty()) return "f:" + segment;
  kube::Json key(rapidjson::kObjectType);
  key.AddMember("name", kube::stringValue(item, key.GetAllocator()), key.GetAllocator());
  return "k:" + kube::toJson(key);
}

bool ownsField(const JsonValue& fieldsV1, const FieldSegments& field) {
  const JsonValue* node = &fieldsV1;
  for (const std::string& segment : field) {
    if (!node->IsObject()) return false;
    node = kube::member(*node, fieldsV1Key(segment));
    if (node == nullptr) return false;
  }
  return true;
}

template <typename Visit>
void forEachEntry(const JsonValue& object, std::string_view ignored, const Visit& visit) {
  const JsonValue* entries = kube::at(object, "/metadata/managedFields");
  if (entries == nullptr || !entries->IsArray()) return;
  for (const JsonValue& entry : entries->GetArray()) {
    if (!entry.IsObject()) continue;
    const std::string_view manager = kube::stringMember(entry, "manager");
    if (manager.empty() || manager == ignored) continue;
    visit(entry, manager);
  }
}

}  // namespace

std::vector<std::string> fieldManagers(const JsonValue& object, const FieldSegments& field,
                                       std::string_view ignored) {
  std::vector<std::string> managers;
  forEachEntry(object, ignored, [&](const JsonValue& entry, std::string_view manager) {
    const JsonValue* fields = kube::member(entry, "fieldsV1");
    if (fields != nullptr && ownsField(*fields, field)) managers.emplace_back(manager);
  });
  return managers;
}

bool ownedOnlyBy(const JsonValue& object, const FieldSegments& field, std::string_view manager) {
  if (manager.empty()) return false;
  const std::vector<std::string> owners = fieldManagers(object, field, "");
  return !owners.empty() && std::all_of(owners.begin(), owners.end(),
                                        [manager](const auto& owner) { return owner == manager; });
}

std::optional<WriteTime> fieldWriteTime(const JsonValue& object, const FieldSegments& field,
                                        std::string_view ignored) {
  std::optional<WriteTime> owning;
  std::optional<WriteTime> any;
  forEachEntry(object, ignored, [&](const JsonValue& entry, std::string_view) {
    const std::optional<WriteTime> time = parseRfc3339(kube::stringMember(entry, "time"));
    if (!time) return;
    if (!any || *time > *any) any = time;
    const JsonValue* fields = kube::member(entry, "fieldsV1");
    if (fields != nullptr && ownsField(*fields, field) && (!owning || *time > *owning)) {
      owning = time;
    }
  });
  return owning ? owning : any;
}

void keepFieldOwners(kube::Json& object) {
  JsonValue* metadata = object.IsObject() ? &object : nullptr;
  if (metadata != nullptr) {
    auto it = object.FindMember("metadata");
    metadata = it != object.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
  }
  if (metadata == nullptr) return;
  auto entries = metadata->FindMember("managedFields");
  if (entries == metadata->MemberEnd() || !entries->value.IsArray()) return;
  for (JsonValue& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) continue;
    for (const char* dropped : {"apiVersion", "fieldsType", "operation", "subresource"}) {
      entry.RemoveMember(dropped);
    }
  }
}

std::optional<WriteTime> parseRfc3339(std::string_view text) {
  // metav1.Time is always UTC with second precision: "YYYY-MM-DDTHH:MM:SSZ".
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != kShape.size()) return std::nullopt;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return std::nullopt;
  }
  const auto number = [text](std::size_t at, std::size_t length) {
    int value = 0;
    for (std::size_t i = at; i < at + length; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  using namespace std::chrono;
  const year_month_day date{year{number(0, 4)}, month{static_cast<unsigned>(number(5, 2))},
                            day{static_cast<unsigned>(number(8, 2))}};
  const int hours = number(11, 2);
  const int minutes = number(14, 2);
  const int seconds = number(17, 2);
  // system_clock counts nanoseconds: it holds the years 1678-2262 only.
  if (!date.ok() || date.year() < year{1970} || date.year() > year{2200} || hours > 23 ||
      minutes > 59 || seconds > 60) {
    return std::nullopt;
  }
  return sys_days{date} + std::chrono::hours{hours} + std::chrono::minutes{minutes} +
         std::chrono::seconds{seconds};
}

}  // namespace bisync::engine
