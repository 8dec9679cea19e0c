// The kubeconfig loader on one document (restConfigFromYaml). Properties: it never crashes,
// throws or hangs, whatever the YAML; a refusal is a Config error that names the file; a
// success has a server.
//
// The loader reads the files a kubeconfig names (certificates, token files). Inputs that could
// name a device or a kernel file (which may block forever, e.g. /proc/kmsg as root) are skipped:
// any mention of dev, proc or sys, and any backslash (a YAML escape could spell them).
#include <cstddef>
#include <cstdint>
#include <string>

#include "syncer/kube/kubeconfig.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bisync::fuzz::require;
using namespace bisync::kube;

constexpr std::string_view kFile = "/nonexistent/kube-bisync-fuzz/kubeconfig";

bool mayNameASpecialFile(std::string_view text) {
  for (std::string_view word : {"dev", "proc", "sys", "\\"}) {
    if (text.find(word) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

// Input: the kubeconfig; a first line "#context: NAME" names the context to use.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = bisync::fuzz::textOf(data, size);
  if (mayNameASpecialFile(text)) return 0;
  std::string context;
  if (text.starts_with("#context: ")) {
    context = std::string(text.substr(10, text.find('\n') - 10));
  }
  const Result<RestConfig> config = restConfigFromYaml(text, std::string(kFile), context);
  if (config) {
    require(!config->server.empty(), "a loaded config has a server");
    return 0;
  }
  require(config.error().kind == ErrorKind::Config, "a refusal is a Config error",
          config.error().describe());
  require(config.error().describe().find(kFile) != std::string::npos, "a refusal names the file",
          config.error().describe());
  return 0;
}
