// SPDX-License-Identifier: MIT
// tunlat monitor's metrics as Prometheus reads them: the text exposition of a snapshot.
#include <gtest/gtest.h>

#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>

#include "core/monitor/metrics.h"

using namespace tunlat;

namespace {

std::string scrape(const MonitorSnapshot& s, SeriesBirths& births) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, monitor_metrics(s, births));
  return out.str();
}

// The second scrape of s: its late series were born (at zero) at the first.
std::string text_of(const MonitorSnapshot& s) {
  SeriesBirths births;
  scrape(s, births);
  return scrape(s, births);
}

MonitorSnapshot one_device() {
  MonitorSnapshot s;
  s.version = "9.9";
  MonitoredDevice d;
  d.device = "tap0";
  d.netns = "vpn";
  d.stats.hist[TL_MS_RING][tl_mon_bucket(1000)] = 3;       // 1 us
  d.stats.hist[TL_MS_RING][tl_mon_bucket(2'000'000)] = 1;  // 2 ms
  d.stats.span_ns[TL_MS_RING] = 3 * 1000 + 2'000'000;
  d.stats.points[TL_MP_XMIT] = 4;
  d.stats.bytes[1] = 1500;
  d.stages[TL_MQ_RING] = {7, 2, 1.25};
  d.owners.push_back({42, "openvpn", 3.5});
  s.devices.push_back(d);
  return s;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST(MonitorMetrics, HistogramIsCumulativeInSecondsWithCountAndSum) {
  const std::string t = text_of(one_device());
  const std::string ring =
      R"(tunlat_span_seconds_bucket{device="tap0",netns="vpn",direction="tx",span="ring",le=)";
  // 1 us lies under 2^10 ns = 1.024 us; 2 ms under 2^21 ns.
  EXPECT_TRUE(has(t, ring + R"("1.024e-06"} 3)")) << t.substr(0, 2000);
  EXPECT_TRUE(has(t, ring + R"("0.002097152"} 4)"));
  EXPECT_TRUE(has(t, ring + R"("+Inf"} 4)"));
  EXPECT_TRUE(has(t, R"(tunlat_span_seconds_count{device="tap0",netns="vpn",direction="tx",span="ring"} 4)"));
  EXPECT_TRUE(
      has(t, R"(tunlat_span_seconds_sum{device="tap0",netns="vpn",direction="tx",span="ring"} 0.002003)"));
}

TEST(MonitorMetrics, CountersGaugesAndInfoCarryTheirLabels) {
  const std::string t = text_of(one_device());
  EXPECT_TRUE(has(t, R"(tunlat_packets_total{device="tap0",netns="vpn",direction="tx",point="xmit"} 4)"));
  EXPECT_TRUE(has(t, R"(tunlat_bytes_total{device="tap0",netns="vpn",direction="rx"} 1500)"));
  EXPECT_TRUE(has(t, R"(tunlat_queued_packets{device="tap0",netns="vpn",direction="tx",stage="ring"} 7)"));
  EXPECT_TRUE(has(t, R"(tunlat_stalls_total{device="tap0",netns="vpn",direction="tx",stage="ring"} 2)"));
  EXPECT_TRUE(
      has(t, R"(tunlat_stall_seconds_total{device="tap0",netns="vpn",direction="tx",stage="ring"} 1.25)"));
  EXPECT_TRUE(
      has(t, R"(tunlat_owner_cpu_seconds_total{device="tap0",netns="vpn",pid="42",comm="openvpn"} 3.5)"));
  EXPECT_TRUE(has(t, "tunlat_devices 1"));
  EXPECT_TRUE(has(t, R"(tunlat_build_info{version="9.9"} 1)"));
  EXPECT_TRUE(has(t, "tunlat_sample_packets 1"));
  EXPECT_TRUE(has(t, "# TYPE tunlat_span_seconds histogram"));
  EXPECT_TRUE(has(t, "# TYPE tunlat_packets_total counter"));
}

TEST(MonitorMetrics, SamplingIsExported) {
  MonitorSnapshot s = one_device();
  s.sample = 8;
  EXPECT_TRUE(has(text_of(s), "tunlat_sample_packets 8"));
}

TEST(MonitorMetrics, DropLocationsBeyondTheMostFrequentAreOther) {
  MonitorSnapshot s = one_device();
  for (size_t i = 0; i < kMaxDropLocations + 5; i++)
    s.drops.push_back({0, 1, "device", "NO_SOCKET", "fn" + std::to_string(i), 100 - i});
  const std::string t = text_of(s);
  const std::string row =
      R"(tunlat_drops_total{device="tap0",netns="vpn",direction="rx",reason="NO_SOCKET",location=)";
  EXPECT_TRUE(has(t, row + R"("fn0",scope="device"} 100)"));
  EXPECT_TRUE(has(t, row + R"("fn19",scope="device"} 81)"));
  EXPECT_EQ(t.find(R"(location="fn20")"), std::string::npos);
  // fn20..fn24: 80 + 79 + 78 + 77 + 76
  EXPECT_TRUE(has(t, row + R"("other",scope="device"} 390)"));
}

// The VPN's socket dropping what the peer sent (a full receive buffer) is the tunnel's
// loss too: its own series, scope underlay, beside the device's own drops.
TEST(MonitorMetrics, DropsOnTheVpnsSocketsAreOfScopeUnderlay) {
  MonitorSnapshot s = one_device();
  s.drops.push_back({0, 1, "device", "NO_SOCKET", "ping_rcv", 5});
  s.drops.push_back({0, 1, "underlay", "SOCKET_RCVBUFF", "udp_queue_rcv_one_skb", 700});
  SeriesBirths births;
  scrape(s, births);
  const std::string t = scrape(s, births);
  EXPECT_TRUE(has(t, R"(tunlat_drops_total{device="tap0",netns="vpn",direction="rx",reason="SOCKET_RCVBUFF",)"
                     R"(location="udp_queue_rcv_one_skb",scope="underlay"} 700)"))
      << t;
  EXPECT_TRUE(has(t, R"(location="ping_rcv",scope="device"} 5)")) << t;
}

TEST(MonitorMetrics, ASpanWithoutPacketsHasNoHistogramYet) {
  const std::string t = text_of(one_device());
  EXPECT_EQ(t.find(R"(span="qdisc")"), std::string::npos) << "no packet passed the qdisc: no 116 lines";
  EXPECT_NE(t.find(R"(span="ring")"), std::string::npos);
}

TEST(MonitorMetrics, LateSeriesAreBornAtZeroSoThatRateCountsTheirFirstPackets) {
  MonitorSnapshot s = one_device();
  s.drops.push_back({0, 1, "device", "NO_SOCKET", "ping_rcv", 5});
  SeriesBirths births;
  const std::string ring_count =
      R"(tunlat_span_seconds_count{device="tap0",netns="vpn",direction="tx",span="ring"} )";
  const std::string drop =
      R"(tunlat_drops_total{device="tap0",netns="vpn",direction="rx",reason="NO_SOCKET",location="ping_rcv",scope="device"} )";
  std::string first = scrape(s, births);
  EXPECT_TRUE(has(first, ring_count + "0"));
  EXPECT_TRUE(has(first, drop + "0"));
  EXPECT_TRUE(has(first, R"(tunlat_packets_total{device="tap0",netns="vpn",direction="tx",point="xmit"} 4)"))
      << "a device's counters are there from its start: no need to be born";
  std::string second = scrape(s, births);
  EXPECT_TRUE(has(second, ring_count + "4"));
  EXPECT_TRUE(has(second, drop + "5"));
  // The device gone for a scrape, then back (a VPN restarted): born again.
  MonitorSnapshot none;
  scrape(none, births);
  EXPECT_TRUE(has(scrape(s, births), ring_count + "0"));
}
