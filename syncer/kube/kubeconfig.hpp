// Finding and reading the connection settings of a cluster, the way kubectl does:
// an explicit file, else the KUBECONFIG list (merged, first file wins per entry), else
// ~/.kube/config, else the in-cluster service account. The result is a RestConfig: where
// the server is, how to trust it, and how to authenticate. Pure file reading, no network.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "syncer/kube/error.hpp"

namespace bisync::kube {

// users[].user.exec: a credential plugin (client.authentication.k8s.io v1beta1 or v1).
struct ExecConfig {
  std::string apiVersion;
  std::string command;  // a relative path with a '/' is resolved against the kubeconfig's folder
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provideClusterInfo = false;
  std::string installHint;
};

struct RestConfig {
  std::string server;  // "https://127.0.0.1:6443", no trailing slash
  std::string tlsServerName;
  std::string caData;  // PEM; empty means the system trust store
  bool insecureSkipTlsVerify = false;
  std::string clientCertData;  // PEM
  std::string clientKeyData;   // PEM
  std::string bearerToken;
  std::string bearerTokenFile;  // re-read on change and after a 401 (token rotation)
  std::string username;         // basic auth, for completeness
  std::string password;
  std::optional<ExecConfig> exec;
  // The namespace the context names (contexts[].context.namespace), in-cluster the service
  // account's; empty when none is named. Callers choose their own fallback (kubectl: default).
  std::string contextNamespace;
  // Where this came from, for messages: "kubeconfig /path, context ctx" or "in-cluster".
  std::string origin;
};

struct KubeconfigLoadOptions {
  std::string explicitPath;  // --kubeconfig: when set, only this file is read and it must exist
  std::string context;       // --context: overrides current-context
  // The KUBECONFIG list; std::nullopt means "read the environment variable".
  std::optional<std::string> kubeconfigEnv;
  // Home folder for ~/.kube/config; empty means $HOME.
  std::string homeDir;
  bool allowInCluster = true;
};

// Every problem names the file and the field, e.g.
// "/etc/kc.yaml: users[admin].user.client-key-data: not valid base64".
Result<RestConfig> loadRestConfig(const KubeconfigLoadOptions& options);

// One kubeconfig document, read as loadRestConfig reads the file `file`: messages name `file`,
// relative paths in it resolve against its folder, and the files it names are read. `context`
// overrides its current-context when not empty. The pure part of loading, for tools and fuzzing.
Result<RestConfig> restConfigFromYaml(std::string_view yaml, const std::string& file,
                                      const std::string& context);

struct InClusterPaths {
  std::string tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};
// KUBERNETES_SERVICE_HOST/PORT plus the mounted service account token and CA; the namespace
// file is optional (as in client-go: without it contextNamespace stays empty).
Result<RestConfig> inClusterConfig(const InClusterPaths& paths = {});

// What goes on the wire for one request.
struct Credentials {
  std::string bearerToken;
  std::string clientCertData;  // PEM; from the config or an exec plugin
  std::string clientKeyData;
  std::string username;
  std::string password;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// Produces the credentials of a RestConfig: static ones as they are, a token file's current
// content, or an exec plugin's answer, cached until its expirationTimestamp. After a 401 the
// client calls invalidate() once so the next current() re-reads or re-runs the plugin.
// Not thread-safe: used from the client's event loop only; only runExecPlugin() may run on
// another thread (the client runs the plugin on a worker so that the loop keeps serving).
class CredentialProvider {
 public:
  explicit CredentialProvider(RestConfig config);
  // Runs the exec plugin here, on the calling thread, when it is due.
  Result<Credentials> current();
  // The same with the plugin's answer already in hand (from runExecPlugin() on a worker):
  // the plugin is not run here. Cached like current()'s.
  Result<Credentials> current(Result<Credentials> fromPlugin);
  // True when current() would run the exec plugin now: it is the authentication method (no
  // token, token file or certificate of the config's own) and nothing valid is cached.
  bool pluginDue() const;
  // Runs the plugin of `config` (argv, no shell) with a timeout; see credentials.cpp. Blocks:
  // safe on any thread, it touches nothing but its arguments.
  static Result<Credentials> runExecPlugin(const RestConfig& config);
  void invalidate();

 private:
  // What the token file looked like when it was read; any difference means "read it again".
  struct FileStamp {
    std::int64_t modifiedNs = -1;
    std::uint64_t inode = 0;
    std::int64_t size = -1;
    bool operator==(const FileStamp&) const = default;
  };

  static std::optional<FileStamp> stampOf(const std::string& path);
  bool cacheIsStale() const;
  Result<std::string> readTokenFile();
  Result<Credentials> compose(std::optional<Result<Credentials>> fromPlugin);
  RestConfig config_;
  std::optional<Credentials> cached_;
  FileStamp tokenFileStamp_;
};

}  // namespace bisync::kube
