// The client's cap on collected response bodies, through the real libcurl transport. A file://
// "server" stands in for an API server: curl delivers a file's bytes as a body (with no HTTP
// status), which is all the cap looks at, and no server is needed.
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "syncer/kube/client.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace bisync::kube;
using bisync::unit::TempDir;

namespace {

Result<Json> getFile(const TempDir& dir, const std::string& name, std::size_t maxResponseBytes) {
  asio::io_context io;
  RestConfig config;
  config.server = "file://" + dir.path();
  ClientOptions options;
  options.maxResponseBytes = maxResponseBytes;
  options.maxRetries = 0;
  Client client(io, config, options);
  std::optional<Result<Json>> answer;
  const std::string path = "/" + name;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { answer = co_await client.getPath(path); },
      asio::detached);
  io.run();
  REQUIRE(answer.has_value());
  return std::move(*answer);
}

}  // namespace

TEST_CASE("a response body over maxResponseBytes aborts the transfer with an error naming the cap",
          "[client][limits]") {
  TempDir dir;
  dir.write("body.json", std::string(100'000, ' ') + "{}");
  const Result<Json> tooLarge = getFile(dir, "body.json", 100'001);
  REQUIRE_FALSE(tooLarge);
  CHECK(tooLarge.error().kind == ErrorKind::Decode);
  CHECK(tooLarge.error().reason == "BodyTooLarge");
  CHECK_THAT(tooLarge.error().describe(),
             Catch::Contains("the response body exceeds the 100001-byte cap"));
  CHECK_FALSE(tooLarge.error().isRetryable());

  // At the cap the body is collected whole (file:// has no HTTP status, so it is an Api error
  // with status 0 carrying the body, not a BodyTooLarge one).
  const Result<Json> atCap = getFile(dir, "body.json", 100'002);
  REQUIRE_FALSE(atCap);
  CHECK(atCap.error().kind == ErrorKind::Api);
}

TEST_CASE("the default caps let a list page of 500 one-and-a-half-MiB objects through",
          "[client][limits]") {
  constexpr std::size_t kEtcdDefaultRequestBytes = 1536 * 1024;
  const ClientOptions defaults;
  CHECK(defaults.maxResponseBytes == kMaxResponseBytes);
  CHECK(defaults.maxResponseBytes >= 500 * kEtcdDefaultRequestBytes * 4 / 3);
  CHECK(defaults.maxWatchEventBytes == kMaxWatchEventBytes);
  CHECK(kMaxResponseBytes <= kMaxJsonBytes);
}
