// Internal to syncer/kube: reading the small local files that configuration lives in
// (kubeconfigs, token files, service-account mounts).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bisync::kube {

// Owns a file descriptor and closes it on every path.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Kubeconfigs with many embedded certificates reach a few hundred KiB; anything past this is
// not configuration (a device such as /dev/zero named as a tokenFile, a log file by mistake).
inline constexpr std::size_t kMaxConfigFileBytes = std::size_t{16} << 20U;

// The whole file; on failure std::nullopt, with strerror's text (or the cap that was hit) in
// `why`.
std::optional<std::string> readWholeFile(const std::string& path, std::string& why,
                                         std::size_t maxBytes = kMaxConfigFileBytes);
// `text` without leading and trailing spaces, tabs and line breaks.
std::string trimmed(std::string_view text);

}  // namespace bisync::kube
