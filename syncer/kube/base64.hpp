// Standard base64 (RFC 4648 alphabet, '=' padding) through OpenSSL's libcrypto, for
// kubeconfig `*-data` fields and the exec plugin's KUBERNETES_EXEC_INFO.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bisync::kube {

std::string encodeBase64(std::string_view data);
// Whitespace (line breaks) is ignored, as Go's base64.StdEncoding does when decoding
// kubeconfig bytes; anything else that is not canonical base64 gives std::nullopt.
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace bisync::kube
