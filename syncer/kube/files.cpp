#include "syncer/kube/files.hpp"

#include <fcntl.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace bisync::kube {

std::optional<std::string> readWholeFile(const std::string& path, std::string& why,
                                         std::size_t maxBytes) {
  const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::string content;
  std::array<char, 8192> buffer{};
  for (;;) {
    const ssize_t n = ::read(file.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    if (static_cast<std::size_t>(n) > maxBytes - content.size()) {
      why = "larger than the " + std::to_string(maxBytes) + "-byte cap for configuration files";
      return std::nullopt;
    }
    content.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return content;
}

std::string trimmed(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return std::string(text.substr(begin, text.find_last_not_of(kSpace) - begin + 1));
}

}  // namespace bisync::kube
