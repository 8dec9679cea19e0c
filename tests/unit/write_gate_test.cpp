// The client's write gate (leader election's last line of defence): a closed gate fails every
// mutating request at once, before anything is sent; reads are never gated. The "server" is a
// closed loopback port: a request that is sent counts in the client's stats and fails to connect.
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "syncer/kube/client.hpp"
#include "tests/support/catch.hpp"

using namespace bisync::kube;

namespace {

struct GatedClient {
  GatedClient() : client(io, config(), options()) {
    client.setWriteGate([this] {
      ++consulted;
      return open;
    });
  }
  static RestConfig config() {
    RestConfig rest;
    rest.server = "http://127.0.0.1:1";
    return rest;
  }
  static ClientOptions options() {
    ClientOptions client;
    client.maxRetries = 0;
    return client;
  }
  // Runs `call` on the loop and returns its error (nullopt when it succeeded).
  template <class T>
  std::optional<Error> errorOf(std::function<asio::awaitable<Result<T>>()> call) {
    std::optional<Error> error;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          Result<T> result = co_await call();
          if (!result) error = result.error();
        },
        asio::detached);
    io.restart();
    io.run();
    return error;
  }

  asio::io_context io;
  Client client;
  bool open = false;
  int consulted = 0;
};

}  // namespace

TEST_CASE("a closed write gate fails every write at once without sending it; reads still go",
          "[leader][client]") {
  GatedClient gated;
  const ResourceInfo configMaps = resources::configMaps();
  Json object(rapidjson::kObjectType);
  object.AddMember("metadata", Json(rapidjson::kObjectType), object.GetAllocator());
  ApplyOptions apply;
  apply.fieldManager = "test";
  const std::vector<std::function<std::optional<Error>()>> writes = {
      [&] {
        return gated.errorOf<Json>([&] { return gated.client.create(configMaps, "ns", object); });
      },
      [&] {
        return gated.errorOf<Json>([&] { return gated.client.update(configMaps, "ns", object); });
      },
      [&] {
        return gated.errorOf<Json>(
            [&] { return gated.client.patch(configMaps, "ns", "a", PatchType::Merge, "{}"); });
      },
      [&] {
        return gated.errorOf<Json>(
            [&] { return gated.client.apply(configMaps, "ns", "a", object, apply); });
      },
      [&] {
        return gated.errorOf<void>([&] { return gated.client.remove(configMaps, "ns", "a"); });
      },
  };
  for (const auto& write : writes) {
    const std::optional<Error> error = write();
    REQUIRE(error);
    CHECK(error->isWriteGateClosed());
    CHECK_FALSE(error->isRetryable());
  }
  CHECK(gated.consulted == 5);
  CHECK(gated.client.stats().requests == 0);  // nothing was sent

  const std::optional<Error> read =
      gated.errorOf<Json>([&] { return gated.client.get(configMaps, "ns", "a"); });
  REQUIRE(read);
  CHECK_FALSE(read->isWriteGateClosed());
  CHECK(gated.consulted == 5);
  CHECK(gated.client.stats().requests == 1);

  gated.open = true;
  const std::optional<Error> sent =
      gated.errorOf<Json>([&] { return gated.client.create(configMaps, "ns", object); });
  REQUIRE(sent);
  CHECK_FALSE(sent->isWriteGateClosed());
  CHECK(gated.client.stats().requests == 2);
}
