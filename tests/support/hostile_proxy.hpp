// HostileProxy: a plain-HTTP proxy of the tests' own that puts hostile bytes into a live watch,
// to show that the daemon survives whatever a server sends (issue 16).
//
// It is a TcpProxy with a ConnectionTap that follows the HTTP/1.1 framing of both directions of
// each keep-alive connection (request and response heads, Content-Length and chunked bodies), so
// it knows which response answers which request. When armed, it sends its payload to the client
// inside the next watch response whose request target contains `watchPath` (and `watch=`), as
// chunks of that response, right after a chunk that ends an event (a line): the client reads it
// as the server's next event. Everything else passes unchanged. The payload goes out once.
//
// It cannot see into TLS: the upstream must speak plain HTTP (`kubectl proxy` does, in the
// tests), and the client must accept http:// (the daemon's --allow-insecure-http).
//
// Thread-safety: every public method may be called from any thread; the work runs on the
// TcpProxy's loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/tcp_proxy.hpp"

namespace bisync::testing {

enum class HostilePayload {
  GarbageLine,  // "this is not json\n"
  HugeObject,   // an ADDED event whose ConfigMap holds HostileProxy::kHugeValueBytes of data
  DeepNesting,  // an ADDED event whose object nests HostileProxy::kNestingDepth arrays deep
};

class HostileProxy {
 public:
  // 100 MiB: past the daemon's 64 MiB cap for one watch event (and a thousand times the largest
  // object etcd stores by default), sent in 1 MiB chunks.
  static constexpr std::size_t kHugeValueBytes = std::size_t{100} << 20U;
  // 10,000 levels: twenty times the daemon's limit, deep enough to overflow a recursive parser
  // on a small stack.
  static constexpr std::size_t kNestingDepth = 10000;

  // Listens on 127.0.0.1 at a free port and forwards to the plain-HTTP server upstreamHost:port.
  HostileProxy(std::string upstreamHost, int upstreamPort, std::string watchPath);
  ~HostileProxy();
  HostileProxy(const HostileProxy&) = delete;
  HostileProxy& operator=(const HostileProxy&) = delete;

  std::string url() const;  // "http://127.0.0.1:<port>"

  // Sends `payload` into the next event boundary of a matching watch (replaces an armed one
  // that has not gone out yet).
  void arm(HostilePayload payload);
  // Matching watch responses whose body is still open.
  std::size_t openWatches() const;
  // Payloads that began to go out, and their bytes the client accepted.
  std::uint64_t injected() const;
  std::uint64_t injectedBytes() const;

  struct State;  // internal: what the connections' taps share with the proxy

 private:
  std::shared_ptr<State> state_;  // shared with the connections' taps
  TcpProxy proxy_;
};

}  // namespace bisync::testing
