// What an integration test needs to talk to the testbed with the project's own client: an
// event loop on a background thread, kube::Clients that live on it (one admin client per
// side, or any client of the test's own), and namespaces that are deleted again at scope end.
//
// The clients live on the loop (they are created, used and destroyed on its thread); test
// code calls them through run(), which blocks until the coroutine finishes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "syncer/kube/client.hpp"
#include "tests/support/loop_thread.hpp"
#include "tests/support/testbed.hpp"

namespace bisync::testing {

// A namespace with a unique name ("<prefix>-<random>") created on one server and deleted
// when the object goes out of scope (the testbed's kube-controller-manager then empties and
// removes it in the background; deletion is not waited for). Must not outlive `loop` or
// `client`.
class ScopedNamespace {
 public:
  // Throws std::runtime_error when the server refuses to create it.
  ScopedNamespace(LoopThread& loop, kube::Client& client, std::string_view prefix = "it");
  ~ScopedNamespace();
  ScopedNamespace(const ScopedNamespace&) = delete;
  ScopedNamespace& operator=(const ScopedNamespace&) = delete;

  const std::string& name() const { return name_; }
  // Also deletes the namespace of the same name through `other` at scope end (for example
  // the copy a syncer made on the target), ignoring NotFound.
  void alsoDeleteFrom(kube::Client& other) { alsoFrom_.push_back(&other); }

 private:
  LoopThread& loop_;
  kube::Client& client_;
  std::string name_;
  std::vector<kube::Client*> alsoFrom_;
};

// A kube::Client with connection settings of its own, living on `loop`: created and destroyed
// on the loop thread, which owns its sockets. Several may share one loop; none may outlive it.
class LoopClient {
 public:
  LoopClient(LoopThread& loop, kube::RestConfig config, kube::ClientOptions options = {});
  ~LoopClient();
  LoopClient(const LoopClient&) = delete;
  LoopClient& operator=(const LoopClient&) = delete;

  LoopThread& loop() { return loop_; }
  kube::Client& client() { return *client_; }
  kube::Client& operator*() { return *client_; }
  kube::Client* operator->() { return client_.get(); }

  // Runs a coroutine on the loop and waits for its result.
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return loop_.run(std::move(task));
  }

 private:
  LoopThread& loop_;
  std::unique_ptr<kube::Client> client_;
};

// A lowercase DNS label "<prefix>-<random hex>" that no other test run will pick.
std::string uniqueName(std::string_view prefix);

class KubeFixture {
 public:
  // Starts the shared testbed if needed; both clients authenticate as admin with `options`.
  explicit KubeFixture(const kube::ClientOptions& options = {});
  // The same against `testbed` (a testbed of the test's own, with other options).
  KubeFixture(Testbed& testbed, const kube::ClientOptions& options);
  KubeFixture(const KubeFixture&) = delete;
  KubeFixture& operator=(const KubeFixture&) = delete;

  Testbed& testbed() { return testbed_; }
  LoopThread& loop() { return loop_; }
  kube::Client& client(Side side) { return side == Side::Source ? source() : target(); }
  kube::Client& source() { return *source_; }
  kube::Client& target() { return *target_; }

  // Runs a coroutine on the loop and waits for its result.
  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return loop_.run(std::move(task));
  }

  // A namespace on `side`, deleted again when the returned object goes out of scope.
  ScopedNamespace makeNamespace(Side side, std::string_view prefix = "it") {
    return ScopedNamespace(loop_, client(side), prefix);
  }

 private:
  Testbed& testbed_;
  LoopThread loop_;  // before the clients: they are destroyed (on it) first
  LoopClient source_;
  LoopClient target_;
};

}  // namespace bisync::testing
