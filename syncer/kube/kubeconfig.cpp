#include "syncer/kube/kubeconfig.hpp"

#include "syncer/kube/base64.hpp"
#include "syncer/kube/files.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace bisync::kube {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kExecApiV1 = "client.authentication.k8s.io/v1";
constexpr std::string_view kExecApiV1beta1 = "client.authentication.k8s.io/v1beta1";

bool looksLikePem(std::string_view data) {
  return data.find("-----BEGIN ") != std::string_view::npos;
}

// One named entry of clusters/users/contexts, with the file that defined it (relative paths
// in it are resolved against that file's folder, as kubectl does before merging).
struct Entry {
  std::string file;
  std::string name;
  YAML::Node body;  // the "cluster"/"user"/"context" map; may be null
};

struct MergedKubeconfig {
  std::vector<std::string> files;
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::map<std::string, Entry> contexts;
  std::string currentContext;
  std::string currentContextFile;

  bool empty() const {
    return clusters.empty() && users.empty() && contexts.empty() && currentContext.empty();
  }
  std::string fileList() const {
    std::string list;
    for (const std::string& file : files) list += (list.empty() ? "" : ":") + file;
    return list;
  }
};

// Reads the fields of one entry; every error names the file and the field path.
class FieldReader {
 public:
  FieldReader(const Entry& entry, std::string path) : entry_(entry), path_(std::move(path)) {}

  Error error(std::string_view key, const std::string& message) const {
    return configError(entry_.file,
                       path_ + (key.empty() ? "" : ".") + std::string(key) + ": " + message);
  }

  YAML::Node node(std::string_view key) const {
    const YAML::Node& body = entry_.body;
    if (!body.IsMap()) return {};
    const YAML::Node value = body[std::string(key)];
    return value.IsDefined() ? value : YAML::Node();
  }

  Result<std::string> string(std::string_view key) const {
    const YAML::Node value = node(key);
    if (!value.IsDefined() || value.IsNull()) return std::string();
    if (!value.IsScalar()) return fail(error(key, "expected a string"));
    return value.Scalar();
  }

  Result<bool> boolean(std::string_view key) const {
    const YAML::Node value = node(key);
    if (!value.IsDefined() || value.IsNull()) return false;
    bool result = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, result)) {
      return fail(error(key, "expected true or false"));
    }
    return result;
  }

  Result<std::string> base64(std::string_view key) const {
    auto text = string(key);
    if (!text) return text;
    auto decoded = decodeBase64(*text);
    if (!decoded) return fail(error(key, "not valid base64"));
    return *decoded;
  }

  // A path from the file, resolved against the folder of the file that defined the entry.
  std::string resolve(const std::string& path) const {
    if (path.empty() || fs::path(path).is_absolute()) return path;
    std::error_code ignored;  // without a working directory the path stays relative
    const fs::path file = fs::absolute(fs::path(entry_.file), ignored);
    return (file.parent_path() / path).lexically_normal().string();
  }

  Result<std::string> fileContent(std::string_view key, const std::string& path) const {
    std::string why;
    auto content = readWholeFile(resolve(path), why);
    if (!content) return fail(error(key, "cannot read " + resolve(path) + ": " + why));
    return *content;
  }

  // A PEM value given either as "<key>" (a file) or "<key>-data" (base64); never both.
  Result<std::string> pem(const std::string& key) const {
    auto file = string(key);
    if (!file) return fail(file.error());
    auto data = base64(key + "-data");
    if (!data) return fail(data.error());
    if (!file->empty() && !data->empty()) {
      return fail(error(key, "both " + key + " and " + key + "-data are set; use one"));
    }
    if (!file->empty()) {
      auto content = fileContent(key, *file);
      if (!content) return content;
      if (!looksLikePem(*content)) return fail(error(key, resolve(*file) + " is not PEM"));
      return content;
    }
    if (!data->empty() && !looksLikePem(*data)) return fail(error(key + "-data", "not PEM"));
    return data;
  }

  const Entry& entry() const { return entry_; }

 private:
  const Entry& entry_;
  std::string path_;
};

// yaml-cpp 0.7 refuses documents nested deeper than 2000 levels (YAML::DeepRecursion, a
// YAML::Exception), so no kubeconfig can overflow the stack; tests/fuzz checks it.
Result<YAML::Node> parseYaml(std::string_view text, const std::string& file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.is_null() ? file : file + ":" + std::to_string(e.mark.line + 1);
    return fail(configError(where, "invalid YAML: " + e.msg));
  }
}

// Adds the entries of one section ("clusters", ...) that no earlier file defined.
Result<void> mergeSection(const YAML::Node& root, const std::string& file,
                          const std::string& section, const std::string& bodyKey,
                          std::map<std::string, Entry>& into) {
  const YAML::Node list = root[section];
  if (!list.IsDefined() || list.IsNull()) return {};
  if (!list.IsSequence()) return fail(configError(file, section + ": expected a list"));
  std::size_t index = 0;
  for (const YAML::Node& item : list) {
    const std::string where = section + "[" + std::to_string(index++) + "]";
    if (!item.IsMap()) return fail(configError(file, where + ": expected a map"));
    const YAML::Node name = item["name"];
    if (!name.IsDefined() || !name.IsScalar() || name.Scalar().empty()) {
      return fail(configError(file, where + ".name: missing"));
    }
    const YAML::Node body = item[bodyKey];
    if (body.IsDefined() && !body.IsNull() && !body.IsMap()) {
      return fail(
          configError(file, section + "[" + name.Scalar() + "]." + bodyKey + ": expected a map"));
    }
    // An absent key gives an invalid node, which throws on any use but IsDefined() (found by
    // tests/fuzz): keep an empty one instead, whose fields read as missing.
    into.try_emplace(name.Scalar(),
                     Entry{file, name.Scalar(), body.IsDefined() ? body : YAML::Node()});
  }
  return {};
}

Result<void> mergeText(std::string_view text, const std::string& file, MergedKubeconfig& merged) {
  auto parsed = parseYaml(text, file);
  if (!parsed) return fail(parsed.error());
  const YAML::Node& root = *parsed;
  merged.files.push_back(file);
  if (!root.IsDefined() || root.IsNull()) return {};  // an empty file is an empty config
  if (!root.IsMap()) return fail(configError(file, "expected a kubeconfig map at the top level"));
  if (auto ok = mergeSection(root, file, "clusters", "cluster", merged.clusters); !ok) return ok;
  if (auto ok = mergeSection(root, file, "users", "user", merged.users); !ok) return ok;
  if (auto ok = mergeSection(root, file, "contexts", "context", merged.contexts); !ok) return ok;
  const YAML::Node current = root["current-context"];
  if (current.IsDefined() && !current.IsNull()) {
    if (!current.IsScalar()) return fail(configError(file, "current-context: expected a string"));
    if (merged.currentContext.empty() && !current.Scalar().empty()) {
      merged.currentContext = current.Scalar();
      merged.currentContextFile = file;
    }
  }
  return {};
}

Result<void> readCluster(const FieldReader& cluster, RestConfig& config) {
  auto server = cluster.string("server");
  if (!server) return fail(server.error());
  if (server->empty()) return fail(cluster.error("server", "missing"));
  config.server = *server;
  while (config.server.size() > 1 && config.server.back() == '/') config.server.pop_back();

  auto tlsServerName = cluster.string("tls-server-name");
  auto insecure = cluster.boolean("insecure-skip-tls-verify");
  auto ca = cluster.pem("certificate-authority");
  if (!tlsServerName) return fail(tlsServerName.error());
  if (!insecure) return fail(insecure.error());
  if (!ca) return fail(ca.error());
  config.tlsServerName = *tlsServerName;
  config.insecureSkipTlsVerify = *insecure;
  config.caData = *ca;
  if (config.insecureSkipTlsVerify && !config.caData.empty()) {
    // client-go refuses this combination too: it would silently trust nothing.
    return fail(cluster.error("insecure-skip-tls-verify",
                              "cannot be combined with a certificate authority; remove one"));
  }
  return {};
}

Result<ExecConfig> readExec(const FieldReader& user) {
  const YAML::Node execNode = user.node("exec");
  if (!execNode.IsMap()) return fail(user.error("exec", "expected a map"));
  const Entry execEntry{user.entry().file, user.entry().name, execNode};
  const FieldReader exec(execEntry, "users[" + user.entry().name + "].user.exec");
  ExecConfig result;

  auto apiVersion = exec.string("apiVersion");
  if (!apiVersion) return fail(apiVersion.error());
  if (*apiVersion != kExecApiV1 && *apiVersion != kExecApiV1beta1) {
    return fail(exec.error("apiVersion", "\"" + *apiVersion + "\" is not supported (use " +
                                             std::string(kExecApiV1) + " or " +
                                             std::string(kExecApiV1beta1) + ")"));
  }
  result.apiVersion = *apiVersion;

  auto command = exec.string("command");
  if (!command) return fail(command.error());
  if (command->empty()) return fail(exec.error("command", "missing"));
  // kubectl resolves a relative command against the kubeconfig's folder only when it names
  // a path; a bare name is looked up in PATH.
  result.command = command->find('/') == std::string::npos ? *command : exec.resolve(*command);

  const YAML::Node args = exec.node("args");
  if (args.IsDefined() && !args.IsNull()) {
    if (!args.IsSequence()) return fail(exec.error("args", "expected a list of strings"));
    for (const YAML::Node& arg : args) {
      if (!arg.IsScalar()) return fail(exec.error("args", "expected a list of strings"));
      result.args.push_back(arg.Scalar());
    }
  }

  const YAML::Node env = exec.node("env");
  if (env.IsDefined() && !env.IsNull()) {
    if (!env.IsSequence()) return fail(exec.error("env", "expected a list of {name, value}"));
    std::size_t index = 0;
    for (const YAML::Node& variable : env) {
      const Entry variableEntry{exec.entry().file, exec.entry().name, variable};
      const FieldReader reader(variableEntry, "users[" + user.entry().name + "].user.exec.env[" +
                                                  std::to_string(index++) + "]");
      if (!variable.IsMap()) return fail(reader.error("", "expected a map"));
      auto name = reader.string("name");
      auto value = reader.string("value");
      if (!name) return fail(name.error());
      if (!value) return fail(value.error());
      if (name->empty()) return fail(reader.error("name", "missing"));
      result.env.emplace_back(*name, *value);
    }
  }

  auto provideClusterInfo = exec.boolean("provideClusterInfo");
  auto installHint = exec.string("installHint");
  auto interactiveMode = exec.string("interactiveMode");
  if (!provideClusterInfo) return fail(provideClusterInfo.error());
  if (!installHint) return fail(installHint.error());
  if (!interactiveMode) return fail(interactiveMode.error());
  if (*interactiveMode == "Always") {
    return fail(exec.error("interactiveMode",
                           "Always needs a terminal, but the syncer runs non-interactively"));
  }
  if (!interactiveMode->empty() && *interactiveMode != "Never" &&
      *interactiveMode != "IfAvailable") {
    return fail(exec.error("interactiveMode", "expected Never, IfAvailable or Always"));
  }
  result.provideClusterInfo = *provideClusterInfo;
  result.installHint = *installHint;
  return result;
}

Result<void> readUser(const FieldReader& user, RestConfig& config) {
  auto token = user.string("token");
  auto tokenFile = user.string("tokenFile");
  auto username = user.string("username");
  auto password = user.string("password");
  auto cert = user.pem("client-certificate");
  auto key = user.pem("client-key");
  for (const auto* field : {&token, &tokenFile, &username, &password, &cert, &key}) {
    if (!*field) return fail(field->error());
  }
  if ((!token->empty() || !tokenFile->empty()) && (!username->empty() || !password->empty())) {
    return fail(user.error("",
                           "more than one authentication method (token and "
                           "username/password); only one is allowed"));
  }
  if (!cert->empty() && key->empty()) {
    return fail(user.error("client-key", "missing: client-certificate is set but no key"));
  }
  if (cert->empty() && !key->empty()) {
    return fail(user.error("client-certificate", "missing: client-key is set but no certificate"));
  }
  config.bearerToken = *token;
  if (!tokenFile->empty()) {
    config.bearerTokenFile = user.resolve(*tokenFile);
    // Like client-go: an unreadable token file is a load error, not a surprise at request time.
    auto content = user.fileContent("tokenFile", *tokenFile);
    if (!content) return fail(content.error());
    if (config.bearerToken.empty()) config.bearerToken = trimmed(*content);
  }
  config.username = *username;
  config.password = *password;
  config.clientCertData = *cert;
  config.clientKeyData = *key;

  const YAML::Node exec = user.node("exec");
  if (exec.IsDefined() && !exec.IsNull()) {
    auto execConfig = readExec(user);
    if (!execConfig) return fail(execConfig.error());
    config.exec = std::move(*execConfig);
  }
  return {};
}

Result<std::string> readKubeconfig(const std::string& file) {
  std::string why;
  std::optional<std::string> content = readWholeFile(file, why);
  if (!content) return fail(configError(file, "cannot read the kubeconfig: " + why));
  return std::move(*content);
}

Result<void> mergeFile(const std::string& file, MergedKubeconfig& merged) {
  const Result<std::string> content = readKubeconfig(file);
  if (!content) return fail(content.error());
  return mergeText(*content, file, merged);
}

Result<RestConfig> buildRestConfig(const MergedKubeconfig& merged, const std::string& override) {
  const std::string contextName = override.empty() ? merged.currentContext : override;
  if (contextName.empty()) {
    return fail(configError(merged.fileList(), "no current-context is set and no context given"));
  }
  const auto context = merged.contexts.find(contextName);
  if (context == merged.contexts.end()) {
    if (!override.empty()) {
      return fail(configError(merged.fileList(), "context \"" + contextName + "\" not found"));
    }
    return fail(configError(merged.currentContextFile,
                            "current-context: context \"" + contextName + "\" not found"));
  }
  const FieldReader contextReader(context->second, "contexts[" + contextName + "].context");
  auto clusterName = contextReader.string("cluster");
  auto userName = contextReader.string("user");
  auto contextNamespace = contextReader.string("namespace");
  if (!clusterName) return fail(clusterName.error());
  if (!userName) return fail(userName.error());
  if (!contextNamespace) return fail(contextNamespace.error());
  if (clusterName->empty()) return fail(contextReader.error("cluster", "missing"));

  RestConfig config;
  const auto cluster = merged.clusters.find(*clusterName);
  if (cluster == merged.clusters.end()) {
    return fail(contextReader.error("cluster", "cluster \"" + *clusterName + "\" not found"));
  }
  if (auto ok = readCluster(FieldReader(cluster->second, "clusters[" + *clusterName + "].cluster"),
                            config);
      !ok) {
    return fail(ok.error());
  }
  if (!userName->empty()) {  // a context without a user talks to the server anonymously
    const auto user = merged.users.find(*userName);
    if (user == merged.users.end()) {
      return fail(contextReader.error("user", "user \"" + *userName + "\" not found"));
    }
    if (auto ok = readUser(FieldReader(user->second, "users[" + *userName + "].user"), config);
        !ok) {
      return fail(ok.error());
    }
  }
  config.contextNamespace = *contextNamespace;
  config.origin = "kubeconfig " + context->second.file + ", context " + contextName;
  return config;
}

std::vector<std::string> splitKubeconfigList(const std::string& list) {
  std::vector<std::string> paths;
  std::set<std::string> seen;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    std::string path = list.substr(start, end - start);
    if (!path.empty() && seen.insert(path).second) paths.push_back(std::move(path));
    start = end + 1;
  }
  return paths;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

Result<RestConfig> loadRestConfig(const KubeconfigLoadOptions& options) {
  MergedKubeconfig merged;
  std::string tried;
  if (!options.explicitPath.empty()) {
    const Result<std::string> content = readKubeconfig(options.explicitPath);
    if (!content) return fail(content.error());
    return restConfigFromYaml(*content, options.explicitPath, options.context);
  }

  const std::string list =
      options.kubeconfigEnv ? *options.kubeconfigEnv : environment("KUBECONFIG");
  std::vector<std::string> candidates;
  if (!list.empty()) {
    candidates = splitKubeconfigList(list);
    tried = "KUBECONFIG=" + list;
  } else {
    const std::string home = options.homeDir.empty() ? environment("HOME") : options.homeDir;
    if (!home.empty()) candidates.push_back((fs::path(home) / ".kube" / "config").string());
    tried = candidates.empty() ? "no $HOME" : candidates.front();
  }
  for (const std::string& path : candidates) {
    std::error_code ignored;
    if (!fs::exists(path, ignored)) continue;  // kubectl skips missing KUBECONFIG entries
    if (auto ok = mergeFile(path, merged); !ok) return fail(ok.error());
  }
  if (!merged.empty()) return buildRestConfig(merged, options.context);

  if (!options.allowInCluster) {
    return fail(configError("kubeconfig", "no kubeconfig found (tried " + tried + ")"));
  }
  if (environment("KUBERNETES_SERVICE_HOST").empty() ||
      environment("KUBERNETES_SERVICE_PORT").empty()) {
    return fail(configError("kubeconfig", "no kubeconfig found (tried " + tried +
                                              ") and not running in a cluster "
                                              "(KUBERNETES_SERVICE_HOST/PORT are not set)"));
  }
  return inClusterConfig();
}

Result<RestConfig> restConfigFromYaml(std::string_view yaml, const std::string& file,
                                      const std::string& context) {
  MergedKubeconfig merged;
  if (auto ok = mergeText(yaml, file, merged); !ok) return fail(ok.error());
  if (merged.empty()) return fail(configError(file, "no clusters, users or contexts in the file"));
  return buildRestConfig(merged, context);
}

Result<RestConfig> inClusterConfig(const InClusterPaths& paths) {
  const std::string host = environment("KUBERNETES_SERVICE_HOST");
  const std::string port = environment("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return fail(configError("in-cluster",
                            "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                            "must be set"));
  }
  RestConfig config;
  config.origin = "in-cluster";
  const bool ipv6 = host.find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;

  std::string why;
  const auto token = readWholeFile(paths.tokenFile, why);
  if (!token) {
    return fail(configError(
        "in-cluster", "cannot read the service account token " + paths.tokenFile + ": " + why));
  }
  config.bearerToken = trimmed(*token);
  config.bearerTokenFile = paths.tokenFile;  // kubelet rotates it: re-read, never cache forever

  const auto ca = readWholeFile(paths.caFile, why);
  if (!ca) {
    return fail(configError("in-cluster",
                            "cannot read the service account CA " + paths.caFile + ": " + why));
  }
  config.caData = *ca;
  // Older clusters mount no namespace file; that is no reason to refuse the token and CA.
  if (const auto ns = readWholeFile(paths.namespaceFile, why))
    config.contextNamespace = trimmed(*ns);
  return config;
}

}  // namespace bisync::kube
