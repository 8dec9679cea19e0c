#include "syncer/kube/error.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "syncer/kube/json.hpp"

namespace bisync::kube {

namespace {

std::string reasonForStatus(int httpStatus) {
  switch (httpStatus) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Unknown";
  }
}

// Server text kept in an Error ends up in logs, Events and the sync-status annotation: a
// server must not be able to make those arbitrarily long.
constexpr std::size_t kMaxMessageBytes = 4096;
constexpr std::size_t kMaxCauses = 50;

std::string bounded(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return std::string(text);
  return std::string(text.substr(0, maxBytes)) + "... (" + std::to_string(text.size()) +
         " bytes in all)";
}

// How API servers word a refused change of an immutable field (field.Forbidden or
// field.Invalid details of the validation of an update): apimachinery's
// ValidateImmutableField, ConfigMap/Secret `immutable` and a Secret's type; a Service's
// clusterIPs (1.20); PersistentVolumeClaim specs; StatefulSet and Pod specs outside their
// updatable fields; a StorageClass's provisioner, parameters and reclaimPolicy.
constexpr std::array<std::string_view, 8> kImmutableWordings{
    "field is immutable",
    "may not change once set",
    "is immutable after creation",
    "updates to statefulset spec for fields other than",
    "pod updates may not change fields",
    "updates to provisioner are forbidden",
    "updates to parameters are forbidden",
    "updates to reclaimPolicy are forbidden"};

bool namesImmutableField(std::string_view text) {
  return std::any_of(kImmutableWordings.begin(), kImmutableWordings.end(),
                     [&](std::string_view wording) { return text.find(wording) != text.npos; });
}

}  // namespace

bool isImmutableFieldError(const Error& error) {
  if (!error.isInvalid()) return false;
  if (error.causes.empty()) return namesImmutableField(error.message);
  return std::all_of(error.causes.begin(), error.causes.end(),
                     [](const StatusCause& cause) { return namesImmutableField(cause.message); });
}

std::chrono::seconds boundedRetryAfter(std::int64_t seconds) {
  return std::chrono::seconds(std::clamp<std::int64_t>(seconds, 0, kMaxRetryAfter.count()));
}

std::chrono::seconds parseRetryAfterHeader(std::string_view value) {
  if (value.empty() ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::chrono::seconds(0);
  }
  std::int64_t seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  // Only digits, so the one possible failure is a number too large for 64 bits.
  if (error == std::errc::result_out_of_range) return kMaxRetryAfter;
  return boundedRetryAfter(seconds);
}

bool Error::isRetryable() const {
  switch (kind) {
    case ErrorKind::Transport:
    case ErrorKind::Timeout: return true;
    case ErrorKind::Api:
      return httpStatus == 429 || httpStatus == 500 || httpStatus == 502 || httpStatus == 503 ||
             httpStatus == 504;
    default: return false;
  }
}

std::string_view toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Api: return "api";
    case ErrorKind::Transport: return "transport";
    case ErrorKind::Tls: return "tls";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::Config: return "config";
    case ErrorKind::Decode: return "decode";
    case ErrorKind::Canceled: return "canceled";
  }
  return "unknown";
}

std::string Error::describe() const {
  std::string text = origin.empty() ? std::string() : origin + ": ";
  if (kind == ErrorKind::Api) {
    text += std::to_string(httpStatus) + " " + reason;
  } else if (kind != ErrorKind::Config) {
    text += std::string(toString(kind)) + " error";
    if (!reason.empty()) text += " (" + reason + ")";
  }
  if (!message.empty()) {
    if (kind != ErrorKind::Config) text += ": ";
    text += message;
  }
  if (!causes.empty()) {
    text += " [";
    for (std::size_t i = 0; i < causes.size(); ++i) {
      if (i > 0) text += "; ";
      const StatusCause& cause = causes[i];
      if (!cause.field.empty()) text += cause.field + ": ";
      text += cause.message.empty() ? cause.type : cause.message;
    }
    text += "]";
  }
  return text;
}

Error configError(std::string origin, std::string message) {
  Error error;
  error.kind = ErrorKind::Config;
  error.reason = "InvalidConfig";
  error.origin = std::move(origin);
  error.message = std::move(message);
  return error;
}

Error decodeError(std::string origin, std::string message) {
  Error error;
  error.kind = ErrorKind::Decode;
  error.reason = "Undecodable";
  error.origin = std::move(origin);
  error.message = std::move(message);
  return error;
}

Error canceledError(std::string origin, std::string message) {
  Error error;
  error.kind = ErrorKind::Canceled;
  error.reason = "Canceled";
  error.origin = std::move(origin);
  error.message = std::move(message);
  return error;
}

Error decodeApiError(int httpStatus, std::string_view body, std::string origin) {
  Error error;
  error.kind = ErrorKind::Api;
  error.httpStatus = httpStatus;
  error.origin = std::move(origin);

  const Result<Json> parsed = parseJson(body, error.origin);
  if (!parsed || !parsed->IsObject() || stringMember(*parsed, "kind") != "Status") {
    error.reason = reasonForStatus(httpStatus);
    constexpr std::size_t kMaxBodyInMessage = 200;
    error.message = body.empty() ? "the server sent no details"
                                 : std::string(body.substr(0, kMaxBodyInMessage));
    return error;
  }
  const Json& status = *parsed;
  error.reason = bounded(stringMember(status, "reason"), kMaxMessageBytes);
  if (error.reason.empty()) error.reason = reasonForStatus(httpStatus);
  error.message = bounded(stringMember(status, "message"), kMaxMessageBytes);
  if (auto code = intMember(status, "code"); code && *code > 0 && httpStatus == 0) {
    error.httpStatus = static_cast<int>(std::min<std::int64_t>(*code, 999));
  }
  if (const JsonValue* details = member(status, "details"); details != nullptr) {
    if (auto retry = intMember(*details, "retryAfterSeconds"); retry) {
      error.retryAfter = boundedRetryAfter(*retry);
    }
    if (const JsonValue* causes = member(*details, "causes"); causes && causes->IsArray()) {
      for (const JsonValue& cause : causes->GetArray()) {
        if (error.causes.size() == kMaxCauses) break;
        error.causes.push_back({bounded(stringMember(cause, "reason"), kMaxMessageBytes),
                                bounded(stringMember(cause, "message"), kMaxMessageBytes),
                                bounded(stringMember(cause, "field"), kMaxMessageBytes)});
      }
    }
  }
  return error;
}

}  // namespace bisync::kube
