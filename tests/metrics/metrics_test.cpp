// metrics_test.cpp -- the metric families built from a snapshot (src/metrics/prometheus.cpp),
// checked in Prometheus's text format as a scrape would see them.
#include "metrics/prometheus.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <string>

namespace tg::metrics {
namespace {

std::string scrape(const StatsSnapshot& s) {
  return prometheus::TextSerializer().Serialize(metric_families(s));
}

StatsSnapshot sample() {
  StatsSnapshot s;
  s.workers.resize(2);
  s.workers[1].open = 3;
  s.workers[0].closed[static_cast<size_t>(CloseReason::kSlow)] = 2;
  s.workers[1].closed[static_cast<size_t>(CloseReason::kSlow)] = 1;
  s.workers[0].handshake_failed[ws::handshake_status_slot(426)] = 4;
  s.workers[0].handshake_failed[ws::handshake_status_slot(418)] = 1;
  s.workers[0].refused[slot(RefuseReason::kMaxConnectionsPerIp)] = 2;
  s.workers[1].refused[slot(RefuseReason::kMaxConnectionsPerIp)] = 5;
  s.workers[1].rooms_refused[slot(RoomRefuseReason::kMaxRooms)] = 4;
  s.connection_limit = 1000;
  s.workers[0].buffer_bytes = 4096;
  s.malloc_trims = 3;
  s.malloc_trim_ns = 1500000;
  s.window_ms = 5;
  s.rooms = 6;
  s.history_bytes = 5000;
  s.history_budget = 1 << 20;
  s.history_evicted_batches = 9;
  s.history_evicted_bytes = 4096;
  s.rooms_expired = 2;
  s.rooms_by_bytes = {1, 2, 3, 4, 5, 6, 6, 6, 6, 6};
  Histogram h({1000000, 2000000});  // 1 ms, 2 ms in ns
  h.observe(500000);
  h.observe(1500000);
  h.observe(9000000);
  s.latency_ns = h.snapshot();
  return s;
}

TEST(MetricFamilies, PerWorkerValuesCarryAWorkerLabel) {
  std::string text = scrape(sample());
  EXPECT_NE(text.find("tidegate_connections_open{worker=\"0\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tidegate_connections_open{worker=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_loop_busy_ratio{worker=\"1\"}"), std::string::npos);
}

TEST(MetricFamilies, ReasonsAndStatusesAreSummedOverWorkersAndAllPresent) {
  std::string text = scrape(sample());
  EXPECT_NE(text.find("tidegate_connections_closed_total{reason=\"slow\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("tidegate_connections_closed_total{reason=\"rate_limit\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_messages_rejected_total{reason=\"too_big\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_handshake_failures_total{status=\"426\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_handshake_failures_total{status=\"other\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_connections_refused_total{reason=\"max_connections_per_ip\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_connections_refused_total{reason=\"max_connections\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_connection_limit 1000\n"), std::string::npos);
}

TEST(MetricFamilies, TheApiFamiliesOnlyWithTheApi) {
  StatsSnapshot s = sample();
  EXPECT_EQ(scrape(s).find("tidegate_api_"), std::string::npos);
  s.api = true;
  s.api_requests[slot(ApiRoute::kPublish)][api_status_slot(200)] = 7;
  s.api_requests[slot(ApiRoute::kOther)][api_status_slot(401)] = 2;
  s.api_requests[slot(ApiRoute::kHistory)][api_status_slot(299)] = 1;  // not in the table: 500
  s.api_published = 9;
  s.api_connections = 3;
  std::string text = scrape(s);
  EXPECT_NE(text.find("tidegate_api_requests_total{route=\"publish\",status=\"200\"} 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tidegate_api_requests_total{route=\"other\",status=\"401\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_api_requests_total{route=\"history\",status=\"500\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_api_requests_total{route=\"rooms\",status=\"503\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_api_published_messages_total 9\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_api_connections 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_api_request_duration_seconds_count"), std::string::npos);
}

TEST(MetricFamilies, MemoryFamilies) {
  std::string text = scrape(sample());
  EXPECT_NE(text.find("tidegate_connection_buffer_bytes{worker=\"0\"} 4096\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE tidegate_malloc_trims_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_malloc_trims_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_malloc_trim_seconds_total 0.0015\n"), std::string::npos);
}

TEST(MetricFamilies, HistogramsAreCumulativeInSecondsWithAnInfBucket) {
  std::string text = scrape(sample());
  EXPECT_NE(text.find("tidegate_delivery_latency_seconds_bucket{le=\"0.001\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tidegate_delivery_latency_seconds_bucket{le=\"0.002\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_delivery_latency_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("tidegate_delivery_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_delivery_latency_seconds_sum 0.011\n"), std::string::npos);
  EXPECT_NE(text.find("tidegate_window_seconds 0.005\n"), std::string::npos);
}

TEST(MetricFamilies, CountersEndInTotalAndNoLabelIsPerClientOrRoom) {
  for (const auto& f : metric_families(sample())) {
    if (f.type == prometheus::MetricType::Counter) {
      EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
    }
    EXPECT_EQ(f.name.rfind("tidegate_", 0), 0u) << f.name;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        // `le` only on the one gauge histogram, whose buckets are byte sizes, not rooms.
        bool bucket = l.name == "le" && f.name == "tidegate_rooms_by_history_bytes";
        EXPECT_TRUE(l.name == "worker" || l.name == "reason" || l.name == "status" ||
                    l.name == "result" || bucket)
            << f.name << " " << l.name;
      }
    }
  }
}

TEST(MetricFamilies, HistoryAndRoomsAreExportedUnderTheirNames) {
  std::string text = scrape(sample());
  for (const char* line :
       {"tidegate_history_bytes 5000\n", "tidegate_history_budget_bytes 1048576\n",
        "tidegate_history_evicted_batches_total 9\n", "tidegate_history_evicted_bytes_total 4096\n",
        "tidegate_rooms_expired_total 2\n", "tidegate_rooms 6\n",
        "tidegate_rooms_refused_total{reason=\"max_rooms\"} 4\n",
        "tidegate_rooms_refused_total{reason=\"max_rooms_per_client\"} 0\n",
        "tidegate_rooms_by_history_bytes{le=\"1024\"} 1\n",
        "tidegate_rooms_by_history_bytes{le=\"67108864\"} 6\n",
        "tidegate_rooms_by_history_bytes{le=\"+Inf\"} 6\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  // Untyped: promtool refuses `le` on anything typed but a histogram.
  EXPECT_NE(text.find("# TYPE tidegate_rooms_by_history_bytes untyped"), std::string::npos);
}

TEST(MetricFamilies, TlsHandshakesAndCertificateExpiry) {
  StatsSnapshot s = sample();
  std::string text = scrape(s);
  // Without TLS there is no certificate, and no expiry to alert on.
  EXPECT_EQ(text.find("tidegate_tls_certificate_expiry_timestamp_seconds"), std::string::npos);
  s.workers[0].tls_handshakes[slot(TlsHandshakeResult::kOk)] = 7;
  s.workers[1].tls_handshakes[slot(TlsHandshakeResult::kOk)] = 3;
  s.workers[1].tls_handshakes[slot(TlsHandshakeResult::kPlaintextHttp)] = 2;
  s.workers[0].tls_handshakes[slot(TlsHandshakeResult::kTimeout)] = 1;
  s.tls_cert_not_after = 1893456000;
  text = scrape(s);
  for (const char* line : {"tidegate_tls_handshakes_total{result=\"ok\"} 10\n",
                           "tidegate_tls_handshakes_total{result=\"failed\"} 0\n",
                           "tidegate_tls_handshakes_total{result=\"timeout\"} 1\n",
                           "tidegate_tls_handshakes_total{result=\"plaintext_http\"} 2\n",
                           "tidegate_tls_certificate_expiry_timestamp_seconds 1893456000\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
}

}  // namespace
}  // namespace tg::metrics
