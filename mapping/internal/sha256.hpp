// SHA-256 of a byte string, as 64 lower-case hex digits (OpenSSL's libcrypto, which libcurl
// already brings). Used for name suffixes and content hashes, never for security.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace bisync::mapping::internal {

std::string sha256Hex(std::string_view data);

// A SHA-256 fed piecewise: a RapidJSON output stream (Put, Flush), so that a Writer hashes
// what it writes without building the text first.
class Sha256Stream {
 public:
  using Ch = char;
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Put(char c) {
    if (used_ == buffer_.size()) Flush();
    buffer_[used_++] = c;
  }
  void Flush();
  // The digest of everything put, as 64 lower-case hex digits; the stream is then spent.
  std::string finishHex();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
  std::array<char, 4096> buffer_{};
  std::size_t used_ = 0;
};

}  // namespace bisync::mapping::internal
