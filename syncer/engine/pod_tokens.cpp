// The service-account token of a synced Pod: requested from the source (virtual) API server,
// bound to the source Pod, and stored in a host Secret owned by the host Pod, which mounts it
// where the source Pod's token would be (the Pod translator does the mounting). Refreshed at 80 %
// of its life. The pure parts are in translators/pod/pod_token.hpp; docs/workloads.md,
// "Service-account tokens".
#include <spdlog/spdlog.h>

#include <chrono>

#include "syncer/engine/internal/sync_state.hpp"
#include "translators/pod/pod_names.hpp"
#include "translators/pod/pod_token.hpp"

namespace bisync::engine::internal {

namespace asio = boost::asio;
using kube::Json;
using kube::JsonValue;

namespace {

kube::ResourceInfo serviceAccounts() {
  return {"", "v1", "serviceaccounts", "ServiceAccount", true};
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A token for the source Pod `source` from the source API server, for service account `account`.
asio::awaitable<kube::Result<std::string>> requestToken(SyncState& state, const SyncKey& key,
                                                        const JsonValue& source,
                                                        const std::string& account) {
  const Json request = translators::tokenRequestOf(source, state.options.tokenAudiences,
                                                   state.options.tokenExpirationSeconds);
  const kube::ResourceInfo resource = serviceAccounts();
  const kube::Result<Json> issued =
      co_await state.sourceClient.createSubresource(resource, key.ns, account, "token", request);
  if (!issued) co_return kube::fail(issued.error());
  const std::string_view token = kube::stringAt(*issued, "/status/token");
  if (token.empty()) {
    kube::Error error;
    error.kind = kube::ErrorKind::Decode;
    error.reason = "NoToken";
    error.message = "the TokenRequest's answer holds no status.token";
    co_return kube::fail(std::move(error));
  }
  co_return std::string(token);
}

// Creates or replaces the host Secret `secret` (named in it); `existing`: the object there now,
// which the caller checked is ours.
asio::awaitable<kube::Result<void>> writeTokenSecret(SyncState& state, Json& secret,
                                                     const std::optional<Json>& existing) {
  const kube::ResourceInfo resource = kube::resources::secrets();
  const std::string ns(kube::namespaceOf(secret));
  kube::WriteOptions options;
  options.fieldManager = state.options.fieldManager;
  kube::Result<Json> written;
  if (existing) {
    // The resourceVersion we checked ownership at: a change since then fails as a conflict.
    secret["metadata"].AddMember(
        "resourceVersion",
        kube::stringValue(kube::resourceVersionOf(*existing), secret.GetAllocator()),
        secret.GetAllocator());
    written = co_await state.targetClient.update(resource, ns, secret, "", options);
  } else {
    written = co_await state.targetClient.create(resource, ns, secret, options);
  }
  if (!written) co_return kube::fail(written.error());
  co_return kube::Result<void>{};
}

}  // namespace

asio::awaitable<bool> keepPodToken(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                   const JsonValue& source, const kube::CachedObjectPtr& hostPod) {
  const std::optional<std::string> account = translators::mountedServiceAccount(source);
  if (!account) co_return true;
  const std::string_view hostKey = hostPod->key;
  const std::string hostNs(hostKey.substr(0, hostKey.find('/')));
  const std::string hostName(hostKey.substr(hostKey.find('/') + 1));
  const std::int64_t now = unixNow();
  const auto known = state.podTokens.find(std::string(hostKey));
  if (known != state.podTokens.end() && known->second.hostUid == hostPod->uid &&
      now < known->second.refreshAt) {
    state.queue.addAfter(key.str(), std::chrono::seconds(known->second.refreshAt - now));
    co_return true;
  }
  const std::string secretName = translators::tokenSecretName(hostName);
  const kube::ResourceInfo secrets = kube::resources::secrets();
  std::optional<Json> existing;
  if (kube::Result<Json> found = co_await state.targetClient.get(secrets, hostNs, secretName)) {
    existing = std::move(*found);
  } else if (!found.error().isNotFound()) {
    fail(state, key,
         "read token Secret " + hostNs + "/" + secretName + ": " + found.error().describe());
    co_return false;
  }
  if (existing && !translators::ownedByHostPod(*existing, hostPod->uid)) {
    const std::string message = "the host Secret " + hostNs + "/" + secretName +
                                " that would hold the Pod's token is not the syncer's: "
                                "leaving it untouched";
    co_await reportClash(state, sync.translator->resource(), key, source, message);
    co_return true;
  }
  if (const auto stored =
          existing ? translators::storedRefreshAt(*existing, hostPod->uid) : std::nullopt;
      stored && now < *stored) {
    state.podTokens[std::string(hostKey)] = {std::string(hostPod->uid), *stored};
    state.queue.addAfter(key.str(), std::chrono::seconds(*stored - now));
    co_return true;
  }
  const kube::Result<std::string> token = co_await requestToken(state, key, source, *account);
  if (!token) {
    if (token.error().isForbidden()) {
      co_await reportForbidden(state, sync, key.str(), source, "source", token.error());
    }
    fail(state, key,
         "request a token for service account " + *account + ": " + token.error().describe());
    co_return false;
  }
  const std::int64_t refreshAt =
      translators::tokenRefreshAt(now, state.options.tokenExpirationSeconds);
  const translators::TokenSecretInputs inputs{secretName,
                                              hostNs,
                                              hostName,
                                              std::string(hostPod->uid),
                                              *token,
                                              state.sourceClient.config().caData,
                                              key.ns,
                                              refreshAt,
                                              state.mapper.config().clusterName};
  Json secret = translators::tokenSecretOf(inputs);
  if (const kube::Result<void> written = co_await writeTokenSecret(state, secret, existing);
      !written) {
    fail(state, key,
         "write token Secret " + hostNs + "/" + secretName + ": " + written.error().describe());
    co_return false;
  }
  ++state.stats.target.creates;
  logWrite(state, "wrote the service-account token of pod " + key.ns + "/" + key.name + " to " +
                      hostNs + "/" + secretName);
  state.podTokens[std::string(hostKey)] = {std::string(hostPod->uid), refreshAt};
  state.queue.addAfter(key.str(), std::chrono::seconds(refreshAt - now));
  co_return true;
}

asio::awaitable<Outcome> keepHostPodToken(SyncState& state, ResourceSync& sync, const SyncKey& key,
                                          const JsonValue& source, const std::string& targetKey,
                                          const kube::CachedObjectPtr& targetCached) {
  if (!targetCached) {
    state.podTokens.erase(targetKey);
    if (sync.pendingWrites.contains(targetKey)) state.enqueue(key);  // created just now
    co_return Outcome::Done;
  }
  if (!ownsCopy(state, targetCached->parse())) co_return Outcome::Done;
  co_return co_await keepPodToken(state, sync, key, source, targetCached) ? Outcome::Done
                                                                          : Outcome::Retry;
}

}  // namespace bisync::engine::internal
