#include "tests/support/http_probe.hpp"

#include <curl/curl.h>

#include <array>
#include <memory>

namespace bisync::testing {
namespace {

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

}  // namespace

ProbeResult httpGet(const ProbeRequest& request) {
  ProbeResult result;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = "curl_easy_init failed";
    return result;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  if (!request.bearerToken.empty()) {
    const std::string header = "Authorization: Bearer " + request.bearerToken;
    headers.reset(curl_slist_append(nullptr, header.c_str()));
  }
  std::array<char, CURL_ERROR_SIZE> errorText{};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errorText.data());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.body);
  if (!request.caFile.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, request.caFile.c_str());
  }
  if (headers) {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  }
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    result.error = errorText[0] != '\0' ? errorText.data() : curl_easy_strerror(code);
    return result;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

}  // namespace bisync::testing
