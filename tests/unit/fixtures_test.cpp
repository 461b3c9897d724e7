// SPDX-License-Identifier: MIT
// Analysis numbers pinned on recordings made in the labs (tools/make-fixtures.sh).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/summary.h"
#include "summarized.h"

using namespace tunlat;

namespace {

Json analyse(const std::string& name) {
  Pipeline p;
  ReadResult r =
      read_recording_file(std::string(TUNLAT_FIXTURES_DIR) + "/" + name, [&](const Event& e) { p.push(e); });
  EXPECT_FALSE(r.truncated) << r.warning;
  p.flush();
  return summarized(r.info, p);
}

}  // namespace

TEST(Fixtures, Seed000PingFloodIsPacedBySender) {
  // ping -f at a peer that never answers: ping waits 10+ ms per packet by itself.
  Json doc = analyse("seed000-ping-f.tlrec");
  const Json& tx = doc["directions"]["tx"];
  EXPECT_EQ(doc["device"]["kind"], "tap");
  EXPECT_EQ(tx["packets"], 150);
  EXPECT_EQ(tx["points"]["queue"]["count"], 150);
  EXPECT_EQ(tx["points"]["read"]["count"], 150);
  EXPECT_EQ(doc["directions"]["rx"]["packets"], 0);
  EXPECT_EQ(tx["pacing_origin"], "upstream");
  EXPECT_GT(tx["points"]["queue"]["gap_p50_us"].get<double>(), 10'000);  // the 12 ms of seed 000
  EXPECT_LT(tx["spans"]["ring"]["p50_us"].get<double>(), 1'000);         // the reader keeps up
  EXPECT_EQ(tx["processes"][0]["comm"], "tapreader");
}

TEST(Fixtures, StalledReaderShowsTheRingAndWhoDrainsIt) {
  Json doc = analyse("stalled-reader.tlrec");
  const Json& tx = doc["directions"]["tx"];
  EXPECT_EQ(tx["dominant_span"], "ring");
  EXPECT_EQ(tx["pacing_origin"], "ring");
  EXPECT_EQ(tx["spans"]["ring"]["count"], 29);
  EXPECT_GT(tx["spans"]["ring"]["p50_us"].get<double>(), 1e6);  // seconds in the ring
  // The reader drains one packet per 200 ms: that is the pacing at `read`.
  EXPECT_NEAR(tx["points"]["read"]["gap_p50_us"].get<double>(), 200'000, 10'000);
  EXPECT_LT(tx["points"]["queue"]["gap_p50_us"].get<double>(), 50'000);
  EXPECT_EQ(tx["anomalies"]["unfinished"], 140);  // still waiting when the trace ended
  EXPECT_NE(doc["verdicts"][0].get<std::string>().find("tun ring"), std::string::npos);
}

TEST(Fixtures, OpenvpnTransferJoinsEveryGsoSegmentToItsParent) {
  Json doc = analyse("openvpn-tap-iperf3.tlrec");
  const Json& tx = doc["directions"]["tx"];
  EXPECT_EQ(tx["packets"], 3998);
  EXPECT_EQ(tx["anomalies"]["segments"], 3938);
  EXPECT_EQ(tx["anomalies"]["gso_parents"], 145);
  EXPECT_EQ(doc["correlation"]["orphan_segments"], 0);
  // Every packet has its queue time, segments included: the qdisc span is complete.
  EXPECT_EQ(tx["spans"]["qdisc"]["count"], 3998);
  EXPECT_EQ(tx["spans"]["ring"]["count"], 3998);
  EXPECT_EQ(tx["processes"][0]["comm"], "openvpn");
  EXPECT_EQ(doc["directions"]["rx"]["processes"][0]["comm"], "openvpn");
  EXPECT_EQ(doc["owners"][0]["comm"], "openvpn");
  EXPECT_EQ(doc["events"]["lost"], 0);
  EXPECT_EQ(tx["dominant_span"], "ring");
}

// Version 3 (flows) through a forwarder of our own: every flow named, both directions of
// a connection one flow, the 5-tuple host side first; version 1 and 2 files have none.
TEST(Fixtures, FlowsAreNamedAndCountedPerDirection) {
  Json doc = analyse("fwd-tap-flows.tlrec");
  const Json& flows = doc["tcp"]["flows"];
  ASSERT_EQ(flows.size(), 5u);
  EXPECT_EQ(flows[0]["name"], "TCP 10.77.0.1:58134 <> 10.77.0.2:5201");
  EXPECT_EQ(flows[0]["tx"]["packets"], 1824);
  EXPECT_EQ(flows[0]["rx"]["packets"], 1500);
  EXPECT_EQ(flows[1]["protocol"], "UDP");
  EXPECT_EQ(flows[1]["tx"]["packets"], 174);
  EXPECT_EQ(flows[4]["name"], "ICMP 10.77.0.1 <> 10.77.0.2 id 815");
  EXPECT_EQ(doc["tcp"]["retransmits"], 0);
  uint64_t in_flows = 0;
  for (auto& f : flows) in_flows += f["tx"]["packets"].get<uint64_t>();
  EXPECT_EQ(in_flows, doc["directions"]["tx"]["packets"].get<uint64_t>());  // every packet has its flow

  Json tun = analyse("fwd-tun-filtered.tlrec");
  EXPECT_EQ(tun["filter"], "icmp or tcp");
  EXPECT_EQ(tun["device"]["kind"], "tun");
  for (auto& f : tun["tcp"]["flows"])
    EXPECT_TRUE(f["protocol"] == "TCP" || f["protocol"] == "ICMP") << f["name"];

  Json old = analyse("openvpn-tap-iperf3.tlrec");
  EXPECT_TRUE(old["tcp"]["retransmits"].is_null());
  EXPECT_TRUE(old["tcp"]["flows"].empty());
}

// The whole summary of each fixture, byte for byte, as `tunlat report FILE --json` wrote
// it (tests/fixtures/NAME.summary.json): a refactoring must not move a single number.
// After a deliberate change of the analysis, regenerate them with tunlat report.
TEST(Fixtures, SummariesMatchTheirGoldenJson) {
  for (const char* name :
       {"seed000-ping-f", "stalled-reader", "openvpn-tap-iperf3", "fwd-tap-flows", "fwd-tun-filtered"}) {
    std::ifstream golden(std::string(TUNLAT_FIXTURES_DIR) + "/" + name + ".summary.json");
    ASSERT_TRUE(golden) << name;
    std::stringstream want;
    want << golden.rdbuf();
    std::string got =
        analyse(std::string(name) + ".tlrec").dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    // The first line that differs, not two whole documents.
    std::istringstream g(got), w(want.str());
    std::string gl, wl;
    for (int line = 1; std::getline(w, wl); line++) {
      std::getline(g, gl);
      if (gl != wl) {
        ADD_FAILURE() << name << ".summary.json line " << line << ": got\n  " << gl << "\nwant\n  " << wl;
        break;
      }
    }
    EXPECT_EQ(got.size(), want.str().size()) << name;
  }
}

// Seed 001: the OpenVPN transfer's GSO skbs are cut into segments before the tun ring
// (offloads off on its tun fd), which a finding says with the numbers; the ping flood of
// seed 000 has no GSO skb, and no such finding.
TEST(Fixtures, SegmentationBeforeTheRingIsAFindingOnlyWhereItHappens) {
  auto offload = [](const Json& doc) {
    for (auto& f : doc["findings"])
      if (f["kind"] == "offload") return f;
    return Json();
  };
  const Json f = offload(analyse("openvpn-tap-iperf3.tlrec"));
  ASSERT_FALSE(f.is_null());
  EXPECT_EQ(f["evidence"]["gso_parents"], 145);
  EXPECT_EQ(f["evidence"]["segments"], 3938);
  EXPECT_NE(f["summary"].get<std::string>().find("openvpn (pid 11373) reads each segment"),
            std::string::npos);
  EXPECT_TRUE(offload(analyse("seed000-ping-f.tlrec")).is_null());
}
