#include "syncer/kube/kubeconfig.hpp"

#include <stdlib.h>  // mkdtemp, setenv, unsetenv

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "syncer/kube/json.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bisync::kube;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nTHE-CA\n-----END CERTIFICATE-----\n";
const std::string kCertPem = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
const std::string kKeyPem = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";
const std::string kPlugin = std::string(BISYNC_TEST_DATA_DIR) + "/exec_plugin.sh";

std::string base64(std::string_view data) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    unsigned chunk = 0;
    const std::size_t n = std::min<std::size_t>(3, data.size() - i);
    for (std::size_t j = 0; j < 3; ++j) {
      chunk = (chunk << 8U) | (j < n ? static_cast<unsigned char>(data[i + j]) : 0U);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      out += j <= n ? kAlphabet[(chunk >> (18U - 6U * j)) & 0x3FU] : '=';
    }
  }
  return out;
}

using bisync::unit::TempDir;

// Sets (or unsets, with std::nullopt) an environment variable and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str()); old != nullptr) old_ = old;
    set(value);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() { set(old_); }

 private:
  void set(const std::optional<std::string>& value) const {
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  std::string name_;
  std::optional<std::string> old_;
};

std::string indented(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  std::string out;
  for (std::string line; std::getline(lines, line);) out += prefix + line + "\n";
  return out;
}

// One cluster "c1", one user "u1", one context "main" joining them (the current context).
std::string kubeconfig(const std::string& cluster, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
         "contexts:\n- name: main\n  context: {cluster: c1, user: u1}\n"
         "clusters:\n- name: c1\n  cluster:\n" +
         indented(cluster, "    ") + "users:\n- name: u1\n  user:\n" + indented(user, "    ");
}

KubeconfigLoadOptions onlyFile(const std::string& path) {
  KubeconfigLoadOptions options;
  options.explicitPath = path;
  options.allowInCluster = false;
  return options;
}

Result<RestConfig> loadFile(const TempDir& dir, const std::string& cluster,
                            const std::string& user) {
  return loadRestConfig(onlyFile(dir.write("kubeconfig.yaml", kubeconfig(cluster, user))));
}

std::string describe(const Result<RestConfig>& result) {
  return result ? std::string("(loaded fine)") : result.error().describe();
}

int countLines(const std::string& path) {
  std::ifstream file(path);
  int lines = 0;
  for (std::string line; std::getline(file, line);) ++lines;
  return lines;
}

std::string readText(const std::string& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a token user yields its bearer token, the server without trailing slash and the origin",
          "[kubeconfig]") {
  TempDir dir;
  auto config = loadFile(dir, "server: https://10.1.2.3:6443/", "token: abc123");
  REQUIRE(config.has_value());
  CHECK(config->server == "https://10.1.2.3:6443");
  CHECK(config->origin == "kubeconfig " + dir.path("kubeconfig.yaml") + ", context main");
  CHECK(config->caData.empty());
  CredentialProvider provider(*config);
  auto credentials = provider.current();
  REQUIRE(credentials.has_value());
  CHECK(credentials->bearerToken == "abc123");
  CHECK_FALSE(credentials->expiry.has_value());
}

TEST_CASE(
    "tokenFile is resolved against the kubeconfig folder and re-read after invalidate() "
    "or when the file changes",
    "[kubeconfig]") {
  TempDir dir;
  const std::string tokenPath = dir.write("secrets/token", "first-token\n");
  auto config = loadFile(dir, "server: https://k8s", "tokenFile: secrets/token");
  REQUIRE(config.has_value());
  CHECK(config->bearerTokenFile == tokenPath);
  CredentialProvider provider(*config);
  REQUIRE(provider.current()->bearerToken == "first-token");

  // Same length and the old mtime: the file looks unchanged, so the cached token stays...
  const auto written = fs::last_write_time(tokenPath);
  dir.write("secrets/token", "other-token\n");
  fs::last_write_time(tokenPath, written);
  CHECK(provider.current()->bearerToken == "first-token");
  // ...until the client reports a 401.
  provider.invalidate();
  CHECK(provider.current()->bearerToken == "other-token");

  // A rotated file (new mtime) is picked up without invalidate().
  dir.write("secrets/token", "third-token\n");
  fs::last_write_time(tokenPath, written + std::chrono::seconds(10));
  CHECK(provider.current()->bearerToken == "third-token");
}

TEST_CASE("client-certificate and client-key files are read relative to the kubeconfig",
          "[kubeconfig]") {
  TempDir dir;
  dir.write("pki/client.crt", kCertPem);
  dir.write("pki/client.key", kKeyPem);
  auto config = loadFile(dir, "server: https://k8s",
                         "client-certificate: pki/client.crt\nclient-key: pki/client.key");
  REQUIRE(config.has_value());
  CHECK(config->clientCertData == kCertPem);
  CHECK(config->clientKeyData == kKeyPem);
  auto credentials = CredentialProvider(*config).current();
  REQUIRE(credentials.has_value());
  CHECK(credentials->clientCertData == kCertPem);
  CHECK(credentials->clientKeyData == kKeyPem);
  CHECK(credentials->bearerToken.empty());
}

TEST_CASE("client-certificate-data and client-key-data are base64-decoded", "[kubeconfig]") {
  TempDir dir;
  auto config = loadFile(
      dir, "server: https://k8s",
      "client-certificate-data: " + base64(kCertPem) + "\nclient-key-data: " + base64(kKeyPem));
  REQUIRE(config.has_value());
  CHECK(config->clientCertData == kCertPem);
  CHECK(config->clientKeyData == kKeyPem);
}

TEST_CASE("the cluster CA comes from certificate-authority (a file) or certificate-authority-data",
          "[kubeconfig]") {
  TempDir dir;
  SECTION("file, relative to the kubeconfig") {
    dir.write("ca/cluster-ca.pem", kCaPem);
    auto config =
        loadFile(dir, "server: https://k8s\ncertificate-authority: ca/cluster-ca.pem", "token: t");
    REQUIRE(config.has_value());
    CHECK(config->caData == kCaPem);
  }
  SECTION("data") {
    auto config = loadFile(
        dir, "server: https://k8s\ncertificate-authority-data: " + base64(kCaPem), "token: t");
    REQUIRE(config.has_value());
    CHECK(config->caData == kCaPem);
  }
}

TEST_CASE("insecure-skip-tls-verify and tls-server-name are read from the cluster",
          "[kubeconfig]") {
  TempDir dir;
  auto config = loadFile(
      dir, "server: https://k8s\ninsecure-skip-tls-verify: true\ntls-server-name: api.internal",
      "token: t");
  REQUIRE(config.has_value());
  CHECK(config->insecureSkipTlsVerify);
  CHECK(config->tlsServerName == "api.internal");
  CHECK(config->caData.empty());
}

TEST_CASE("username and password give basic auth credentials", "[kubeconfig]") {
  TempDir dir;
  auto config = loadFile(dir, "server: https://k8s", "username: alice\npassword: s3cret");
  REQUIRE(config.has_value());
  auto credentials = CredentialProvider(*config).current();
  REQUIRE(credentials.has_value());
  CHECK(credentials->username == "alice");
  CHECK(credentials->password == "s3cret");
  CHECK(credentials->bearerToken.empty());
}

TEST_CASE(
    "a KUBECONFIG list merges first-file-wins per name, takes current-context from the "
    "first file that sets one and skips missing files",
    "[kubeconfig]") {
  TempDir dir;
  const std::string first =
      dir.write("first.yaml",
                "clusters:\n- name: shared\n  cluster: {server: https://first}\n"
                "users:\n- name: u\n  user: {token: first-token}\n"
                "contexts:\n- name: ctx-a\n  context: {cluster: shared, user: u}\n");
  const std::string second =
      dir.write("second.yaml",
                "current-context: ctx-a\n"
                "clusters:\n- name: shared\n  cluster: {server: https://second}\n"
                "- name: other\n  cluster: {server: https://other}\n"
                "users:\n- name: u\n  user: {token: second-token}\n"
                "contexts:\n- name: ctx-a\n  context: {cluster: other, user: u}\n"
                "- name: ctx-b\n  context: {cluster: other, user: u}\n");
  const std::string third = dir.write("third.yaml", "current-context: ctx-b\n");
  KubeconfigLoadOptions options;
  options.allowInCluster = false;
  options.kubeconfigEnv = dir.path("missing.yaml") + ":" + first + "::" + second + ":" + third;

  auto config = loadRestConfig(options);
  REQUIRE(config.has_value());
  CHECK(config->server == "https://first");
  CHECK(config->bearerToken == "first-token");
  CHECK(config->origin == "kubeconfig " + first + ", context ctx-a");

  options.kubeconfigEnv = third + ":" + second + ":" + first;
  config = loadRestConfig(options);
  REQUIRE(config.has_value());
  CHECK(config->server == "https://other");
  CHECK(config->origin == "kubeconfig " + second + ", context ctx-b");
}

TEST_CASE("an explicit context overrides current-context, its namespace included", "[kubeconfig]") {
  TempDir dir;
  const std::string path = dir.write("kc.yaml",
                                     "current-context: main\n"
                                     "contexts:\n- {name: main, context: {cluster: c1, user: u1}}\n"
                                     "- {name: admin, context: {cluster: c1, user: u2, "
                                     "namespace: ops}}\n"
                                     "clusters:\n- {name: c1, cluster: {server: https://main}}\n"
                                     "users:\n- {name: u1, user: {token: first-user}}\n"
                                     "- {name: u2, user: {token: second-user}}\n");
  CHECK(loadRestConfig(onlyFile(path))->contextNamespace.empty());
  auto options = onlyFile(path);
  options.context = "admin";
  auto config = loadRestConfig(options);
  REQUIRE(config.has_value());
  CHECK(config->bearerToken == "second-user");
  CHECK(config->contextNamespace == "ops");
  CHECK(config->origin == "kubeconfig " + path + ", context admin");
}

TEST_CASE("a missing context, cluster or user is an error naming the file and the name",
          "[kubeconfig]") {
  TempDir dir;
  SECTION("current-context") {
    const std::string path =
        dir.write("kc.yaml", "current-context: nowhere\nclusters: []\nusers: []\ncontexts: []\n");
    const std::string text = describe(loadRestConfig(onlyFile(path)));
    CHECK_THAT(text, Catch::Contains(path) && Catch::Contains("\"nowhere\" not found"));
  }
  SECTION("--context") {
    const std::string path = dir.write("kc.yaml", kubeconfig("server: https://k8s", "token: t"));
    auto options = onlyFile(path);
    options.context = "staging";
    const std::string text = describe(loadRestConfig(options));
    CHECK_THAT(text, Catch::Contains(path) && Catch::Contains("context \"staging\" not found"));
  }
  SECTION("user") {
    const std::string path =
        dir.write("kc.yaml",
                  "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: ghost}}\n"
                  "clusters:\n- {name: c, cluster: {server: https://k8s}}\n");
    const std::string text = describe(loadRestConfig(onlyFile(path)));
    CHECK_THAT(text, Catch::Contains(path) && Catch::Contains("contexts[x].context.user") &&
                         Catch::Contains("\"ghost\" not found"));
  }
}

TEST_CASE("an explicit kubeconfig path that does not exist is an error", "[kubeconfig]") {
  TempDir dir;
  dir.write(".kube/config", kubeconfig("server: https://home", "token: t"));
  auto options = onlyFile(dir.path("absent.yaml"));
  options.homeDir = dir.path();
  const std::string text = describe(loadRestConfig(options));
  CHECK_THAT(text, Catch::Contains(dir.path("absent.yaml")) &&
                       Catch::Contains("No such file or directory"));
}

TEST_CASE("without KUBECONFIG the file ~/.kube/config under the home folder is used",
          "[kubeconfig]") {
  TempDir dir;
  dir.write(".kube/config", kubeconfig("server: https://home", "token: t"));
  KubeconfigLoadOptions options;
  options.kubeconfigEnv = "";
  options.homeDir = dir.path();
  options.allowInCluster = false;
  auto config = loadRestConfig(options);
  REQUIRE(config.has_value());
  CHECK(config->server == "https://home");
}

TEST_CASE("finding no kubeconfig and no cluster environment is a clear config error",
          "[kubeconfig]") {
  TempDir dir;
  ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
  KubeconfigLoadOptions options;
  options.kubeconfigEnv = "";
  options.homeDir = dir.path();
  SECTION("in-cluster disabled") {
    options.allowInCluster = false;
    auto config = loadRestConfig(options);
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().kind == ErrorKind::Config);
    CHECK_THAT(config.error().describe(),
               Catch::Contains("no kubeconfig found") && Catch::Contains(dir.path(".kube/config")));
  }
  SECTION("in-cluster allowed but not in a cluster") {
    const std::string text = describe(loadRestConfig(options));
    CHECK_THAT(
        text, Catch::Contains("no kubeconfig found") && Catch::Contains("KUBERNETES_SERVICE_HOST"));
  }
}

TEST_CASE("in-cluster config uses KUBERNETES_SERVICE_HOST/PORT and the service account files",
          "[kubeconfig]") {
  TempDir dir;
  InClusterPaths paths;
  paths.tokenFile = dir.write("sa/token", "sa-token\n");
  paths.caFile = dir.write("sa/ca.crt", kCaPem);
  paths.namespaceFile = dir.write("sa/namespace", "tenant-a\n");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  SECTION("IPv4") {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    auto config = inClusterConfig(paths);
    REQUIRE(config.has_value());
    CHECK(config->server == "https://10.96.0.1:443");
    CHECK(config->origin == "in-cluster");
    CHECK(config->caData == kCaPem);
    CHECK(config->bearerTokenFile == paths.tokenFile);
    CHECK(config->contextNamespace == "tenant-a");
    CHECK(CredentialProvider(*config).current()->bearerToken == "sa-token");
  }
  SECTION("without a namespace file the namespace is empty, not an error") {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    paths.namespaceFile = dir.path("sa/absent");
    auto config = inClusterConfig(paths);
    REQUIRE(config.has_value());
    CHECK(config->contextNamespace.empty());
  }
  SECTION("IPv6 gets brackets") {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
    auto config = inClusterConfig(paths);
    REQUIRE(config.has_value());
    CHECK(config->server == "https://[fd00:10:96::1]:443");
  }
  SECTION("no environment") {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
    auto config = inClusterConfig(paths);
    REQUIRE_FALSE(config.has_value());
    CHECK_THAT(config.error().describe(), Catch::Contains("KUBERNETES_SERVICE_HOST"));
  }
  SECTION("missing token file") {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    paths.tokenFile = dir.path("sa/absent");
    auto config = inClusterConfig(paths);
    REQUIRE_FALSE(config.has_value());
    CHECK_THAT(config.error().describe(), Catch::Contains(paths.tokenFile));
  }
}

namespace {

// A user whose credentials come from tests/unit/data/exec_plugin.sh; `extraEnv` adds
// "- {name: X, value: Y}" lines to its env.
std::string execUser(const std::string& apiVersion, const TempDir& dir,
                     const std::string& extraEnv = "", const std::string& command = kPlugin) {
  return "exec:\n  apiVersion: " + apiVersion + "\n  command: " + command +
         "\n  args: [--cluster, \"my cluster\"]\n"
         "  installHint: install the fake plugin from tests/unit/data\n  env:\n"
         "  - {name: PLUGIN_COUNT_FILE, value: " +
         dir.path("runs") +
         "}\n"
         "  - {name: PLUGIN_INFO_FILE, value: " +
         dir.path("info") + "}\n" + extraEnv;
}

Result<Credentials> execCredentials(const Result<RestConfig>& config) {
  REQUIRE(config.has_value());
  return CredentialProvider(*config).current();
}

}  // namespace

TEST_CASE("an exec plugin's token is cached until its expirationTimestamp or invalidate()",
          "[kubeconfig]") {
  const std::string apiVersion =
      GENERATE("client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1");
  TempDir dir;
  auto config =
      loadFile(dir, "server: https://k8s",
               execUser(apiVersion, dir,
                        "  - {name: PLUGIN_EXPIRY, value: '2099-01-01T01:00:00.5+01:00'}\n"
                        "  - {name: PLUGIN_TOKEN, value: plugin-token}\n"));
  REQUIRE(config.has_value());
  CredentialProvider provider(*config);
  auto credentials = provider.current();
  REQUIRE(credentials.has_value());
  CHECK(credentials->bearerToken == "plugin-token");
  REQUIRE(credentials->expiry.has_value());
  using namespace std::chrono;
  CHECK(*credentials->expiry == sys_days(year(2099) / January / 1) + milliseconds(500));

  const std::string info = readText(dir.path("info"));
  auto sent = parseJson(info.substr(0, info.find('\n')), "KUBERNETES_EXEC_INFO");
  REQUIRE(sent.has_value());
  CHECK(stringMember(*sent, "apiVersion") == apiVersion);
  CHECK(stringMember(*sent, "kind") == "ExecCredential");
  REQUIRE(at(*sent, "/spec/interactive") != nullptr);
  CHECK(at(*sent, "/spec/interactive")->IsFalse());
  CHECK(at(*sent, "/spec/cluster") == nullptr);
  CHECK_THAT(info, Catch::Contains("arg:--cluster\narg:my cluster\n"));

  CHECK(provider.current()->bearerToken == "plugin-token");
  CHECK(countLines(dir.path("runs")) == 1);
  provider.invalidate();
  CHECK(provider.current()->bearerToken == "plugin-token");
  CHECK(countLines(dir.path("runs")) == 2);
}

TEST_CASE("an exec plugin whose credential has expired is run again", "[kubeconfig]") {
  TempDir dir;
  auto config = loadFile(dir, "server: https://k8s",
                         execUser("client.authentication.k8s.io/v1", dir,
                                  "  - {name: PLUGIN_EXPIRY, value: '2001-01-01T00:00:00Z'}\n"));
  REQUIRE(config.has_value());
  CredentialProvider provider(*config);
  REQUIRE(provider.current().has_value());
  REQUIRE(provider.current().has_value());
  CHECK(countLines(dir.path("runs")) == 2);
}

TEST_CASE("an exec plugin can answer with a client certificate and key", "[kubeconfig]") {
  TempDir dir;
  auto credentials = execCredentials(loadFile(dir, "server: https://k8s",
                                              execUser("client.authentication.k8s.io/v1beta1", dir,
                                                       "  - {name: PLUGIN_MODE, value: cert}\n")));
  REQUIRE(credentials.has_value());
  CHECK(credentials->bearerToken.empty());
  CHECK(credentials->clientCertData ==
        "-----BEGIN CERTIFICATE-----\nplugin\n-----END CERTIFICATE-----\n");
  CHECK(credentials->clientKeyData ==
        "-----BEGIN PRIVATE KEY-----\nplugin\n-----END PRIVATE KEY-----\n");
}

TEST_CASE("provideClusterInfo passes the server and the base64 CA to the exec plugin",
          "[kubeconfig]") {
  TempDir dir;
  auto credentials = execCredentials(
      loadFile(dir, "server: https://k8s:6443\ncertificate-authority-data: " + base64(kCaPem),
               execUser("client.authentication.k8s.io/v1", dir) + "  provideClusterInfo: true\n"));
  REQUIRE(credentials.has_value());
  const std::string info = readText(dir.path("info"));
  auto sent = parseJson(info.substr(0, info.find('\n')), "KUBERNETES_EXEC_INFO");
  REQUIRE(sent.has_value());
  CHECK(stringAt(*sent, "/spec/cluster/server") == "https://k8s:6443");
  CHECK(stringAt(*sent, "/spec/cluster/certificate-authority-data") == base64(kCaPem));
}

TEST_CASE("a relative exec command with a slash is resolved against the kubeconfig folder",
          "[kubeconfig]") {
  TempDir dir;
  fs::create_directories(dir.path("bin"));
  fs::copy_file(kPlugin, dir.path("bin/plugin.sh"));
  auto config = loadFile(dir, "server: https://k8s",
                         execUser("client.authentication.k8s.io/v1", dir, "", "./bin/plugin.sh"));
  REQUIRE(config.has_value());
  CHECK(config->exec->command == dir.path("bin/plugin.sh"));
  auto credentials = CredentialProvider(*config).current();
  REQUIRE(credentials.has_value());
  CHECK(credentials->bearerToken == "token-from-plugin");
}

TEST_CASE("an exec plugin that exits non-zero fails with its stderr and the install hint",
          "[kubeconfig]") {
  TempDir dir;
  auto credentials = execCredentials(loadFile(
      dir, "server: https://k8s",
      execUser("client.authentication.k8s.io/v1", dir, "  - {name: PLUGIN_MODE, value: fail}\n")));
  REQUIRE_FALSE(credentials.has_value());
  CHECK(credentials.error().kind == ErrorKind::Config);
  CHECK_THAT(credentials.error().describe(),
             Catch::Contains("exited with status 3") &&
                 Catch::Contains("plugin: the identity provider said no") &&
                 Catch::Contains("install the fake plugin"));
}

TEST_CASE("an exec plugin answering with another apiVersion is rejected", "[kubeconfig]") {
  TempDir dir;
  auto credentials =
      execCredentials(loadFile(dir, "server: https://k8s",
                               execUser("client.authentication.k8s.io/v1", dir,
                                        "  - {name: PLUGIN_MODE, value: wrong-api}\n")));
  REQUIRE_FALSE(credentials.has_value());
  CHECK_THAT(credentials.error().describe(),
             Catch::Contains("apiVersion \"client.authentication.k8s.io/v1alpha1\"") &&
                 Catch::Contains("expected \"client.authentication.k8s.io/v1\""));
}

TEST_CASE("an exec plugin that cannot be found fails with the install hint", "[kubeconfig]") {
  TempDir dir;
  auto credentials = execCredentials(
      loadFile(dir, "server: https://k8s",
               execUser("client.authentication.k8s.io/v1", dir, "", "no-such-bisync-plugin")));
  REQUIRE_FALSE(credentials.has_value());
  CHECK_THAT(credentials.error().describe(), Catch::Contains("no-such-bisync-plugin") &&
                                                 Catch::Contains("install the fake plugin"));
}

TEST_CASE("an exec config with an unsupported apiVersion is rejected when loading",
          "[kubeconfig]") {
  TempDir dir;
  const std::string text = describe(
      loadFile(dir, "server: https://k8s", execUser("client.authentication.k8s.io/v1alpha1", dir)));
  CHECK_THAT(text, Catch::Contains(dir.path("kubeconfig.yaml")) &&
                       Catch::Contains("users[u1].user.exec.apiVersion") &&
                       Catch::Contains("not supported"));
}

TEST_CASE("invalid YAML is reported with the file and the line", "[kubeconfig]") {
  TempDir dir;
  const std::string path =
      dir.write("broken.yaml", "apiVersion: v1\nkind: Config\ncurrent-context: a: b\nusers: []\n");
  const std::string text = describe(loadRestConfig(onlyFile(path)));
  CHECK_THAT(text, Catch::StartsWith(path + ":3: invalid YAML"));
}

TEST_CASE("problems in fields are reported with the file and the field path", "[kubeconfig]") {
  TempDir dir;
  const std::string file = dir.path("kubeconfig.yaml");
  SECTION("bad base64") {
    CHECK(describe(loadFile(
              dir, "server: https://k8s",
              "client-certificate-data: " + base64(kCertPem) + "\nclient-key-data: not*base64")) ==
          file + ": users[u1].user.client-key-data: not valid base64");
  }
  SECTION("a certificate without a key") {
    CHECK_THAT(describe(loadFile(dir, "server: https://k8s",
                                 "client-certificate-data: " + base64(kCertPem))),
               Catch::StartsWith(file + ": users[u1].user.client-key: missing"));
  }
  SECTION("an unreadable certificate-authority file") {
    CHECK_THAT(
        describe(loadFile(dir, "server: https://k8s\ncertificate-authority: nope.pem", "token: t")),
        Catch::StartsWith(file + ": clusters[c1].cluster.certificate-authority: cannot read " +
                          dir.path("nope.pem")));
  }
  SECTION("a missing server") {
    CHECK(describe(loadFile(dir, "tls-server-name: x", "token: t")) ==
          file + ": clusters[c1].cluster.server: missing");
  }
  SECTION("a list where a string belongs") {
    CHECK(describe(loadFile(dir, "server: https://k8s", "token: [a, b]")) ==
          file + ": users[u1].user.token: expected a string");
  }
}

TEST_CASE(
    "the plugin's answer from a worker is cached like one run in place, and due again "
    "after invalidate()",
    "[kubeconfig][exec-plugin]") {
  TempDir dir;
  // A command that cannot run: any run in place would fail, so success shows the answer handed
  // in was used.
  auto config =
      loadFile(dir, "server: https://k8s",
               execUser("client.authentication.k8s.io/v1", dir, "", dir.path("no-such-plugin")));
  REQUIRE(config.has_value());
  CredentialProvider provider(*config);
  CHECK(provider.pluginDue());
  Credentials fromWorker;
  fromWorker.bearerToken = "from-worker";
  const Result<Credentials> composed = provider.current(fromWorker);
  REQUIRE(composed.has_value());
  CHECK(composed->bearerToken == "from-worker");
  CHECK_FALSE(provider.pluginDue());
  CHECK(provider.current()->bearerToken == "from-worker");  // cached: no run
  provider.invalidate();
  CHECK(provider.pluginDue());
  // The worker's failure is the caller's, with the plugin's error text.
  const Result<Credentials> ranHere = CredentialProvider::runExecPlugin(*config);
  REQUIRE_FALSE(ranHere.has_value());
  CHECK(ranHere.error().message.find("cannot run") != std::string::npos);
  CHECK_FALSE(provider.current(ranHere).has_value());
  CHECK(provider.pluginDue());
}

TEST_CASE("a token of the config's own means the exec plugin is never due", "[kubeconfig]") {
  TempDir dir;
  auto config = loadFile(dir, "server: https://k8s",
                         "token: static\n" + execUser("client.authentication.k8s.io/v1", dir));
  REQUIRE(config.has_value());
  CredentialProvider provider(*config);
  CHECK_FALSE(provider.pluginDue());
  CHECK(provider.current()->bearerToken == "static");
}
