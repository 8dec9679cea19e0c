// TcpProxy: a TCP forwarder of the tests' own, put between a client (the daemon) and a server
// (an API server) to produce network faults for real: every open connection cut at once, new
// connections refused, every chunk of data delayed in both directions. It forwards bytes and
// nothing else, so TLS passes through untouched: the client verifies the server's certificate
// as usual (the proxy listens on 127.0.0.1, a name the testbed's certificates hold).
//
// Thread-safety: every public method may be called from any thread. The proxy owns an
// io_context on a thread of its own (LoopThread); public calls run on it and block until done.
// The destructor closes every connection and the listener.
//
// A ConnectionTap (optional, one per connection) sees the bytes of each direction and chooses
// what the client receives: HostileProxy (hostile_proxy.hpp) uses it to inject data into a plain
// HTTP response.
//
// Typical use (issue 16's chaos faults, the client tests):
//   TcpProxy proxy("127.0.0.1", testbed.server(Side::Target).port);
//   kube::RestConfig config = testbed.restConfig(Side::Target);
//   config.server = proxy.url();
//   ... proxy.cutConnections(); proxy.setDelay(2s); proxy.setRefusing(true);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace bisync::testing {

// The bytes of one proxied connection, on their way. Both calls run on the proxy's loop, each
// direction in order; a call for the server's bytes finishes before the next chunk is read.
class ConnectionTap {
 public:
  // Writes bytes to the client; false once the connection is gone.
  using Send = std::function<boost::asio::awaitable<bool>(std::string_view bytes)>;
  virtual ~ConnectionTap() = default;
  // A chunk the client sent, before it goes to the server.
  virtual void fromClient(std::string_view chunk) = 0;
  // A chunk the server sent: the tap sends the client what it is to receive instead (the chunk
  // itself, and whatever it adds). false ends the connection.
  virtual boost::asio::awaitable<bool> fromServer(std::string_view chunk, const Send& send) = 0;
};
// Makes the tap of each new connection (on the proxy's loop).
using TapFactory = std::function<std::unique_ptr<ConnectionTap>()>;

class TcpProxy {
 public:
  // Listens on 127.0.0.1 at a free port and forwards each connection to upstreamHost:port.
  // Throws std::system_error when it cannot listen.
  // `taps`, when set, makes a ConnectionTap for each connection.
  TcpProxy(std::string upstreamHost, int upstreamPort, TapFactory taps = {});
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const;
  std::string url() const;  // "https://127.0.0.1:<port>"

  // Closes both ends of every open connection now (the client sees a reset or an EOF in the
  // middle of whatever it was doing). New connections are accepted as before.
  void cutConnections();
  // true: every new connection is closed as soon as it is accepted (the server looks down
  // while its port still answers); false: forwarding again.
  void setRefusing(bool refusing);
  // Each chunk read from either side is written to the other this much later (0: at once).
  // Order is kept; applies to chunks read from now on.
  void setDelay(std::chrono::milliseconds delay);

  std::uint64_t connectionsAccepted() const;
  std::size_t openConnections() const;
  std::uint64_t bytesForwarded() const;  // both directions, what a tap added included

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bisync::testing
