// SHA-256 of a byte string, as 64 lower-case hex digits (OpenSSL's libcrypto, which libcurl
// already brings). Used for name suffixes and content hashes, never for security.
#pragma once

#include <string>
#include <string_view>

namespace bisync::mapping::internal {

std::string sha256Hex(std::string_view data);

}  // namespace bisync::mapping::internal
