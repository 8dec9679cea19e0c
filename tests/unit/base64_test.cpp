#include "syncer/kube/base64.hpp"

#include <string>

#include "tests/support/catch.hpp"

using bisync::kube::decodeBase64;
using bisync::kube::encodeBase64;

TEST_CASE("base64 round-trips every length and byte value", "[base64]") {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    auto decoded = decodeBase64(encodeBase64(data));
    INFO("length " << data.size());
    REQUIRE(decoded);
    CHECK(*decoded == data);
    data.push_back(static_cast<char>(i % 256));
  }
  CHECK(encodeBase64("kube") == "a3ViZQ==");
  CHECK(encodeBase64("") == "");
}

TEST_CASE("base64 decoding ignores line breaks like Go's StdEncoding", "[base64]") {
  CHECK(decodeBase64("a3Vi\nZQ==\n") == std::optional<std::string>("kube"));
  CHECK(decodeBase64("  a3ViZS1i\r\naXN5bmM=") == std::optional<std::string>("kube-bisync"));
}

TEST_CASE("base64 decoding refuses what is not canonical base64", "[base64]") {
  CHECK_FALSE(decodeBase64("a3ViZQ"));        // missing padding
  CHECK_FALSE(decodeBase64("a3Vi*Q=="));      // not in the alphabet
  CHECK_FALSE(decodeBase64("a3=iZQ=="));      // padding inside
  CHECK_FALSE(decodeBase64("a3ViZ==="));      // three padding characters
  CHECK_FALSE(decodeBase64("a3ViZQ==a3Vi"));  // data after padding
}
