#include "tests/support/kube_fixture.hpp"

#include <cctype>
#include <iostream>
#include <stdexcept>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::testing {

std::string uniqueName(std::string_view prefix) {
  std::string name;
  for (char c : prefix.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) != 0 ? static_cast<char>(std::tolower(u)) : '-';
  }
  while (!name.empty() && name.front() == '-') {
    name.erase(name.begin());
  }
  if (name.empty()) {
    name = "it";
  }
  return name + "-" + randomHex(4);
}

ScopedNamespace::ScopedNamespace(LoopThread& loop, kube::Client& client, std::string_view prefix)
    : loop_(loop), client_(client), name_(uniqueName(prefix)) {
  kube::Json object;
  object.SetObject();
  auto& allocator = object.GetAllocator();
  object.AddMember("apiVersion", "v1", allocator);
  object.AddMember("kind", "Namespace", allocator);
  kube::JsonValue metadata(rapidjson::kObjectType);
  metadata.AddMember("name", kube::JsonValue(name_, allocator), allocator);
  object.AddMember("metadata", metadata, allocator);
  kube::Result<kube::Json> created =
      loop_.run(client_.create(kube::resources::namespaces(), "", object));
  if (!created) {
    throw std::runtime_error("cannot create namespace " + name_ + ": " +
                             created.error().describe());
  }
}

ScopedNamespace::~ScopedNamespace() {
  std::vector<kube::Client*> clients = {&client_};
  clients.insert(clients.end(), alsoFrom_.begin(), alsoFrom_.end());
  for (kube::Client* client : clients) {
    try {
      kube::Result<void> removed =
          loop_.run(client->remove(kube::resources::namespaces(), "", name_));
      if (!removed && !removed.error().isNotFound()) {
        std::cerr << "warning: deleting test namespace " << name_ << ": "
                  << removed.error().describe() << "\n";
      }
    } catch (const std::exception& e) {
      std::cerr << "warning: deleting test namespace " << name_ << ": " << e.what() << "\n";
    }
  }
}

KubeFixture::KubeFixture(kube::ClientOptions options) : testbed_(sharedTestbed()) {
  kube::RestConfig sourceConfig = testbed_.restConfig(Side::Source);
  kube::RestConfig targetConfig = testbed_.restConfig(Side::Target);
  loop_.call([&] {
    source_ = std::make_unique<kube::Client>(loop_.io(), std::move(sourceConfig), options);
    target_ = std::make_unique<kube::Client>(loop_.io(), std::move(targetConfig), options);
    return 0;
  });
}

KubeFixture::~KubeFixture() {
  loop_.call([this] {
    source_.reset();
    target_.reset();
    return 0;
  });
}

}  // namespace bisync::testing
