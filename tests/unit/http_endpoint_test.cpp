// HttpEndpoint on real loopback sockets, driven by one io_context on the test's thread: the cap
// on open connections, and accept() failing because the process is out of file descriptors
// (produced for real: a lowered RLIMIT_NOFILE, and the descriptor table filled up to it).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "syncer/ops/http_endpoint.hpp"
#include "tests/support/catch.hpp"

namespace {

namespace asio = boost::asio;
using bisync::ops::HttpEndpoint;
using bisync::ops::HttpEndpointOptions;
using bisync::ops::HttpResponse;
using namespace std::chrono_literals;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A blocking client connection to 127.0.0.1:port that has sent a GET of `path`; an invalid Fd
// when that failed. The kernel completes a loopback handshake from the listen queue, so this
// returns before the endpoint has accepted anything.
Fd tryRequest(std::uint16_t port, const std::string& path) {
  Fd client(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
  if (client.get() < 0 ||
      ::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
    return Fd();
  }
  return client;
}

Fd request(std::uint16_t port, const std::string& path) {
  Fd client = tryRequest(port, path);
  REQUIRE(client.get() >= 0);
  return client;
}

// A client connection that sends nothing.
Fd idleConnection(std::uint16_t port) {
  Fd client(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  REQUIRE(client.get() >= 0);
  REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return client;
}

// True once the peer has sent something or closed the connection.
bool readable(const Fd& client) {
  pollfd watched{client.get(), POLLIN, 0};
  return ::poll(&watched, 1, 0) == 1;
}

// What the endpoint sent before it closed the connection ("" when it closed without a word).
std::string received(const Fd& client) {
  std::string text;
  char buffer[1024];
  for (ssize_t n = 0; (n = ::recv(client.get(), buffer, sizeof buffer, MSG_DONTWAIT)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// Runs the loop until `done` or `timeout`; returns `done()`.
bool runUntil(asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

struct Served {
  asio::io_context io;
  HttpEndpoint endpoint;

  explicit Served(HttpEndpointOptions options) : endpoint(io, options) {
    endpoint.handle("/healthz", [] { return HttpResponse{200, "text/plain", "ok\n"}; });
    REQUIRE(endpoint.listen({"127.0.0.1", 0}));
    endpoint.start();
  }
};

// Keeps each message's text, without spdlog's pattern: the pattern formatter lives in spdlog's
// shared library, where UBSan's vptr check cannot see its type, and a sink that calls it fails
// the sanitizer build.
class MessageSink final : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg& message) override {
    text_.append(message.payload.data(), message.payload.size()).append("\n");
  }
  void flush() override {}
  void set_pattern(const std::string& /*pattern*/) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter> /*formatter*/) override {}
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The default logger writes into a string for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), sink_(std::make_shared<MessageSink>()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::size_t count(const std::string& text) const {
    std::istringstream lines(sink_->text());
    std::size_t found = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.find(text) != std::string::npos) ++found;
    }
    return found;
  }
  std::string text() const { return sink_->text(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<MessageSink> sink_;
};

// Lowers the soft RLIMIT_NOFILE to a few descriptors above those in use and opens descriptors
// until one is left, for the caller's next open; release() (or the destructor) closes them and
// restores the limit. Nothing here asserts while the table is full: see the EMFILE test.
class AlmostFullDescriptorTable {
 public:
  AlmostFullDescriptorTable() {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    Fd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // the lowest free descriptor
    REQUIRE(devNull.get() >= 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, static_cast<rlim_t>(devNull.get()) + 32);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    for (int fd = 0; (fd = ::fcntl(devNull.get(), F_DUPFD_CLOEXEC, 0)) >= 0;) {
      fillers_.emplace_back(fd);
    }
    fillError_ = errno;
    // devNull closes here: the one descriptor left for the caller.
  }
  ~AlmostFullDescriptorTable() { release(); }
  AlmostFullDescriptorTable(const AlmostFullDescriptorTable&) = delete;
  AlmostFullDescriptorTable& operator=(const AlmostFullDescriptorTable&) = delete;

  void release() {
    fillers_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  // EMFILE when filling stopped because the table was full.
  int fillError() const { return fillError_; }

 private:
  rlimit saved_{};
  std::vector<Fd> fillers_;
  int fillError_ = 0;
};

}  // namespace

TEST_CASE(
    "an endpoint at its connection limit closes new connections at once and counts them, and "
    "serves again once one ends",
    "[ops]") {
  Served served({.maxConnections = 2});
  const std::uint16_t port = served.endpoint.port();
  std::vector<Fd> idle;
  idle.push_back(idleConnection(port));
  idle.push_back(idleConnection(port));
  REQUIRE(runUntil(
      served.io, [&] { return served.endpoint.stats().openConnections == 2; }, 2s));

  const Fd extra = request(port, "/healthz");
  REQUIRE(runUntil(
      served.io, [&] { return readable(extra); }, 2s));
  CHECK(received(extra).empty());  // closed without an answer
  CHECK(served.endpoint.stats().rejectedConnections == 1);
  CHECK(served.endpoint.stats().openConnections == 2);

  idle.clear();  // the endpoint reads EOF on both and lets them go
  REQUIRE(runUntil(
      served.io, [&] { return served.endpoint.stats().openConnections == 0; }, 2s));
  const Fd next = request(port, "/healthz");
  REQUIRE(runUntil(
      served.io, [&] { return readable(next); }, 2s));
  CHECK_THAT(received(next), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK(served.endpoint.stats().rejectedConnections == 1);
}

TEST_CASE(
    "accept failing with EMFILE backs off instead of spinning, is logged once, and the waiting "
    "connection is served once descriptors are free",
    "[ops]") {
  const CapturedLog log;
  Served served({.maxConnections = 64, .acceptBackoff = 100ms, .maxAcceptBackoff = 1000ms});
  // UBSan's vptr check reads memory through a pipe, which cannot be made while the table is
  // full: so every polymorphic type used while it is (the loop, the logger, Boost's error
  // category) is used once before, and the check finds it in its cache; and the test asserts
  // nothing until the table has room again.
  const Fd warmUp = request(served.endpoint.port(), "/healthz");
  REQUIRE(runUntil(
      served.io, [&] { return readable(warmUp); }, 2s));
  spdlog::info("filling the descriptor table; {}",
               boost::system::error_code(EMFILE, boost::system::system_category()).message());

  AlmostFullDescriptorTable full;
  const Fd client = tryRequest(served.endpoint.port(), "/healthz");  // takes the last descriptor
  // Failed accepts at about 0, 100, 300 and 700 ms: a handful, where spinning would make
  // hundreds of thousands.
  served.io.restart();
  served.io.run_for(1200ms);
  const std::uint64_t failures = served.endpoint.stats().acceptFailures;
  full.release();
  INFO(log.text());
  REQUIRE(full.fillError() == EMFILE);
  REQUIRE(client.get() >= 0);
  CHECK(failures >= 3);
  CHECK(failures <= 6);
  CHECK(log.count("accept failed: Too many open files") == 1);
  CHECK_FALSE(readable(client));

  // The next try comes at most 1 s later and accepts the connection that waited.
  REQUIRE(runUntil(
      served.io, [&] { return readable(client); }, 3s));
  CHECK_THAT(received(client), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK(log.count("accepting again after " + std::to_string(failures)) == 1);
}
