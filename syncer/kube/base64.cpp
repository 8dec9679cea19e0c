#include "syncer/kube/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace bisync::kube {

std::string encodeBase64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(data.data()),
                                      static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(std::max(written, 0)));
  return out;
}

std::optional<std::string> decodeBase64(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (const char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
  }
  if (compact.size() % 4 != 0) return std::nullopt;
  // EVP_DecodeBlock accepts '=' only as padding at the end but does not report it: the
  // decoded length counts the padded bytes, which are dropped here.
  const auto firstPad = compact.find('=');
  const std::size_t padding = firstPad == std::string::npos ? 0 : compact.size() - firstPad;
  if (padding > 2 ||
      (padding > 0 && compact.find_first_not_of('=', firstPad) != std::string::npos)) {
    return std::nullopt;
  }
  std::string out(3 * (compact.size() / 4), '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(compact.data()),
                                      static_cast<int>(compact.size()));
  if (decoded < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(decoded) - padding);
  return out;
}

}  // namespace bisync::kube
