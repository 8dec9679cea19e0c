// The daemon's operational pieces that need no socket: the Prometheus text format, bind
// addresses as the flags take them, and HTTP request lines.
#include <optional>
#include <string>
#include <vector>

#include "syncer/ops/http_endpoint.hpp"
#include "syncer/ops/metrics.hpp"
#include "tests/support/catch.hpp"

namespace {

using bisync::ops::BindAddress;
using bisync::ops::histogram;
using bisync::ops::MetricFamily;
using bisync::ops::MetricType;
using bisync::ops::parseBindAddress;
using bisync::ops::parseRequestLine;
using bisync::ops::renderPrometheus;

}  // namespace

TEST_CASE("metrics render in the Prometheus text format, labels and help escaped", "[ops]") {
  const std::vector<MetricFamily> families = {
      {"kube_bisync_writes_total",
       "Writes, by side.\nSecond line \\ here.",
       MetricType::Counter,
       {{{{"side", "target"}, {"operation", "apply"}}, 12, ""}, {{{"side", "a\"b\\c\nd"}}, 3, ""}}},
      {"kube_bisync_ready", "Ready.", MetricType::Gauge, {{{}, 1, ""}}},
      {"ratio", "A fraction.", MetricType::Gauge, {{{}, 0.25, ""}, {{}, 12345678901, ""}}},
  };
  CHECK(renderPrometheus(families) ==
        "# HELP kube_bisync_writes_total Writes, by side.\\nSecond line \\\\ here.\n"
        "# TYPE kube_bisync_writes_total counter\n"
        "kube_bisync_writes_total{side=\"target\",operation=\"apply\"} 12\n"
        "kube_bisync_writes_total{side=\"a\\\"b\\\\c\\nd\"} 3\n"
        "# HELP kube_bisync_ready Ready.\n"
        "# TYPE kube_bisync_ready gauge\n"
        "kube_bisync_ready 1\n"
        "# HELP ratio A fraction.\n"
        "# TYPE ratio gauge\n"
        "ratio 0.25\n"
        "ratio 12345678901\n");
}

TEST_CASE("a histogram renders cumulative buckets up to +Inf, then its sum and count", "[ops]") {
  const MetricFamily family =
      histogram("kube_bisync_reconcile_seconds", "Reconciles.", {0.001, 0.01}, {2, 0, 3}, 0.5);
  CHECK(renderPrometheus({family}) ==
        "# HELP kube_bisync_reconcile_seconds Reconciles.\n"
        "# TYPE kube_bisync_reconcile_seconds histogram\n"
        "kube_bisync_reconcile_seconds_bucket{le=\"0.001\"} 2\n"
        "kube_bisync_reconcile_seconds_bucket{le=\"0.01\"} 2\n"
        "kube_bisync_reconcile_seconds_bucket{le=\"+Inf\"} 5\n"
        "kube_bisync_reconcile_seconds_sum 0.5\n"
        "kube_bisync_reconcile_seconds_count 5\n");
}

TEST_CASE("bind addresses are host:port, :port or [v6]:port, and 0 turns an endpoint off",
          "[ops]") {
  const auto parsed = [](const char* text) {
    auto address = parseBindAddress(text, "--metrics-bind-address");
    REQUIRE(address);
    return *address;
  };
  CHECK_FALSE(parsed("0").has_value());
  const std::optional<BindAddress> all = parsed(":8080");
  REQUIRE(all);
  CHECK(all->host == "0.0.0.0");
  CHECK(all->port == 8080);
  const std::optional<BindAddress> loopback = parsed("127.0.0.1:0");
  REQUIRE(loopback);
  CHECK(loopback->host == "127.0.0.1");
  CHECK(loopback->port == 0);
  const std::optional<BindAddress> v6 = parsed("[::1]:9090");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9090);

  for (const char* bad :
       {"", "8080", "localhost:8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x", ":-1"}) {
    INFO(bad);
    const auto refused = parseBindAddress(bad, "--metrics-bind-address");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().describe().find("--metrics-bind-address") != std::string::npos);
  }
}

TEST_CASE("a request line gives the method and the path without its query", "[ops]") {
  const auto line = parseRequestLine("GET /metrics?name=x HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(line);
  CHECK(line->method == "GET");
  CHECK(line->path == "/metrics");
  CHECK(parseRequestLine("HEAD /readyz HTTP/1.0\r\n\r\n")->path == "/readyz");
  for (const char* bad : {"", "GET\r\n", "GET /x\r\n", "GET x HTTP/1.1\r\n", "GET /x SPDY/3\r\n",
                          " /x HTTP/1.1\r\n"}) {
    INFO(bad);
    CHECK_FALSE(parseRequestLine(bad).has_value());
  }
}
