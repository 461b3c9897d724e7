// SPDX-License-Identifier: MIT
// The tunlat/v1 summary and the text report rendered from it.
#include "core/report/summary.h"
#include "summarized.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/report/text_report.h"
#include "events.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

TraceInfo sample_info() {
  TraceInfo info = sample_trace_info();
  info.start_ns = 0;
  info.end_ns = 2'000'000'000;
  info.clock_offset_ns = 1'795'000'000'000'000'000;  // 2026-11-18T…
  return info;
}

// 100 packets sent back to back, read by a reader that drains only every 10 ms.
void slow_reader(V1Pipeline& p) {
  for (int i = 0; i < 100; i++) {
    uint64_t q = 1000 + i * 10;         // sender: 10 µs apart
    uint64_t read = 1000 + i * 10'000;  // reader: 10 ms apart
    for (const Event& e : tx_packet(q, 0x100 + i, i + 1, 2, read - q - 2)) p.push(e);
  }
  Ev drop{2'000'000, 0x9999, 500, TL_QUEUE};
  p.push(drop);
  Ev dropped{2'000'001, 0x9999, 500, TL_FREE, Dir::Tx, 0, 4252, "openvpn", TL_F_DROP, 5};
  Event d = dropped;
  d.aux = 0xffffffff81000010ull;
  p.push(d);
  p.flush();
}

Json slow_reader_summary() {
  V1Pipeline p;
  slow_reader(p);
  return summarized(sample_info(), p);
}

}  // namespace

TEST(Summary, FollowsTheV1Schema) {
  Json doc = slow_reader_summary();
  EXPECT_EQ(doc["schema"], "tunlat/v1");
  EXPECT_EQ(doc["device"]["name"], "tap0");
  EXPECT_EQ(doc["device"]["netns_inode"], 4026532300u);
  EXPECT_EQ(doc["owners"][0]["comm"], "openvpn");
  EXPECT_EQ(doc["duration_s"], 2.0);
  EXPECT_EQ(doc["started_at"].get<std::string>().size(), 24u);
  const Json& tx = doc["directions"]["tx"];
  EXPECT_EQ(tx["packets"], 101u);
  for (auto span : {"qdisc", "ring", "copy", "total"})
    for (auto field : {"count", "p50_us", "p90_us", "p99_us", "max_us", "mean_us"})
      EXPECT_TRUE(tx["spans"][span].contains(field)) << span << "." << field;
  for (auto point : {"queue", "enqueue", "dequeue", "xmit", "read", "free"})
    EXPECT_TRUE(tx["points"][point].contains("gap_p50_us")) << point;
  EXPECT_TRUE(doc["stalls"].is_array());
  EXPECT_TRUE(doc["tcp"]["flows"].is_array());
}

TEST(Summary, SlowReaderMakesTheRingDominantAndPacingOriginRing) {
  Json doc = slow_reader_summary();
  const Json& tx = doc["directions"]["tx"];
  EXPECT_EQ(tx["dominant_span"], "ring");
  EXPECT_EQ(tx["pacing_origin"], "ring");
  EXPECT_NEAR(tx["points"]["read"]["gap_p50_us"].get<double>(), 10'000.0, 500.0);
  EXPECT_EQ(tx["processes"][0]["pid"], 4252u);
  EXPECT_EQ(tx["processes"][0]["role"], "reader");
  ASSERT_EQ(doc["drops"].size(), 1u);
  EXPECT_EQ(doc["drops"][0]["reason"], "FULL_RING");
  EXPECT_EQ(doc["drops"][0]["location"], "tun_net_xmit");
  EXPECT_EQ(doc["drops"][0]["count"], 1u);
  ASSERT_FALSE(doc["verdicts"].empty());
  EXPECT_NE(doc["verdicts"][0].get<std::string>().find("tun ring"), std::string::npos);
}

// A drop of 1 in 101 packets is said (info), not raised; unless the tun ring was full.
TEST(Summary, AFewDropsAreSaidNotRaised) {
  auto severity_of_drop = [](int32_t reason) {
    V1Pipeline p;
    for (int i = 0; i < 100; i++)
      for (const Event& e : tx_packet(1000 + i * 100, 0x100 + i, i + 1, 2, 20)) p.push(e);
    p.push(Ev{20'000, 0x9999, 500, TL_QUEUE});
    Event d = Ev{20'001, 0x9999, 500, TL_FREE, Dir::Tx, 0, 4252, "openvpn", TL_F_DROP, reason};
    d.aux = 0xffffffff81000010ull;
    p.push(d);
    p.flush();
    const Json doc = summarized(sample_info(), p);
    for (auto& f : doc["findings"])
      if (f["kind"] == "drops") return f["severity"].get<std::string>();
    return std::string("none");
  };
  EXPECT_EQ(severity_of_drop(2), "info") << "NOT_SPECIFIED, 1 of 101";
  EXPECT_EQ(severity_of_drop(5), "warning") << "FULL_RING, 1 of 101: still raised";
}

TEST(Summary, SenderPacedTrafficIsUpstream) {
  // ping -f style: 10 ms gaps already at queue, the reader keeps up (seed 000).
  V1Pipeline p;
  for (int i = 0; i < 50; i++)
    for (const Event& e : tx_packet(1 + 10'000 * i, 0x100 + i, i + 1, 1, 30)) p.push(e);
  p.flush();
  Json doc = summarized(sample_info(), p);
  EXPECT_EQ(doc["directions"]["tx"]["pacing_origin"], "upstream");
  EXPECT_TRUE(doc["directions"]["rx"]["pacing_origin"].is_null());  // no RX traffic
}

TEST(Summary, IdenticalInputsGiveIdenticalDocuments) {
  EXPECT_EQ(slow_reader_summary().dump(), slow_reader_summary().dump());
}

TEST(TextReport, ShowsSpansHistogramPacingProcessesAndDrops) {
  Json doc = slow_reader_summary();
  std::ostringstream out;
  render_report(out, doc);
  std::string s = out.str();
  for (auto want : {"TX (host -> tap0 -> reader): 101 packets", "ring", "where the time goes: ring",
                    "reader openvpn (pid 4252): 100 packets", "FULL_RING", "tun_net_xmit",
                    "pacing origin: ring", "findings:"})
    EXPECT_NE(s.find(want), std::string::npos) << "missing: " << want << "\n" << s;
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
}

TEST(TextReport, LiveIntervalIsTheDifferenceOfTwoSnapshots) {
  V1Pipeline p;
  for (const Event& e : tx_packet(10, 0xa0, 1, 1, 100)) p.push(e);
  p.flush();
  DirStats before = p.analysis().total(Dir::Tx);
  for (int i = 0; i < 4; i++)
    for (const Event& e : tx_packet(1000 + i * 10, 0xb0 + i, 2 + i, 1, 5000)) p.push(e);
  p.flush();
  DirStats d = since(p.analysis().total(Dir::Tx), before);
  EXPECT_EQ(d.packets, 4u);
  EXPECT_EQ(d.spans[1].count(), 4u);  // ring
  // Only the interval's packets: 5 ms in the ring, not the earlier 100 us.
  EXPECT_NEAR(static_cast<double>(d.spans[1].quantile(0.5)), 5e6, 5e6 * 0.02);
  EXPECT_GE(d.spans[1].min(), 4'900'000u);
}

TEST(TextReport, LiveBlockFitsIn100Columns) {
  V1Pipeline p;
  slow_reader(p);
  std::ostringstream out;
  std::array<DirStats, 2> delta{p.analysis().total(Dir::Tx), p.analysis().total(Dir::Rx)};
  render_live(out, delta, 3.0, 1.0, 0, DeviceKind::Tap);
  std::string s = out.str();
  EXPECT_NE(s.find("ring"), std::string::npos);
  EXPECT_NE(s.find(" 101.0 pps"), std::string::npos) << s;
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
}
