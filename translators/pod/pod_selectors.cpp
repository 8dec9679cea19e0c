// translateSelectors: label selectors of a Pod spec, rewritten for the host.
#include <string>
#include <vector>

#include "mapping/identity_mapper.hpp"
#include "translators/pod/pod_json.hpp"
#include "translators/pod/pod_labels.hpp"
#include "translators/pod/pod_spec.hpp"

namespace bisync::translators::pod {
namespace {

using Allocator = kube::Json::AllocatorType;
using kube::stringValue;

// matchLabels keys and matchExpressions keys that are reserved become their host keys.
void rewriteKeys(JsonValue& selector, Allocator& allocator) {
  if (JsonValue* labels = objectAt(selector, "matchLabels")) {
    JsonValue rewritten(rapidjson::kObjectType);
    for (auto& label : labels->GetObject()) {
      rewritten.AddMember(stringValue(hostLabelKey(kube::stringView(label.name)), allocator),
                          JsonValue(label.value, allocator), allocator);
    }
    *labels = std::move(rewritten);
  }
  forEachObject(selector, "matchExpressions", [&allocator](JsonValue& expression) {
    auto key = expression.FindMember("key");
    if (key == expression.MemberEnd() || !key->value.IsString()) return;
    key->value = stringValue(hostLabelKey(kube::stringView(key->value)), allocator);
  });
}

// Narrows `selector` to Pods whose source namespace is one of `namespaces` (single mode).
void requireSourceNamespaces(JsonValue& selector, const std::vector<std::string>& namespaces,
                             Allocator& allocator) {
  JsonValue values(rapidjson::kArrayType);
  for (const std::string& ns : namespaces) {
    values.PushBack(stringValue(mapping::fitLabelValue(ns), allocator), allocator);
  }
  JsonValue expression(rapidjson::kObjectType);
  expression.AddMember("key", stringValue(mapping::kSourceNamespaceLabel, allocator), allocator);
  expression.AddMember("operator", "In", allocator);
  expression.AddMember("values", std::move(values), allocator);
  if (!selector.HasMember("matchExpressions") || !selector["matchExpressions"].IsArray()) {
    selector.RemoveMember("matchExpressions");
    selector.AddMember("matchExpressions", JsonValue(rapidjson::kArrayType), allocator);
  }
  selector["matchExpressions"].PushBack(std::move(expression), allocator);
}

// The source namespaces a term selects in: its `namespaces`, else the Pod's own (Kubernetes:
// an empty list means "this Pod's namespace").
std::vector<std::string> termNamespaces(const JsonValue& term, std::string_view ns) {
  std::vector<std::string> namespaces;
  const JsonValue* listed = kube::member(term, "namespaces");
  if (listed != nullptr && listed->IsArray()) {
    for (const JsonValue& item : listed->GetArray()) {
      if (item.IsString()) namespaces.emplace_back(kube::stringView(item));
    }
  }
  if (namespaces.empty()) namespaces.emplace_back(ns);
  return namespaces;
}

class SelectorRewrite {
 public:
  SelectorRewrite(std::string_view ns, const mapping::IdentityMapper& mapper, Allocator& allocator)
      : ns_(ns),
        single_(mapper.config().mode == mapping::NamespaceMode::Single),
        mapper_(mapper),
        allocator_(allocator) {}

  // A selector without `namespaces` (a topology spread constraint): the Pod's own namespace.
  void selector(JsonValue* selector) {
    if (selector == nullptr) return;  // a null selector selects nothing: leave it so
    rewriteKeys(*selector, allocator_);
    if (single_) requireSourceNamespaces(*selector, {std::string(ns_)}, allocator_);
  }

  void term(JsonValue& term) {
    JsonValue* labelSelector = objectAt(term, "labelSelector");
    if (labelSelector == nullptr) return;
    rewriteKeys(*labelSelector, allocator_);
    const std::vector<std::string> namespaces = termNamespaces(term, ns_);
    if (single_) {
      requireSourceNamespaces(*labelSelector, namespaces, allocator_);
      term.RemoveMember("namespaces");  // the one target namespace: the Pod's own there
      return;
    }
    if (!term.HasMember("namespaces")) return;
    JsonValue mapped(rapidjson::kArrayType);
    for (const std::string& source : namespaces) {
      mapped.PushBack(stringValue(mapper_.targetNamespace(source), allocator_), allocator_);
    }
    term["namespaces"] = std::move(mapped);
  }

  void affinity(JsonValue* affinity) {
    if (affinity == nullptr) return;
    for (const char* kind : {"podAffinity", "podAntiAffinity"}) {
      JsonValue* rules = objectAt(*affinity, kind);
      if (rules == nullptr) continue;
      forEachObject(*rules, "requiredDuringSchedulingIgnoredDuringExecution",
                    [this](JsonValue& item) { term(item); });
      forEachObject(*rules, "preferredDuringSchedulingIgnoredDuringExecution",
                    [this](JsonValue& weighted) {
                      if (JsonValue* inner = objectAt(weighted, "podAffinityTerm")) term(*inner);
                    });
    }
  }

 private:
  std::string_view ns_;
  bool single_;
  const mapping::IdentityMapper& mapper_;
  Allocator& allocator_;
};

}  // namespace

void translateSelectors(JsonValue& spec, std::string_view ns, const mapping::IdentityMapper& mapper,
                        Allocator& allocator) {
  SelectorRewrite rewrite(ns, mapper, allocator);
  rewrite.affinity(objectAt(spec, "affinity"));
  forEachObject(spec, "topologySpreadConstraints", [&rewrite](JsonValue& constraint) {
    rewrite.selector(objectAt(constraint, "labelSelector"));
  });
}

}  // namespace bisync::translators::pod
