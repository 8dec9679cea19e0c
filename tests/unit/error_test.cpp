#include "syncer/kube/error.hpp"

#include "tests/support/catch.hpp"

using namespace bisync::kube;

// A verbatim answer of the testbed's kube-apiserver 1.20 to a restricted user.
static const char* const kForbiddenBody = R"({
  "kind": "Status",
  "apiVersion": "v1",
  "metadata": {
    
  },
  "status": "Failure",
  "message": "configmaps is forbidden: User \"viewer\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"",
  "reason": "Forbidden",
  "details": {
    "kind": "configmaps"
  },
  "code": 403
})";

TEST_CASE("a real 403 Status decodes to a typed Forbidden error", "[error]") {
  Error error = decodeApiError(403, kForbiddenBody, "https://127.0.0.1:6443");
  CHECK(error.kind == ErrorKind::Api);
  CHECK(error.isForbidden());
  CHECK_FALSE(error.isRetryable());
  CHECK(error.httpStatus == 403);
  CHECK(error.reason == "Forbidden");
  CHECK(error.message ==
        "configmaps is forbidden: User \"viewer\" cannot list resource \"configmaps\" in API "
        "group \"\" in the namespace \"default\"");
  CHECK(error.origin == "https://127.0.0.1:6443");
  CHECK(error.describe() ==
        "https://127.0.0.1:6443: 403 Forbidden: configmaps is forbidden: User \"viewer\" cannot "
        "list resource \"configmaps\" in API group \"\" in the namespace \"default\"");
}

TEST_CASE("a Status with causes and retryAfterSeconds keeps both", "[error]") {
  const char* body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Apply failed with 1 conflict: conflict with \"other\": .data.a","reason":"Conflict","details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"other\"","field":".data.a"}],"retryAfterSeconds":3},"code":409})";
  Error error = decodeApiError(409, body, "https://server");
  CHECK(error.isConflict());
  CHECK_FALSE(error.isAlreadyExists());
  REQUIRE(error.causes.size() == 1);
  CHECK(error.causes[0].type == "FieldManagerConflict");
  CHECK(error.causes[0].field == ".data.a");
  CHECK(error.causes[0].message == "conflict with \"other\"");
  CHECK(error.retryAfter == std::chrono::seconds(3));
  CHECK(error.describe().find(".data.a: conflict with \"other\"") != std::string::npos);
}

TEST_CASE("a non-Status error body still yields a typed error with the HTTP status", "[error]") {
  Error html = decodeApiError(503, "<html>Service Unavailable</html>", "https://server");
  CHECK(html.kind == ErrorKind::Api);
  CHECK(html.httpStatus == 503);
  CHECK(html.reason == "ServiceUnavailable");
  CHECK(html.isRetryable());
  CHECK(html.message == "<html>Service Unavailable</html>");

  Error empty = decodeApiError(404, "", "https://server");
  CHECK(empty.isNotFound());
  CHECK(empty.message == "the server sent no details");
}

TEST_CASE("AlreadyExists is not reported as a Conflict", "[error]") {
  const char* body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" already exists","reason":"AlreadyExists","details":{"name":"x","kind":"configmaps"},"code":409})";
  Error error = decodeApiError(409, body, "s");
  CHECK(error.isAlreadyExists());
  CHECK_FALSE(error.isConflict());
}

TEST_CASE("transport and timeout errors are retryable, config and TLS errors are not", "[error]") {
  Error transport;
  transport.kind = ErrorKind::Transport;
  CHECK(transport.isRetryable());
  Error timeout;
  timeout.kind = ErrorKind::Timeout;
  CHECK(timeout.isRetryable());
  CHECK_FALSE(configError("/etc/kc", "bad").isRetryable());
  Error tls;
  tls.kind = ErrorKind::Tls;
  CHECK_FALSE(tls.isRetryable());
  CHECK(configError("/etc/kc: users[a].user.token", "not a string").describe() ==
        "/etc/kc: users[a].user.token: not a string");
}

TEST_CASE("a Retry-After header is capped at 30 s and anything but delay-seconds is no hint",
          "[error][limits]") {
  using std::chrono::seconds;
  CHECK(parseRetryAfterHeader("1") == seconds(1));
  CHECK(parseRetryAfterHeader("30") == seconds(30));
  CHECK(parseRetryAfterHeader("31") == kMaxRetryAfter);
  CHECK(parseRetryAfterHeader("3600") == kMaxRetryAfter);
  CHECK(parseRetryAfterHeader("99999999999999999999999999") == kMaxRetryAfter);
  CHECK(parseRetryAfterHeader("0") == seconds(0));
  CHECK(parseRetryAfterHeader("-5") == seconds(0));
  CHECK(parseRetryAfterHeader("+5") == seconds(0));
  CHECK(parseRetryAfterHeader("1.5") == seconds(0));
  CHECK(parseRetryAfterHeader("Wed, 21 Oct 2015 07:28:00 GMT") == seconds(0));
  CHECK(parseRetryAfterHeader("") == seconds(0));
  CHECK(kMaxRetryAfter == seconds(30));
}

TEST_CASE("a Status's retryAfterSeconds is capped at 30 s and a negative one is ignored",
          "[error][limits]") {
  const auto retryAfterOf = [](const std::string& value) {
    return decodeApiError(
               429,
               R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":)" +
                   value + "}}",
               "s")
        .retryAfter;
  };
  CHECK(retryAfterOf("2") == std::chrono::seconds(2));
  CHECK(retryAfterOf("30") == std::chrono::seconds(30));
  CHECK(retryAfterOf("31") == kMaxRetryAfter);
  CHECK(retryAfterOf("9223372036854775807") == kMaxRetryAfter);
  CHECK(retryAfterOf("-1") == std::chrono::seconds(0));
  CHECK(retryAfterOf("1e9") == std::chrono::seconds(0));
  CHECK(retryAfterOf("\"60\"") == std::chrono::seconds(0));
}

TEST_CASE("server text in an error is bounded: long messages are cut, causes are limited",
          "[error][limits]") {
  std::string causes;
  for (int i = 0; i < 1000; ++i) {
    causes += std::string(i == 0 ? "" : ",") + R"({"reason":"FieldValueInvalid","field":"f)" +
              std::to_string(i) + R"("})";
  }
  const std::string body = R"({"kind":"Status","reason":"Invalid","message":")" +
                           std::string(100'000, 'm') + R"(","details":{"causes":[)" + causes +
                           "]}}";
  const Error error = decodeApiError(422, body, "s");
  CHECK(error.message.size() < 4200);
  CHECK_THAT(error.message, Catch::EndsWith("... (100000 bytes in all)"));
  CHECK(error.causes.size() == 50);
  CHECK(error.isInvalid());
}

TEST_CASE("a hostile error body nested 200,000 deep is decoded as a non-Status answer",
          "[error][limits]") {
  const Error error = decodeApiError(500, std::string(200'000, '['), "s");
  CHECK(error.httpStatus == 500);
  CHECK(error.reason == "InternalError");
  CHECK(error.message.size() == 200);
}
