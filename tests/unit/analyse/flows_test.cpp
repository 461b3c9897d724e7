// SPDX-License-Identifier: MIT
// Flows: counted per flow and direction, retransmissions seen, round trips, idle stalls.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/flows.h"
#include "core/diagnose/findings.h"
#include "core/report/flows_report.h"
#include "events.h"

using namespace tunlat;
using tunlat::test::decoded;

namespace {

// TCP segments of flow 1 passing the device: a packet's first event with its summary,
// then its passing point (TX xmit, RX receive).
struct Segments {
  FlowTable& t;
  uint64_t skb = 1;
  void operator()(uint8_t dir, uint32_t seq, uint32_t ack, uint32_t payload, uint64_t ts,
                  uint8_t flags = 0x10) {
    Event first{};
    first.ts_ns = ts;
    first.skb = skb;
    first.gen = static_cast<uint32_t>(skb++);
    first.dir = dir;
    first.point = dir == TL_RX ? TL_INJECT : TL_QUEUE;
    set_summary(first, PacketSummary{1, seq, ack, 0, flags, 0}, payload);
    Event passed = first;
    passed.point = dir == TL_RX ? TL_RECEIVE : TL_XMIT;
    passed.flags = 0;
    t.on_pass(decoded<PacketPass>(first));
    t.on_pass(decoded<PacketPass>(passed));
  }
};

Journey tx_segment(uint32_t flow, uint32_t seq, uint32_t payload, uint64_t xmit_ns) {
  Journey j;
  j.dir = Dir::Tx;
  j.ts[TL_QUEUE] = xmit_ns - 10;
  j.ts[TL_XMIT] = xmit_ns;
  j.len = payload + 66;
  j.flags = TL_F_SUMMARY | TL_F_FIRST;
  j.sum.flow = flow;
  j.sum.seq = seq;
  j.sum.tcp_flags = 0x10;
  j.payload = payload;
  return j;
}

}  // namespace

// Retransmissions are judged in the order the device passed the segments (their xmit),
// whatever order their records arrive in (several CPUs' rings, a read held back).
TEST(Flows, RetransmissionsInTheDevicesOrder) {
  FlowTable t;
  t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
  auto pass = [&](uint32_t i, uint64_t xmit_ns, uint64_t skb) {
    Event first{};  // queue, with the summary
    first.ts_ns = xmit_ns - 10;
    first.skb = skb;
    first.gen = static_cast<uint32_t>(skb);
    first.point = TL_QUEUE;
    set_summary(first, PacketSummary{1, 5000 + i * 1000, 0, 0, 0x10, 0}, 1000);
    Event xmit = first;
    xmit.ts_ns = xmit_ns;
    xmit.point = TL_XMIT;
    xmit.flags = 0;
    t.on_pass(decoded<PacketPass>(first));
    t.on_pass(decoded<PacketPass>(xmit));
    t.count(tx_segment(1, 5000 + i * 1000, 1000, xmit_ns), 10);
  };
  // Segments 0..9 of 1000 bytes, arriving out of order; then 3 sent again.
  std::vector<std::pair<uint32_t, uint64_t>> order = {{0, 100}, {2, 300}, {1, 200}, {4, 500}, {3, 400},
                                                      {5, 600}, {7, 800}, {6, 700}, {8, 900}, {9, 1000}};
  uint64_t skb = 1;
  for (auto [i, ts] : order) pass(i, ts, skb++);
  pass(3, 5'000'000, skb++);  // a retransmission
  t.finish(0);
  const FlowStat& f = t.flows().at(1);
  EXPECT_EQ(f.dirs[0].packets, 11u);
  EXPECT_EQ(f.dirs[0].retransmits, 1u);
  EXPECT_EQ(t.retransmits(), 1u);
  EXPECT_EQ(f.dirs[0].total.count(), 11u);
  const Json j = flows_json(t, "on");
  EXPECT_EQ(j["retransmits"], 1);
  ASSERT_EQ(j["flows"].size(), 1u);
  EXPECT_EQ(j["flows"][0]["tx"]["packets"], 11);
}

// A hostile recording names millions of flows: the table stays bounded.
TEST(Flows, TableIsBounded) {
  FlowTable t;
  for (uint32_t id = 1; id < 100'000; id++) {
    FlowKey k;
    k.family = 4;
    k.proto = 17;
    std::memcpy(k.a.data(), &id, 4);
    t.define(decoded<FlowDefinition>(flow_event(k, id, id)));
    Journey j = tx_segment(id, 0, 10, id + 100);
    t.count(j, 5);
  }
  t.finish(0);
  EXPECT_LE(t.flows().size(), FlowTable::kMaxFlows + 1);
  EXPECT_EQ(t.flows().count(kOtherFlow), 1u);
  EXPECT_EQ(t.flows().at(kOtherFlow).dirs[0].packets, 99'999u - FlowTable::kMaxFlows);  // ids 1 .. 99,999
}

// The round trip the device sees: data passing it one way, the ACK covering it the other
// way; data sent again gives no sample (Karn). With loss, the Mathis bound beside it.
TEST(Flows, RoundTripAndMathisBound) {
  FlowTable t;
  t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
  Segments pass{t};
  for (uint32_t i = 0; i < 100; i++) {
    pass(TL_TX, i * 1000, 0, 1000, 1'000'000 + i * 10'000);
    pass(TL_RX, 0, (i + 1) * 1000, 0, 1'000'000 + i * 10'000 + 2'000'000);  // 2 ms later
  }
  pass(TL_TX, 50'000, 0, 1000, 3'000'000'000);  // one sent again
  t.finish(0);
  const FlowDirStats& tx = t.flows().at(1).dirs[0];
  EXPECT_EQ(tx.rtt.count(), 100u);
  EXPECT_NEAR(static_cast<double>(tx.rtt.quantile(0.5)), 2e6, 2e6 * 0.02);
  EXPECT_EQ(tx.retransmits, 1u);
  EXPECT_EQ(tx.mss, 1000u);
  // 1000 B / 2 ms * 1.22 / sqrt(1/101) = 48.8 Mbit/s
  EXPECT_NEAR(tx.mathis_bits_per_s() / 1e6, 49.0, 1.0);
}

// Issue 15's idle stall: TX data passed the device and nothing new was acknowledged for
// 2 s (the receiving VPN stopped); the two retransmissions meanwhile are counted, not taken
// for progress; silence with nothing outstanding (the transfer over) is no stall.
TEST(Flows, DataUnacknowledgedTwoSecondsIsOneIdleStall) {
  FlowTable t(200'000'000);
  t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
  Segments pass{t};
  constexpr uint64_t kMs = 1'000'000;
  uint64_t now = 1000 * kMs;
  for (uint32_t i = 0; i < 10; i++, now += kMs) {  // data and its ACK 1 ms apart
    pass(TL_TX, i * 1000, 0, 1000, now);
    pass(TL_RX, 0, (i + 1) * 1000, 0, now + kMs / 2);
  }
  pass(TL_TX, 10'000, 0, 1000, now);               // then no ACK for 2 s
  pass(TL_TX, 10'000, 0, 1000, now + 400 * kMs);   // sent again
  pass(TL_TX, 10'000, 0, 1000, now + 1200 * kMs);  // and again
  pass(TL_RX, 0, 11'000, 0, now + 2000 * kMs);     // the ACK
  pass(TL_TX, 11'000, 0, 1000, now + 2001 * kMs);
  pass(TL_RX, 0, 12'000, 0, now + 2002 * kMs);  // all acknowledged: then silence
  t.finish(now + 9000 * kMs);
  ASSERT_EQ(t.idle_stalls().size(), 1u);
  const Stall& s = t.idle_stalls()[0];
  EXPECT_EQ(s.kind, StallKind::Idle);
  EXPECT_EQ(s.dir, Dir::Tx);
  EXPECT_EQ(s.start_ns, now);
  EXPECT_EQ(s.end_ns, now + 2000 * kMs);
  EXPECT_EQ(s.retransmits, 2u);
  EXPECT_EQ(s.end_point, TL_RECEIVE);
  EXPECT_EQ(s.idle_end, IdleEnd::Ack);
  EXPECT_FALSE(s.ongoing);
}

// The transfer stood still until the connection ended, never acknowledged (a case-4 run:
// the receiving VPN came back, the test's time was up and the receiver closed): the
// stall ends with the receiver's FIN; what follows (a retransmission, the reset it
// gets) is no second stall.
TEST(Flows, DataUnacknowledgedUntilThePeerClosesIsOneIdleStall) {
  FlowTable t(200'000'000);
  t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
  Segments pass{t};
  constexpr uint64_t kMs = 1'000'000;
  const uint64_t now = 1000 * kMs;
  pass(TL_TX, 0, 0, 1000, now);
  pass(TL_RX, 0, 1000, 0, now + kMs);  // acknowledged
  pass(TL_TX, 1000, 0, 1000, now + 2 * kMs);
  pass(TL_TX, 2000, 0, 1000, now + 3 * kMs);        // then nothing new acknowledged
  pass(TL_RX, 0, 1000, 0, now + 2000 * kMs);        // a duplicate ACK: no progress
  pass(TL_RX, 0, 1000, 0, now + 2500 * kMs, 0x11);  // FIN|ACK, 2000 bytes never acknowledged
  pass(TL_TX, 3000, 1, 0, now + 2501 * kMs);        // the FIN acknowledged
  pass(TL_TX, 1000, 1, 1000, now + 4000 * kMs);     // data sent again
  pass(TL_RX, 0, 0, 0, now + 4001 * kMs, 0x04);     // and reset
  t.finish(now + 9000 * kMs);
  ASSERT_EQ(t.idle_stalls().size(), 1u);
  const Stall& s = t.idle_stalls()[0];
  EXPECT_EQ(s.start_ns, now + 2 * kMs);
  EXPECT_EQ(s.end_ns, now + 2500 * kMs);
  EXPECT_EQ(s.idle_end, IdleEnd::PeerFin);
  EXPECT_EQ(s.unacked, 2000u);
  EXPECT_EQ(s.end_point, TL_RECEIVE);
  EXPECT_FALSE(s.ongoing);
}

// Still unacknowledged when the trace ends: an ongoing idle stall to the trace's end; a
// wait shorter than the threshold at the end is none.
TEST(Flows, DataUnacknowledgedAtTheEndIsAnOngoingIdleStall) {
  constexpr uint64_t kMs = 1'000'000;
  for (const uint64_t end_ms : {1100u, 3000u}) {
    FlowTable t(200'000'000);
    t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
    Segments pass{t};
    pass(TL_TX, 0, 0, 1000, 1000 * kMs);
    pass(TL_RX, 0, 1000, 0, 1001 * kMs);
    pass(TL_TX, 1000, 0, 1000, 1002 * kMs);  // waits from here
    t.finish(end_ms * kMs);
    if (end_ms == 1100) {
      EXPECT_TRUE(t.idle_stalls().empty()) << "waiting 98 ms at the end";
      continue;
    }
    ASSERT_EQ(t.idle_stalls().size(), 1u);
    const Stall& s = t.idle_stalls()[0];
    EXPECT_TRUE(s.ongoing);
    EXPECT_EQ(s.start_ns, 1002 * kMs);
    EXPECT_EQ(s.end_ns, end_ms * kMs);
    EXPECT_EQ(s.unacked, 1000u);
  }
}

// A lost segment that TCP's retransmission timer repairs (the CI run of case 9: iperf3's
// last control message lost twice on a lossy OpenVPN path, answered 220 ms later, right
// after the timer's copy): no stall, counted as the flow's timeout wait. The same wait
// is a stall when the timer's copy goes unanswered: the ACK long after it, or backoff.
TEST(Flows, ALossTheRetransmissionTimerRepairsIsNoStall) {
  constexpr uint64_t kMs = 1'000'000;
  struct Case {
    const char* name;
    std::vector<uint64_t> resent_ms;  // the head sent again, after it was first sent
    uint64_t ack_ms;
    bool stall;
  };
  for (const Case& c : {Case{"tail probe and one timeout, answered", {20, 220}, 221, false},
                        Case{"one timeout, answered", {210}, 212, false},
                        Case{"the ACK 100 ms after the timer's copy", {20, 220}, 320, true},
                        Case{"backoff: copies unanswered", {20, 220, 620, 1420}, 1421, true}}) {
    Analysis a(200'000'000);
    FlowTable& t = a.flows();
    t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
    Segments pass{t};
    uint64_t now = 1000 * kMs;
    for (uint32_t i = 0; i < 10; i++, now += kMs) {  // RTT 1 ms
      pass(TL_TX, i * 1000, 0, 1000, now);
      pass(TL_RX, 0, (i + 1) * 1000, 0, now + kMs);
    }
    pass(TL_TX, 10'000, 0, 276, now);  // lost, and waited from here
    for (uint64_t r : c.resent_ms) pass(TL_TX, 10'000, 0, 276, now + r * kMs);
    pass(TL_RX, 0, 10'276, 0, now + c.ack_ms * kMs);
    t.finish(now + 5000 * kMs);
    const FlowDirStats& tx = t.flows().at(1).dirs[0];
    EXPECT_EQ(tx.retransmits, c.resent_ms.size()) << c.name;
    if (c.stall) {
      ASSERT_EQ(t.idle_stalls().size(), 1u) << c.name;
      EXPECT_EQ(t.idle_stalls()[0].end_ns - t.idle_stalls()[0].start_ns, c.ack_ms * kMs) << c.name;
      EXPECT_EQ(tx.timeout_waits, 0u) << c.name;
      continue;
    }
    EXPECT_TRUE(t.idle_stalls().empty()) << c.name;
    EXPECT_EQ(tx.timeout_waits, 1u) << c.name;
    EXPECT_EQ(tx.timeout_wait_max_ns, c.ack_ms * kMs) << c.name;
    t.count(tx_segment(1, 0, 1000, 1000 * kMs), 5);  // listed: it counted a packet
    const Json j = flows_json(t, "on");
    ASSERT_EQ(j.at("flows").size(), 1u);
    EXPECT_EQ(j["flows"][0]["tx"]["timeout_waits"], 1) << c.name;
    EXPECT_NEAR(j["flows"][0]["tx"]["timeout_wait_max_ms"].get<double>(), static_cast<double>(c.ack_ms),
                0.01);
    // Said where the transfer paused, never raised.
    TraceInfo info;
    info.start_ns = 0;
    const auto findings = diagnose(info, a);
    ASSERT_EQ(findings.size(), 1u) << c.name;
    EXPECT_EQ(findings[0].kind, FindingKind::Timeouts);
    EXPECT_EQ(findings[0].severity, Severity::Info);
    EXPECT_EQ(findings[0].evidence["count"], 1);
    EXPECT_NE(findings[0].verdict.find("waited " + std::to_string(c.ack_ms) +
                                       ".00 ms for TCP's retransmission timer"),
              std::string::npos)
        << findings[0].verdict;
  }
}
