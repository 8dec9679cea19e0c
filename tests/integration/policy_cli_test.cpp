// `kube-bisync --validate-policies DIR`, run as a real process: it checks policy files
// without connecting anywhere, so these tests never start the testbed.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

namespace {

namespace fs = std::filesystem;
using bisync::testing::CommandResult;
using bisync::testing::runCommand;
using bisync::testing::TempDir;
using bisync::testing::writeFile;

CommandResult validate(const fs::path& dir) {
  return runCommand({BISYNC_DAEMON_BINARY, "--validate-policies", dir.string()});
}

std::size_t lineCount(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST_CASE("a broken policy directory exits 2 and prints every problem with file:line",
          "[policies]") {
  TempDir dir(fs::temp_directory_path(), "bisync-policy-cli-");
  const fs::path configmaps = dir.path() / "configmaps.yaml";
  const fs::path secrets = dir.path() / "secrets.yaml";
  const fs::path moreConfigmaps = dir.path() / "more-configmaps.yaml";
  writeFile(configmaps,
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "direction: down\n"
            "fields:\n"
            "  - path: /data\n"
            "    owner: source\n"
            "    colour: blue\n");  // line 8: unknown key
  writeFile(secrets,
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: Secret}\n"
            "direction: down\n"
            "fields:\n"
            "  - path: /data/~2key\n"  // line 6: bad pointer
            "    owner: source\n");
  writeFile(moreConfigmaps,  // a second ConfigMap policy: its resource line (2) is the problem
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "direction: down\n"
            "fields: []\n");

  const CommandResult result = validate(dir.path());
  INFO(result.summary() << "\nstdout: " << result.out);
  CHECK(result.exitCode == 2);
  const std::vector<std::string> expected{
      configmaps.string() + ":8: unknown key 'colour'",
      secrets.string() + ":6: fields[0].path: bad path '/data/~2key'",
      moreConfigmaps.string() + ":2: a second policy for v1 ConfigMap: " + configmaps.string() +
          ":3",
  };
  for (const std::string& line : expected) {
    INFO("expected on stderr: " << line);
    CHECK(result.err.find(line) != std::string::npos);
  }
  CHECK(lineCount(result.err) == expected.size());  // one line per problem, nothing else
  CHECK(result.out.empty());
}

TEST_CASE("a valid policy directory passes validation", "[policies]") {
  TempDir dir(fs::temp_directory_path(), "bisync-policy-cli-");
  writeFile(dir.path() / "configmaps.yaml",
            "apiVersion: kube-bisync.io/v1alpha1\n"
            "kind: SyncPolicy\n"
            "resource: {group: \"\", version: v1, kind: ConfigMap}\n"
            "direction: bidirectional\n"
            "namespaces: {include: [\"*\"], exclude: [kube-system]}\n"
            "fields:\n"
            "  - path: /data\n"
            "    owner: source\n"
            "  - path: /metadata/labels/app.kubernetes.io~1*\n"
            "    owner: both\n"
            "    onConflict: newest-wins\n"
            "limits: {maxObjectsPerNamespace: 500, maxObjectBytes: 1048576}\n");

  const CommandResult result = validate(dir.path());
  INFO(result.summary() << "\nstdout: " << result.out);
  CHECK(result.exitCode == 0);
  CHECK(result.err.empty());
  CHECK(result.out.rfind("policies ok: 2 resource types (", 0) == 0);
  CHECK(result.out.find("v1 ConfigMap from " + (dir.path() / "configmaps.yaml").string()) !=
        std::string::npos);
  CHECK(result.out.find("v1 Secret from <built-in>/secrets.yaml") != std::string::npos);
}

}  // namespace
