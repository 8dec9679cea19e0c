// What the daemon checks before it syncs anything; it exits 2 on any problem.
//
// Its SyncPolicies, shared by `--validate-policies DIR` and `--policies DIR`: which policies the
// daemon runs with, and kinds it must not sync. Every problem is a policies::PolicyProblem,
// printed as `file:line: reason`. (Whether the servers serve a kind is the Syncer's to find out:
// it waits for kinds not served yet.)
//
// Its two clusters (docs/operations.md, "Start-up safety"): each side's connection settings are
// chosen explicitly (a kubeconfig flag or an in-cluster flag, never KUBECONFIG or
// ~/.kube/config), the server URLs are https unless plain HTTP is allowed, source and target
// are not one cluster (the same server URL before connecting, the same kube-system namespace
// uid after), and the state namespace is a namespace name. Each problem is a Config error whose
// describe() is the one line the daemon prints.
//
// loadPolicies reads the policy directory; everything else is pure. Asking the API servers
// (the kube-system namespace) is main.cpp's part: it hands the answers to checkDistinctClusters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/policy.hpp"
#include "policies/policy_loader.hpp"
#include "syncer/kube/error.hpp"
#include "syncer/kube/kubeconfig.hpp"
#include "syncer/kube/resource.hpp"

namespace bisync::startup {

// The policies of `dir` plus the built-in policy of every kind no file there covers (only the
// built-in ones without `dir`), and every problem: those of the files, and a policy for a kind
// `refusal` refuses (translators::genericRefusal). Problems are sorted by file, then line.
policies::LoadedPolicies loadPolicies(const std::optional<std::string>& dir,
                                      const policies::KindRefusal& refusal);

// The API servers, by URL, as messages name them.
struct ApiServers {
  std::string source;
  std::string target;
};

// "v1 ConfigMap from ./policies/configmaps.yaml, v1 Secret from <built-in>/secrets.yaml".
std::string describeSources(const std::vector<policies::SyncPolicy>& policies);

// How the command line chooses one side's connection settings.
struct SideFlags {
  std::string side;        // "source" or "target": the flags are --<side>-kubeconfig, ...
  std::string kubeconfig;  // --<side>-kubeconfig; empty when not given
  bool inCluster = false;  // --<side>-in-cluster
  std::string context;     // --<side>-context; empty when not given
};

// Exactly one of --<side>-kubeconfig and --<side>-in-cluster, and --<side>-context only with a
// kubeconfig. Nothing is taken from the environment: a daemon that silently picked up an
// operator's KUBECONFIG could sync into the wrong cluster.
kube::Result<void> checkSideFlags(const SideFlags& flags);

// An API server URL reduced to what identifies the server: scheme and host in lower case
// (IPv6 in brackets, a trailing dot dropped), the port spelled out (443 for https, 80 for http)
// and the path without trailing slashes. User info, query and fragment are left out.
struct ServerAddress {
  std::string scheme;  // "https" or "http"
  std::string host;
  std::uint16_t port = 0;
  std::string path;  // "" or "/prefix"

  std::string url() const;  // "https://127.0.0.1:6443/prefix"
  bool operator==(const ServerAddress&) const = default;
};

// A Config error naming `url` when it is not an http or https URL with a host and a valid port.
kube::Result<ServerAddress> parseServerUrl(std::string_view url);

// Before connecting: both server URLs parse, are https (or http with `allowInsecureHttp`), and
// do not name the same server. The errors name the side and the URL, or both URLs.
kube::Result<void> checkServers(const ApiServers& servers, bool allowInsecureHttp);

// What deserves a warning in the settings of one side: insecure-skip-tls-verify, plain HTTP.
std::vector<std::string> connectionWarnings(std::string_view side, const kube::RestConfig& config);

// A cluster as one of its API servers describes it: the uid of its kube-system namespace is the
// same through every server and every URL of the cluster (API servers sharing an etcd prefix
// included), and differs between clusters, virtual clusters included.
struct ClusterIdentity {
  std::string server;         // the URL the daemon uses
  std::string kubeSystemUid;  // not empty
};

// After connecting: an error naming both servers when they report the same cluster.
kube::Result<void> checkDistinctClusters(const ClusterIdentity& source,
                                         const ClusterIdentity& target);

// The namespace of this instance's ownership record on the target, and why that one.
struct StateNamespace {
  std::string name;
  std::string from;  // "--state-namespace", "the target's context", "default"
};

// `flag` (--state-namespace) when given, else the namespace the target's context names, else
// "default"; an error when the chosen name is not a DNS label (a namespace name).
kube::Result<StateNamespace> chooseStateNamespace(const std::optional<std::string>& flag,
                                                  const kube::RestConfig& target);

}  // namespace bisync::startup
