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

// Answers of the testbed's kube-apiserver 1.20 to updates of immutable fields, verbatim but for
// the Job's PodTemplateSpec dump, cut in the middle ("...").
static const char* const kImmutableConfigMapData =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set","reason":"Invalid","details":{"name":"c","kind":"ConfigMap","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: field is immutable when `immutable` is set","field":"data"}]},"code":422})";
static const char* const kImmutableConfigMapBoth =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"c\" is invalid: [immutable: Forbidden: field is immutable when `immutable` is set, data: Forbidden: field is immutable when `immutable` is set]","reason":"Invalid","details":{"name":"c","kind":"ConfigMap","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: field is immutable when `immutable` is set","field":"immutable"},{"reason":"FieldValueForbidden","message":"Forbidden: field is immutable when `immutable` is set","field":"data"}]},"code":422})";
static const char* const kSecretType =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Secret \"sec\" is invalid: type: Invalid value: \"example.com/x\": field is immutable","reason":"Invalid","details":{"name":"sec","kind":"Secret","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"example.com/x\": field is immutable","field":"type"}]},"code":422})";
static const char* const kServiceClusterIps =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Service \"s\" is invalid: spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.99\"}: may not change once set","reason":"Invalid","details":{"name":"s","kind":"Service","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: []string{\"10.0.0.99\"}: may not change once set","field":"spec.clusterIPs[0]"}]},"code":422})";
static const char* const kJobTemplate =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Job.batch \"j\" is invalid: spec.template: Invalid value: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:\"\", ...}, Spec:core.PodSpec{... TopologySpreadConstraints:[]core.TopologySpreadConstraint(nil)}}: field is immutable","reason":"Invalid","details":{"name":"j","group":"batch","kind":"Job","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:\"\", ...}, Spec:core.PodSpec{... TopologySpreadConstraints:[]core.TopologySpreadConstraint(nil)}}: field is immutable","field":"spec.template"}]},"code":422})";
static const char* const kStatefulSetSpec =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"StatefulSet.apps \"ss\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'template', and 'updateStrategy' are forbidden","reason":"Invalid","details":{"name":"ss","group":"apps","kind":"StatefulSet","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: updates to statefulset spec for fields other than 'replicas', 'template', and 'updateStrategy' are forbidden","field":"spec"}]},"code":422})";
static const char* const kClaimSpec =
    R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"PersistentVolumeClaim \"pvc\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests for bound claims\n  core.PersistentVolumeClaimSpec{\n- \tAccessModes: []core.PersistentVolumeAccessMode{\"ReadWriteMany\"},\n+ \tAccessModes: []core.PersistentVolumeAccessMode{\"ReadWriteOnce\"},\n  }\n","reason":"Invalid","details":{"name":"pvc","kind":"PersistentVolumeClaim","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: spec is immutable after creation except resources.requests for bound claims\n  core.PersistentVolumeClaimSpec{\n- \tAccessModes: []core.PersistentVolumeAccessMode{\"ReadWriteMany\"},\n+ \tAccessModes: []core.PersistentVolumeAccessMode{\"ReadWriteOnce\"},\n  }\n","field":"spec"}]},"code":422})";
// An immutable ConfigMap given a bad key as well: recreating it would be refused too.
static const char* const kImmutableAndInvalidKey =
    R"json({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"c\" is invalid: [data: Forbidden: field is immutable when `immutable` is set, data[bad key!]: Invalid value: \"bad key!\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')]","reason":"Invalid","details":{"name":"c","kind":"ConfigMap","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: field is immutable when `immutable` is set","field":"data"},{"reason":"FieldValueInvalid","message":"Invalid value: \"bad key!\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')","field":"data[bad key!]"}]},"code":422})json";
static const char* const kInvalidKey =
    R"json({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"c2\" is invalid: data[bad key!]: Invalid value: \"bad key!\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')","reason":"Invalid","details":{"name":"c2","kind":"ConfigMap","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"bad key!\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')","field":"data[bad key!]"}]},"code":422})json";

TEST_CASE("the API server's answers to changes of immutable fields are immutable-field errors",
          "[error]") {
  for (const char* body : {kImmutableConfigMapData, kImmutableConfigMapBoth, kSecretType,
                           kServiceClusterIps, kJobTemplate, kStatefulSetSpec, kClaimSpec}) {
    const Error error = decodeApiError(422, body, "https://127.0.0.1:6443");
    INFO(error.describe());
    CHECK(error.isInvalid());
    CHECK(isImmutableFieldError(error));
  }
  const Error data = decodeApiError(422, kImmutableConfigMapData, "s");
  CHECK(data.message ==
        "ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set");
}

TEST_CASE("an invalid object is not an immutable-field error, even beside an immutable field",
          "[error]") {
  // Deleting and creating it anew would not help: the new object would be refused as well.
  for (const char* body : {kInvalidKey, kImmutableAndInvalidKey}) {
    const Error error = decodeApiError(422, body, "s");
    INFO(error.describe());
    CHECK(error.isInvalid());
    CHECK_FALSE(isImmutableFieldError(error));
  }
}

TEST_CASE("only a 422 is an immutable-field error; without causes its message decides", "[error]") {
  Error error;
  error.kind = ErrorKind::Api;
  error.httpStatus = 422;
  error.reason = "Invalid";
  error.message =
      "Service \"s\" is invalid: spec.clusterIP: Invalid value: \"10.0.0.99\": field "
      "is immutable";
  CHECK(isImmutableFieldError(error));
  error.message =
      "Service \"s\" is invalid: spec.ports[0].port: Invalid value: 0: must be between "
      "1 and 65535, inclusive";
  CHECK_FALSE(isImmutableFieldError(error));

  // The same words in another answer are not a refusal of the update.
  Error other = decodeApiError(422, kImmutableConfigMapData, "s");
  for (int status : {400, 403, 409, 500}) {
    other.httpStatus = status;
    CHECK_FALSE(isImmutableFieldError(other));
  }
  Error transport = other;
  transport.kind = ErrorKind::Transport;
  transport.httpStatus = 422;
  CHECK_FALSE(isImmutableFieldError(transport));
}
