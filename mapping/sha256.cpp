#include "mapping/internal/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace bisync::mapping::internal {
namespace {

// Fetched once: OpenSSL 3 looks the implementation up again on every EVP_sha256() digest.
const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL has no SHA-256 implementation");
  return md;
}

std::string hexOf(const unsigned char* digest, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

void check(int status) {
  if (status != 1) throw std::runtime_error("OpenSSL could not compute a SHA-256 digest");
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  check(EVP_Digest(data.data(), data.size(), digest.data(), &length, sha256(), nullptr));
  return hexOf(digest.data(), length);
}

struct Sha256Stream::Context {
  struct Free {
    void operator()(EVP_MD_CTX* owned) const { EVP_MD_CTX_free(owned); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> context{EVP_MD_CTX_new()};
};

Sha256Stream::Sha256Stream() : context_(std::make_unique<Context>()) {
  if (!context_->context) throw std::runtime_error("OpenSSL could not allocate a digest");
  check(EVP_DigestInit_ex(context_->context.get(), sha256(), nullptr));
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Flush() {
  if (used_ == 0) return;
  check(EVP_DigestUpdate(context_->context.get(), buffer_.data(), used_));
  used_ = 0;
}

std::string Sha256Stream::finishHex() {
  Flush();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  check(EVP_DigestFinal_ex(context_->context.get(), digest.data(), &length));
  return hexOf(digest.data(), length);
}

}  // namespace bisync::mapping::internal
