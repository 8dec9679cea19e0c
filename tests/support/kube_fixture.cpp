#include "tests/support/kube_fixture.hpp"

#include <cctype>
#include <iostream>
#include <stdexcept>

#include "syncer/kube/json.hpp"
#include "syncer/kube/resource.hpp"
#include "tests/support/objects.hpp"

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
  const kube::Json object = namespaceObject(name_);
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

LoopClient::LoopClient(LoopThread& loop, kube::RestConfig config, kube::ClientOptions options)
    : loop_(loop) {
  client_ = loop_.call(
      [&] { return std::make_unique<kube::Client>(loop_.io(), std::move(config), options); });
}

LoopClient::~LoopClient() {
  loop_.call([this] { client_.reset(); });
}

KubeFixture::KubeFixture(const kube::ClientOptions& options)
    : KubeFixture(sharedTestbed(), options) {}

KubeFixture::KubeFixture(Testbed& testbed, const kube::ClientOptions& options)
    : testbed_(testbed),
      source_(loop_, testbed_.restConfig(Side::Source), options),
      target_(loop_, testbed_.restConfig(Side::Target), options) {}

}  // namespace bisync::testing
