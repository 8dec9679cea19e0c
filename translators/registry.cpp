#include <stdexcept>
#include <utility>

#include "translators/translator.hpp"

namespace bisync::translators {
namespace {

kube::GroupVersionKind kindOf(const kube::ResourceInfo& resource) {
  return {resource.group, resource.version, resource.kind};
}

}  // namespace

void Registry::add(std::unique_ptr<Translator> translator) {
  if (translator == nullptr) throw std::logic_error("Registry::add: null translator");
  const kube::ResourceInfo& resource = translator->resource();
  if (findByResource(resource.resource) != nullptr) {
    throw std::logic_error("Registry::add: resource \"" + resource.resource +
                           "\" is already registered");
  }
  if (findByKind(kindOf(resource)) != nullptr) {
    throw std::logic_error("Registry::add: kind " + resource.apiVersion() + "/" + resource.kind +
                           " is already registered");
  }
  translators_.push_back(std::move(translator));
}

const Translator* Registry::findByResource(std::string_view resource) const {
  for (const auto& translator : translators_) {
    if (translator->resource().resource == resource) return translator.get();
  }
  return nullptr;
}

const Translator* Registry::findByKind(const kube::GroupVersionKind& gvk) const {
  for (const auto& translator : translators_) {
    if (kindOf(translator->resource()) == gvk) return translator.get();
  }
  return nullptr;
}

std::vector<std::string> Registry::resourceNames() const {
  std::vector<std::string> names;
  names.reserve(translators_.size());
  for (const auto& translator : translators_) names.push_back(translator->resource().resource);
  return names;
}

std::vector<kube::GroupVersionKind> Registry::kinds() const {
  std::vector<kube::GroupVersionKind> kinds;
  kinds.reserve(translators_.size());
  for (const auto& translator : translators_) kinds.push_back(kindOf(translator->resource()));
  return kinds;
}

}  // namespace bisync::translators
