#include "syncer/startup_checks.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>
#include <utility>

#include "mapping/names.hpp"

namespace bisync::startup {

namespace {

std::string lowerCase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::optional<std::uint16_t> parsePort(std::string_view text) {
  unsigned port = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(port);
}

// Splits "host:port", "[v6]:port", "host" (port empty) of an authority without user info.
kube::Result<void> splitHostPort(std::string_view authority, std::string_view url,
                                 ServerAddress& address) {
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return kube::fail(kube::configError(std::string(url), "an IPv6 host without its ']'"));
    }
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return kube::fail(kube::configError(std::string(url), "text after the IPv6 host"));
    }
    port = rest.empty() ? rest : rest.substr(1);
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.ends_with('.')) host.remove_suffix(1);  // the same name as a fully qualified one
  if (host.empty() || host == "[]")
    return kube::fail(kube::configError(std::string(url), "no host"));
  address.host = lowerCase(host);
  if (port.empty()) return {};  // the scheme's default, already set
  const std::optional<std::uint16_t> number = parsePort(port);
  if (!number) {
    return kube::fail(
        kube::configError(std::string(url), "the port is not a number from 1 to 65535"));
  }
  address.port = *number;
  return {};
}

}  // namespace

policies::LoadedPolicies loadPolicies(const std::optional<std::string>& dir,
                                      const policies::KindRefusal& refusal) {
  policies::LoadedPolicies loaded = policies::withDefaults(dir ? policies::loadPolicyDirectory(*dir)
                                                               : policies::LoadedPolicies{});
  for (policies::PolicyProblem& problem : policies::checkKinds(loaded.policies, refusal)) {
    loaded.problems.push_back(std::move(problem));
  }
  std::stable_sort(loaded.problems.begin(), loaded.problems.end(),
                   [](const policies::PolicyProblem& a, const policies::PolicyProblem& b) {
                     return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                   });
  return loaded;
}

std::string describeSources(const std::vector<policies::SyncPolicy>& policies) {
  std::string list;
  for (const policies::SyncPolicy& policy : policies) {
    list += (list.empty() ? "" : ", ") + policies::describeResource(policy.resource) + " from " +
            policy.file;
  }
  return list;
}

kube::Result<void> checkSideFlags(const SideFlags& flags) {
  const std::string kubeconfig = "--" + flags.side + "-kubeconfig";
  const std::string inCluster = "--" + flags.side + "-in-cluster";
  if (flags.kubeconfig.empty() && !flags.inCluster) {
    return kube::fail(kube::configError(
        flags.side, kubeconfig + " FILE or " + inCluster +
                        " is required (KUBECONFIG and ~/.kube/config are not read)"));
  }
  if (!flags.kubeconfig.empty() && flags.inCluster) {
    return kube::fail(
        kube::configError(flags.side, kubeconfig + " and " + inCluster + " exclude each other"));
  }
  if (flags.inCluster && !flags.context.empty()) {
    return kube::fail(kube::configError(flags.side, "--" + flags.side + "-context needs " +
                                                        kubeconfig +
                                                        " (an in-cluster config has no contexts)"));
  }
  return {};
}

std::string ServerAddress::url() const {
  return scheme + "://" + host + ":" + std::to_string(port) + path;
}

kube::Result<ServerAddress> parseServerUrl(std::string_view url) {
  ServerAddress address;
  const auto schemeEnd = url.find("://");
  address.scheme = lowerCase(url.substr(0, schemeEnd));
  if (schemeEnd == std::string_view::npos ||
      (address.scheme != "https" && address.scheme != "http")) {
    return kube::fail(kube::configError(std::string(url), "not an https:// (or http://) URL"));
  }
  address.port = address.scheme == "https" ? 443 : 80;
  std::string_view rest = url.substr(schemeEnd + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  const auto pathStart = rest.find('/');
  std::string_view authority = rest.substr(0, pathStart);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (auto split = splitHostPort(authority, url, address); !split) return kube::fail(split.error());
  std::string_view path = pathStart == std::string_view::npos ? "" : rest.substr(pathStart);
  while (path.ends_with('/')) path.remove_suffix(1);
  address.path = std::string(path);
  return address;
}

kube::Result<void> checkServers(const ApiServers& servers, bool allowInsecureHttp) {
  std::vector<ServerAddress> addresses;
  for (const auto& [side, url] :
       {std::pair<std::string, const std::string*>{"source", &servers.source},
        {"target", &servers.target}}) {
    kube::Result<ServerAddress> address = parseServerUrl(*url);
    if (!address) {
      return kube::fail(kube::configError(
          side, "server \"" + *url + "\" cannot be used: " + address.error().message));
    }
    if (address->scheme == "http" && !allowInsecureHttp) {
      return kube::fail(kube::configError(
          side, "server " + *url +
                    " is plain HTTP: credentials and objects would cross the network "
                    "unencrypted; use https, or pass --allow-insecure-http (for local tests)"));
    }
    addresses.push_back(std::move(*address));
  }
  // Not the scheme: one host and port is one server, whatever protocol a URL claims it speaks.
  const ServerAddress& source = addresses[0];
  const ServerAddress& target = addresses[1];
  if (source.host == target.host && source.port == target.port && source.path == target.path) {
    return kube::fail(kube::configError(
        "", "source and target are the same cluster: source (" + servers.source + ") and target (" +
                servers.target + ") both name the API server " + source.url() +
                "; kube-bisync would sync the cluster into itself"));
  }
  return {};
}

std::vector<std::string> connectionWarnings(std::string_view side, const kube::RestConfig& config) {
  std::vector<std::string> warnings;
  const std::string prefix = std::string(side) + ": ";
  if (config.insecureSkipTlsVerify) {
    warnings.push_back(prefix + "insecure-skip-tls-verify is set (" + config.origin +
                       "): the API server's certificate is not checked, so anyone on the network "
                       "path can pose as " +
                       config.server + " and receive the credentials");
  }
  const kube::Result<ServerAddress> address = parseServerUrl(config.server);
  if (address && address->scheme == "http") {
    warnings.push_back(prefix + "plain HTTP to " + config.server +
                       " (--allow-insecure-http): credentials and objects cross the network "
                       "unencrypted");
  }
  return warnings;
}

kube::Result<void> checkDistinctClusters(const ClusterIdentity& source,
                                         const ClusterIdentity& target) {
  if (source.kubeSystemUid != target.kubeSystemUid) return {};
  return kube::fail(kube::configError(
      "", "source and target are the same cluster: the API servers " + source.server +
              " (source) and " + target.server +
              " (target) report the same kube-system namespace (uid " + source.kubeSystemUid +
              "); kube-bisync would sync the cluster into itself"));
}

kube::Result<StateNamespace> chooseStateNamespace(const std::optional<std::string>& flag,
                                                  const kube::RestConfig& target) {
  constexpr std::string_view kRule =
      " is not a namespace name (a DNS label: at most 63 characters of a-z, 0-9 and '-', "
      "starting and ending with a letter or digit)";
  if (flag) {
    if (!mapping::isDnsLabel(*flag)) {
      return kube::fail(
          kube::configError("--state-namespace", "\"" + *flag + "\"" + std::string(kRule)));
    }
    return StateNamespace{*flag, "--state-namespace"};
  }
  if (target.contextNamespace.empty()) {
    return StateNamespace{"default", "default: neither --state-namespace nor the target names one"};
  }
  const std::string from = target.origin == "in-cluster" ? "the target's service account namespace"
                                                         : "the namespace of the target's context";
  if (!mapping::isDnsLabel(target.contextNamespace)) {
    return kube::fail(kube::configError(
        "target", from + " (" + target.origin + "), \"" + target.contextNamespace + "\"," +
                      std::string(kRule) + "; choose one with --state-namespace"));
  }
  return StateNamespace{target.contextNamespace, from};
}

}  // namespace bisync::startup
