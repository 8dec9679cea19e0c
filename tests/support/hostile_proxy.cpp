#include "tests/support/hostile_proxy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

namespace bisync::testing {

struct HostileProxy::State {
  explicit State(std::string path) : watchPath(std::move(path)) {}
  std::optional<HostilePayload> take() {
    const std::lock_guard lock(mutex);
    std::optional<HostilePayload> payload = std::exchange(armed, std::nullopt);
    if (payload) ++injected;
    return payload;
  }
  void addWatches(int delta) {
    const std::lock_guard lock(mutex);
    openWatches = static_cast<std::size_t>(static_cast<int>(openWatches) + delta);
  }
  void addInjectedBytes(std::size_t bytes) {
    const std::lock_guard lock(mutex);
    injectedBytes += bytes;
  }

  const std::string watchPath;
  mutable std::mutex mutex;  // guards what follows
  std::optional<HostilePayload> armed;
  std::size_t openWatches = 0;
  std::uint64_t injected = 0;
  std::uint64_t injectedBytes = 0;
};

namespace {

using Send = ConnectionTap::Send;

struct MessageHead {
  std::string firstLine;  // "GET /api/v1/... HTTP/1.1", "HTTP/1.1 200 OK"
  std::optional<std::size_t> contentLength;
  bool chunked = false;
};

enum class Body { None, Length, Chunked, UntilClose };

// Follows the framing of a stream of HTTP/1.1 messages (RFC 9112, section 6): where each head
// and each body ends, and where each chunk of a chunked body ends. It reads the bytes, it never
// changes them; what a message's body is (requests and responses differ) is the caller's call.
class HttpFraming {
 public:
  HttpFraming(std::function<Body(const MessageHead&)> bodyOf, std::function<void()> onEnd)
      : bodyOf_(std::move(bodyOf)), onEnd_(std::move(onEnd)) {}

  void scan(std::string_view bytes) {
    while (!bytes.empty()) bytes.remove_prefix(step(bytes));
  }
  // After the last byte scanned: between two chunks of a chunked body, the last data a line end.
  bool afterChunkEndingALine() const {
    return state_ == State::ChunkSize && line_.empty() && lastDataByte_ == '\n';
  }

 private:
  enum class State { Head, LengthBody, ChunkSize, ChunkData, ChunkDataEnd, Trailers, UntilClose };

  // Consumes a prefix of `bytes` (at least one byte) and returns its length.
  std::size_t step(std::string_view bytes) {
    if (state_ == State::UntilClose) return takeData(bytes.size(), bytes);
    if (state_ == State::LengthBody || state_ == State::ChunkData) {
      return takeData(std::min(remaining_, bytes.size()), bytes);
    }
    line_ += bytes.front();
    if (bytes.front() == '\n') endLine();
    return 1;
  }
  std::size_t takeData(std::size_t count, std::string_view bytes) {
    lastDataByte_ = bytes[count - 1];
    remaining_ -= std::min(remaining_, count);
    if (remaining_ == 0 && state_ == State::LengthBody) endMessage();
    if (remaining_ == 0 && state_ == State::ChunkData) state_ = State::ChunkDataEnd;
    return count;
  }
  void endLine() {
    const bool blank = line_ == "\r\n" || line_ == "\n";
    switch (state_) {
      case State::Head:
        if (!blank) {
          headerLine();
        } else if (!head_.firstLine.empty()) {
          endHead();
        }
        break;
      case State::ChunkDataEnd: state_ = State::ChunkSize; break;
      case State::ChunkSize:
        remaining_ = std::strtoull(line_.c_str(), nullptr, 16);  // stops at ';' extensions
        state_ = remaining_ == 0 ? State::Trailers : State::ChunkData;
        break;
      case State::Trailers:
        if (blank) endMessage();
        break;
      default: break;
    }
    line_.clear();
  }
  void headerLine() {
    std::string_view line(line_);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (head_.firstLine.empty()) {
      head_.firstLine = line;
      return;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string value(line.substr(colon + 1));
    if (name == "content-length") head_.contentLength = std::strtoull(value.c_str(), nullptr, 10);
    if (name == "transfer-encoding") head_.chunked = value.find("chunked") != std::string::npos;
  }
  void endHead() {
    const Body body = bodyOf_(head_);
    remaining_ = head_.contentLength.value_or(0);
    head_ = {};
    lastDataByte_ = 0;
    switch (body) {
      case Body::None: endMessage(); break;
      case Body::Length:
        state_ = State::LengthBody;
        if (remaining_ == 0) endMessage();
        break;
      case Body::Chunked: state_ = State::ChunkSize; break;
      case Body::UntilClose: state_ = State::UntilClose; break;
    }
  }
  void endMessage() {
    state_ = State::Head;
    onEnd_();
  }

  std::function<Body(const MessageHead&)> bodyOf_;
  std::function<void()> onEnd_;
  State state_ = State::Head;
  MessageHead head_;
  std::string line_;  // the head, chunk-size or trailer line being read
  std::size_t remaining_ = 0;
  char lastDataByte_ = 0;
};

Body bodyOfRequest(const MessageHead& head) {
  if (head.chunked) return Body::Chunked;
  return head.contentLength ? Body::Length : Body::None;
}

int statusOf(const MessageHead& response) {
  const std::size_t space = response.firstLine.find(' ');
  if (space == std::string::npos) return 0;
  return std::atoi(response.firstLine.c_str() + space + 1);
}

// `piece` as one chunk of a chunked body.
std::string chunkOf(std::string_view piece) {
  constexpr int kHex = 16;
  std::array<char, sizeof(std::size_t) * 2> size{};
  const auto [end, error] = std::to_chars(size.begin(), size.end(), piece.size(), kHex);
  std::string chunk(size.begin(), end);
  chunk += "\r\n";
  chunk.append(piece);
  chunk += "\r\n";
  return chunk;
}

// One connection: requests are queued as their heads pass, and each response head is matched
// with the oldest open request (curl does not pipeline, but the order holds either way).
class HostileTap final : public ConnectionTap {
 public:
  explicit HostileTap(std::shared_ptr<HostileProxy::State> state)
      : state_(std::move(state)),
        requests_([this](const MessageHead& head) { return request(head); }, [] {}),
        responses_([this](const MessageHead& head) { return response(head); },
                   [this] { endResponse(); }) {}
  ~HostileTap() override {
    if (inWatch_) state_->addWatches(-1);
  }

  void fromClient(std::string_view chunk) override { requests_.scan(chunk); }

  boost::asio::awaitable<bool> fromServer(std::string_view chunk, const Send& send) override {
    responses_.scan(chunk);
    if (!co_await send(chunk)) co_return false;
    if (!inWatch_ || !responses_.afterChunkEndingALine()) co_return true;
    const std::optional<HostilePayload> payload = state_->take();
    if (!payload) co_return true;
    co_return co_await sendPayload(*payload, send);
  }

 private:
  Body request(const MessageHead& head) {
    pending_.push_back(head.firstLine);
    return bodyOfRequest(head);
  }
  Body response(const MessageHead& head) {
    const int status = statusOf(head);
    if (status >= 100 && status < 200 && status != 101) return Body::None;  // the answer follows
    const std::string requestLine = pending_.empty() ? std::string() : pending_.front();
    if (!pending_.empty()) pending_.pop_front();
    inWatch_ = head.chunked && requestLine.find(state_->watchPath) != std::string::npos &&
               requestLine.find("watch=") != std::string::npos;
    if (inWatch_) state_->addWatches(1);
    if (requestLine.starts_with("HEAD ") || status == 204 || status == 304) return Body::None;
    if (head.chunked) return Body::Chunked;
    return head.contentLength ? Body::Length : Body::UntilClose;
  }
  void endResponse() {
    if (inWatch_) state_->addWatches(-1);
    inWatch_ = false;
  }

  boost::asio::awaitable<bool> sendPayload(HostilePayload payload, const Send& send);
  boost::asio::awaitable<bool> sendChunk(std::string_view piece, const Send& send) {
    const std::string chunk = chunkOf(piece);
    if (!co_await send(chunk)) co_return false;
    state_->addInjectedBytes(piece.size());
    co_return true;
  }

  std::shared_ptr<HostileProxy::State> state_;
  HttpFraming requests_;
  HttpFraming responses_;
  std::deque<std::string> pending_;  // request lines awaiting their response
  bool inWatch_ = false;             // the current response is a matching watch
};

// The event texts are written out, not built with RapidJSON: they are bytes on the wire, sent
// in pieces (the huge one never exists whole), and deliberately past what a JSON document holds.
constexpr std::string_view kGarbageLine = "this is not json\n";
constexpr std::string_view kEventStart =
    R"({"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap",)"
    R"("metadata":{"name":"hostile","namespace":"hostile"},"data":{"x":)";
constexpr std::string_view kEventEnd = "}}}\n";
constexpr std::size_t kPieceBytes = std::size_t{1} << 20U;

boost::asio::awaitable<bool> HostileTap::sendPayload(HostilePayload payload, const Send& send) {
  switch (payload) {
    case HostilePayload::GarbageLine: co_return co_await sendChunk(kGarbageLine, send);
    case HostilePayload::HugeObject: {
      const std::string start = std::string(kEventStart) + '"';
      if (!co_await sendChunk(start, send)) co_return false;
      const std::string piece(kPieceBytes, 'x');
      for (std::size_t sent = 0; sent < HostileProxy::kHugeValueBytes; sent += piece.size()) {
        if (!co_await sendChunk(piece, send)) co_return false;
      }
      const std::string end = '"' + std::string(kEventEnd);
      co_return co_await sendChunk(end, send);
    }
    case HostilePayload::DeepNesting: {
      // "x" holds arrays nested kNestingDepth deep: the object's own levels come on top.
      const std::string deep =
          std::string(kEventStart) + std::string(HostileProxy::kNestingDepth, '[') +
          std::string(HostileProxy::kNestingDepth, ']') + std::string(kEventEnd);
      co_return co_await sendChunk(deep, send);
    }
  }
  co_return false;
}

}  // namespace

HostileProxy::HostileProxy(std::string upstreamHost, int upstreamPort, std::string watchPath)
    : state_(std::make_shared<State>(std::move(watchPath))),
      proxy_(std::move(upstreamHost), upstreamPort,
             [state = state_] { return std::make_unique<HostileTap>(state); }) {}

HostileProxy::~HostileProxy() = default;

std::string HostileProxy::url() const {
  return "http://127.0.0.1:" + std::to_string(proxy_.port());
}

void HostileProxy::arm(HostilePayload payload) {
  const std::lock_guard lock(state_->mutex);
  state_->armed = payload;
}

std::size_t HostileProxy::openWatches() const {
  const std::lock_guard lock(state_->mutex);
  return state_->openWatches;
}

std::uint64_t HostileProxy::injected() const {
  const std::lock_guard lock(state_->mutex);
  return state_->injected;
}

std::uint64_t HostileProxy::injectedBytes() const {
  const std::lock_guard lock(state_->mutex);
  return state_->injectedBytes;
}

}  // namespace bisync::testing
