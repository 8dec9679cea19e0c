// Typed errors for everything the Kubernetes client does. Expected failures (API errors,
// transport failures, bad configuration, undecodable data) are values, never exceptions:
// every fallible call returns Result<T>. An Error says what failed, where (server address
// or file), and whether retrying can help.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace bisync::kube {

enum class ErrorKind {
  Api,        // the API server answered with an error Status
  Transport,  // could not connect, connection reset, stream broken
  Tls,        // certificate or handshake failure
  Timeout,    // no answer within the deadline
  Config,     // kubeconfig, credentials or flags are unusable
  Decode,     // the server's answer is not what the API promises
  Canceled,   // the caller stopped the operation
};

// One entry of a Status's details.causes; for a server-side apply conflict, `field` is the
// conflicting field path and `message` names the manager that owns it.
struct StatusCause {
  std::string type;
  std::string message;
  std::string field;
};

// The reason of the Canceled error of a write the client's write gate refused (leader
// election: this replica does not lead, or no longer may write); it was never sent.
inline constexpr std::string_view kWriteGateClosed = "WriteGateClosed";

struct Error {
  ErrorKind kind = ErrorKind::Api;
  int httpStatus = 0;   // Api: the HTTP status code
  std::string reason;   // Api: Status.reason ("Conflict", "NotFound", ...); else a short tag
  std::string message;  // human-readable explanation
  std::vector<StatusCause> causes;
  std::string origin;  // the server URL, or the file (and field) a Config error is about
  std::chrono::seconds retryAfter{0};  // from Retry-After or details.retryAfterSeconds
  // Api: the refused request's Kubernetes verb ("patch") and resource ("configmaps",
  // "deployments.apps"), when the client knows them (not for discovery or raw paths).
  std::string verb;
  std::string resource;

  bool isApi(int status) const { return kind == ErrorKind::Api && httpStatus == status; }
  bool isNotFound() const { return isApi(404); }
  bool isConflict() const { return isApi(409) && reason != "AlreadyExists"; }
  bool isAlreadyExists() const { return isApi(409) && reason == "AlreadyExists"; }
  bool isGone() const { return isApi(410) || (kind == ErrorKind::Api && reason == "Expired"); }
  bool isUnauthorized() const { return isApi(401); }
  bool isForbidden() const { return isApi(403); }
  bool isInvalid() const { return isApi(422); }
  bool isTooManyRequests() const { return isApi(429); }
  bool isCanceled() const { return kind == ErrorKind::Canceled; }
  bool isWriteGateClosed() const { return isCanceled() && reason == kWriteGateClosed; }

  // True when the same request may succeed later: throttling, server-side unavailability,
  // timeouts and transport failures. 409/410/4xx are answers, not glitches.
  bool isRetryable() const;

  // One line: "<origin>: <status> <reason>: <message> [causes]".
  std::string describe() const;
};

// A 422 Invalid because the update would change a field the API server does not let change
// (ConfigMap or Secret data once `immutable` is set, a Service's clusterIP, a Job's template, a
// StatefulSet's spec outside the updatable fields, ...), and for nothing else: every cause
// names an immutable field (or, without causes, the message does). Only deleting and creating
// the object anew could make such a change.
bool isImmutableFieldError(const Error& error);

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

Error configError(std::string origin, std::string message);
Error decodeError(std::string origin, std::string message);
Error canceledError(std::string origin, std::string message);

// The longest wait a server may ask for, through the Retry-After header or a Status's
// details.retryAfterSeconds. kube-apiserver asks for 1 s; honouring a hostile or broken
// server's hour would stall every request behind it. 30 s is the client's request timeout and
// the informer's longest backoff.
inline constexpr std::chrono::seconds kMaxRetryAfter{30};

// A server's requested wait, capped at kMaxRetryAfter; 0 (no request) for a negative value.
std::chrono::seconds boundedRetryAfter(std::int64_t seconds);
// The Retry-After header's value when it is delay-seconds (RFC 9110), capped at kMaxRetryAfter;
// 0 for anything else (an HTTP-date, a sign, garbage), so that the client's own backoff applies.
std::chrono::seconds parseRetryAfterHeader(std::string_view value);

// Decodes an error answer. `body` is normally a metav1.Status; anything else (a proxy's HTML
// page, an empty body) still yields an Api error with the HTTP status and a message.
Error decodeApiError(int httpStatus, std::string_view body, std::string origin);

std::string_view toString(ErrorKind kind);

}  // namespace bisync::kube
