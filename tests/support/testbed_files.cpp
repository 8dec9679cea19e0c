// The testbed's credentials and client configuration files.
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "tests/support/testbed.hpp"

namespace bisync::testing {
namespace {

namespace fs = std::filesystem;

const char* userName(Auth auth) {
  switch (auth) {
    case Auth::AdminToken: return "admin";
    case Auth::AdminTokenFile: return "admin-token-file";
    case Auth::ViewerToken: return "viewer";
    case Auth::ClientCert: return "admin-cert";
  }
  return "admin";
}

}  // namespace

// Key material from gen-certs.sh (openssl), random tokens in a --token-auth-file CSV:
// token,user,uid,"group,...".
void Testbed::prepareFiles() {
  const fs::path pki = dir() / "pki";
  const std::string script = std::string(BISYNC_TESTBED_DIR) + "/gen-certs.sh";
  const CommandResult certs = runCommand({"bash", script, pki.string()});
  if (!certs.ok()) {
    throw std::runtime_error("testbed: " + script + " failed: " + certs.summary());
  }
  users_.clientCaFile = (pki / "client-ca.crt").string();
  users_.clientCertFile = (pki / "admin-cert.crt").string();
  users_.clientKeyFile = (pki / "admin-cert.key").string();

  users_.adminToken = "admin-" + randomHex(16);
  users_.viewerToken = "viewer-" + randomHex(16);
  users_.tokenAuthFile = (pki / "tokens.csv").string();
  writeFile(users_.tokenAuthFile, users_.adminToken + ",admin,admin-uid,\"system:masters\"\n" +
                                      users_.viewerToken + ",viewer,viewer-uid\n");
  users_.adminTokenFile = (pki / "admin.token").string();
  writeFile(users_.adminTokenFile, users_.adminToken + "\n");
}

kube::RestConfig Testbed::restConfig(Side side, Auth auth) const {
  const ApiServerInfo& info = server(side);
  kube::RestConfig config;
  config.server = info.url;
  config.caData = readFile(info.caFile);
  switch (auth) {
    case Auth::AdminToken: config.bearerToken = users_.adminToken; break;
    case Auth::AdminTokenFile: config.bearerTokenFile = users_.adminTokenFile; break;
    case Auth::ViewerToken: config.bearerToken = users_.viewerToken; break;
    case Auth::ClientCert:
      config.clientCertData = readFile(users_.clientCertFile);
      config.clientKeyData = readFile(users_.clientKeyFile);
      break;
  }
  config.origin = "testbed " + info.name + " as " + userName(auth);
  return config;
}

fs::path Testbed::writeKubeconfig(Side side, Auth auth, const fs::path& path,
                                  const std::string& serverUrl) const {
  const ApiServerInfo& info = server(side);
  const std::string user = userName(auth);
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1";
  out << YAML::Key << "kind" << YAML::Value << "Config";
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << info.name;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "server" << YAML::Value << (serverUrl.empty() ? info.url : serverUrl);
  out << YAML::Key << "certificate-authority" << YAML::Value << info.caFile;
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;

  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << user;
  out << YAML::Key << "user" << YAML::Value << YAML::BeginMap;
  switch (auth) {
    case Auth::AdminToken: out << YAML::Key << "token" << YAML::Value << users_.adminToken; break;
    case Auth::AdminTokenFile:
      out << YAML::Key << "tokenFile" << YAML::Value << users_.adminTokenFile;
      break;
    case Auth::ViewerToken: out << YAML::Key << "token" << YAML::Value << users_.viewerToken; break;
    case Auth::ClientCert:
      out << YAML::Key << "client-certificate" << YAML::Value << users_.clientCertFile;
      out << YAML::Key << "client-key" << YAML::Value << users_.clientKeyFile;
      break;
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;

  const std::string context = info.name + "-" + user;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << context;
  out << YAML::Key << "context" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cluster" << YAML::Value << info.name;
  out << YAML::Key << "user" << YAML::Value << user;
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "current-context" << YAML::Value << context;
  out << YAML::EndMap;
  if (!out.good()) {
    throw std::logic_error("testbed: kubeconfig emitter: " + out.GetLastError());
  }
  writeFile(path, std::string(out.c_str()) + "\n");
  return path;
}

}  // namespace bisync::testing
