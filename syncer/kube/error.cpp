#include "syncer/kube/error.hpp"

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

}  // namespace

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

  Json status;
  status.Parse(body.data(), body.size());
  if (status.HasParseError() || !status.IsObject() || stringMember(status, "kind") != "Status") {
    error.reason = reasonForStatus(httpStatus);
    constexpr std::size_t kMaxBodyInMessage = 200;
    error.message = body.empty() ? "the server sent no details"
                                 : std::string(body.substr(0, kMaxBodyInMessage));
    return error;
  }
  error.reason = std::string(stringMember(status, "reason"));
  if (error.reason.empty()) error.reason = reasonForStatus(httpStatus);
  error.message = std::string(stringMember(status, "message"));
  if (auto code = intMember(status, "code"); code && *code > 0 && httpStatus == 0) {
    error.httpStatus = static_cast<int>(*code);
  }
  if (const JsonValue* details = member(status, "details"); details != nullptr) {
    if (auto retry = intMember(*details, "retryAfterSeconds"); retry && *retry > 0) {
      error.retryAfter = std::chrono::seconds(*retry);
    }
    if (const JsonValue* causes = member(*details, "causes"); causes && causes->IsArray()) {
      for (const JsonValue& cause : causes->GetArray()) {
        error.causes.push_back({std::string(stringMember(cause, "reason")),
                                std::string(stringMember(cause, "message")),
                                std::string(stringMember(cause, "field"))});
      }
    }
  }
  return error;
}

}  // namespace bisync::kube
