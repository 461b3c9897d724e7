// SPDX-License-Identifier: MIT
// Flows: summaries named by ingest, counted per flow and direction, retransmissions seen.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/flows.h"
#include "core/diagnose/findings.h"
#include "core/ingest/record_unpack.h"
#include "core/report/flows_report.h"
#include "events.h"

using namespace tunlat;
using tunlat::test::decoded;

namespace {

uint32_t ip4(const char* s) {
  uint32_t v;
  inet_pton(AF_INET, s, &v);
  return v;  // network order, as the kernel stores it
}

// A packet's first record (TX: at xmit) with its summary.
tl_record first_record(uint8_t dir, const tl_sum& sum, uint64_t skb, uint32_t gen) {
  tl_record r{};
  r.slot.skb = skb;
  r.slot.t0 = 1'000'000 + gen;
  r.slot.gen = gen;
  r.slot.len = 1514;
  r.slot.state = dir == TL_RX ? TL_ST_RX : 0;
  r.slot.unsent = dir == TL_RX ? 1 : (1 | 8);
  r.slot.start_flags = TL_F_FIRST;
  r.end.point = dir == TL_RX ? TL_RECEIVE : TL_POINT_COUNT;
  r.end.ts_ns = r.slot.t0 + 500;
  r.end.summary = 1;
  r.end.sum = sum;
  return r;
}

tl_sum tcp_sum(const char* src, const char* dst, uint16_t sp, uint16_t dp, uint32_t seq, uint16_t payload) {
  tl_sum s{};
  s.ethertype = 0x0800;
  s.proto = 6;
  s.saddr = ip4(src);
  s.daddr = ip4(dst);
  s.sport = sp;
  s.dport = dp;
  s.seq = seq;
  s.ack = 7;
  s.win = 512;
  s.payload = payload;
  s.tcp_flags = 0x10;
  return s;
}

// TCP segments of flow 1 passing the device: a packet's first event with its summary,
// then its passing point (TX xmit, RX receive).
struct Segments {
  FlowTable& t;
  uint64_t skb = 1;
  void operator()(uint8_t dir, uint32_t seq, uint32_t ack, uint32_t payload, uint64_t ts, uint8_t flags = 0x10) {
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

}  // namespace

TEST(Flows, FirstRecordNamesItsFlowOnceForBothDirections) {
  FlowIds ids;
  std::vector<Event> out;
  unpack_record(first_record(TL_TX, tcp_sum("10.0.0.1", "10.0.0.2", 40000, 5201, 100, 1448), 0x1000, 1), out,
                &ids);
  ASSERT_EQ(out.size(), 3u);  // the flow's definition, then queue and xmit
  EXPECT_EQ(out[0].point, TL_FLOW);
  const FlowKey k = flow_key_of(out[0]);
  EXPECT_EQ(flow_name(k), "TCP 10.0.0.1:40000 <> 10.0.0.2:5201");
  EXPECT_TRUE(out[1].flags & TL_F_SUMMARY);
  EXPECT_FALSE(out[2].flags & TL_F_SUMMARY);
  const PacketSummary s = summary_of(out[1]);
  EXPECT_EQ(s.flow, out[0].pid);
  EXPECT_EQ(s.seq, 100u);
  EXPECT_EQ(out[1].aux, 1448u);

  // The reply, RX: the same flow, no second definition.
  out.clear();
  unpack_record(first_record(TL_RX, tcp_sum("10.0.0.2", "10.0.0.1", 5201, 40000, 9, 0), 0x2000, 2), out,
                &ids);
  ASSERT_EQ(out.size(), 2u);  // inject, receive
  EXPECT_EQ(summary_of(out[0]).flow, s.flow);
  EXPECT_EQ(ids.stats().flows, 1u);
}

TEST(Flows, Ipv6AddressesComeFromTheirRecord) {
  FlowIds ids;
  std::vector<Event> out;
  tl_record a{};
  a.end.point = TL_ADDR6;
  inet_pton(AF_INET6, "fd00::1", a.addr6.addr[0]);
  inet_pton(AF_INET6, "fd00::2", a.addr6.addr[1]);
  a.addr6.hash[0] = tl_addr6_hash(a.addr6.addr[0]);
  a.addr6.hash[1] = tl_addr6_hash(a.addr6.addr[1]);
  unpack_record(a, out, &ids);
  EXPECT_TRUE(out.empty());
  tl_sum s{};
  s.ethertype = 0x86dd;
  s.proto = 17;
  s.saddr = a.addr6.hash[0];
  s.daddr = a.addr6.hash[1];
  s.sport = 5353;
  s.dport = 53;
  unpack_record(first_record(TL_TX, s, 0x3000, 3), out, &ids);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(flow_name(flow_key_of(out[0])), "UDP [fd00::1]:5353 <> [fd00::2]:53");
}

TEST(Flows, OldRecordsAndCommsHaveNoFlow) {
  FlowIds ids;
  std::vector<Event> out;
  tl_record r = first_record(TL_TX, tcp_sum("10.0.0.1", "10.0.0.2", 1, 2, 3, 4), 0x1000, 1);
  r.end.summary = 0;  // what a kernel without summaries sends
  unpack_record(r, out, &ids);
  for (const Event& e : out) EXPECT_FALSE(e.flags & TL_F_SUMMARY);
  EXPECT_EQ(ids.stats().flows, 0u);
}

namespace {

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
  pass(TL_TX, 10'000, 0, 1000, now);                 // then no ACK for 2 s
  pass(TL_TX, 10'000, 0, 1000, now + 400 * kMs);     // sent again
  pass(TL_TX, 10'000, 0, 1000, now + 1200 * kMs);    // and again
  pass(TL_RX, 0, 11'000, 0, now + 2000 * kMs);       // the ACK
  pass(TL_TX, 11'000, 0, 1000, now + 2001 * kMs);
  pass(TL_RX, 0, 12'000, 0, now + 2002 * kMs);       // all acknowledged: then silence
  t.finish(now + 9000 * kMs);
  ASSERT_EQ(t.idle_stalls().size(), 1u);
  const Stall& s = t.idle_stalls()[0];
  EXPECT_EQ(s.kind, "idle");
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
  pass(TL_TX, 2000, 0, 1000, now + 3 * kMs);  // then nothing new acknowledged
  pass(TL_RX, 0, 1000, 0, now + 2000 * kMs);  // a duplicate ACK: no progress
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
    EXPECT_NEAR(j["flows"][0]["tx"]["timeout_wait_max_ms"].get<double>(), static_cast<double>(c.ack_ms), 0.01);
    // Said where the transfer paused, never raised.
    TraceInfo info;
    info.start_ns = 0;
    const auto findings = diagnose(info, a);
    ASSERT_EQ(findings.size(), 1u) << c.name;
    EXPECT_EQ(findings[0].kind, "timeouts");
    EXPECT_EQ(findings[0].severity, Severity::Info);
    EXPECT_EQ(findings[0].evidence["count"], 1);
    EXPECT_NE(findings[0].summary.find("waited " + std::to_string(c.ack_ms) + ".00 ms for TCP's retransmission timer"),
              std::string::npos)
        << findings[0].summary;
  }
}

// The host's own socket: tcp_retransmit_skb names the socket's flow the way the flow's
// TX packets name it, and tcp_probe's samples come with the ACKs it takes (not data).
TEST(Flows, TheHostsOwnSocket) {
  FlowIds ids;
  std::vector<Event> out;
  const tl_sum sum = tcp_sum("10.0.0.1", "10.0.0.2", 40000, 5201, 1, 1448);
  unpack_record(first_record(TL_TX, sum, 0x1000, 1), out, &ids);
  ASSERT_EQ(ids.stats().flows, 1u);

  // As bpf/tunlat.bpf.c fills it from the socket: addresses in network order, ports in
  // host order, the host's side as a TX packet's source.
  tl_record re{};
  re.end.point = TL_RETRANS;
  re.end.ts_ns = 5'000'000;
  re.end.aux = 1514;
  re.end.summary = TL_X_SUM;
  re.end.code = 2;  // a GSO skb of two segments
  re.end.sum.ethertype = 0x0800;
  re.end.sum.proto = 6;
  re.end.sum.saddr = ip4("10.0.0.1");
  re.end.sum.daddr = ip4("10.0.0.2");
  re.end.sum.sport = 40000;
  re.end.sum.dport = 5201;
  out.clear();
  unpack_record(re, out, &ids);
  ASSERT_EQ(out.size(), 1u) << "the flow is known: no new definition";
  EXPECT_EQ(ids.stats().flows, 1u);
  ASSERT_TRUE(out[0].flags & TL_F_SUMMARY);
  EXPECT_EQ(summary_of(out[0]).flow, 1u);

  FlowTable t;
  t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 40000, 5201}, 1, 0)));
  t.on_host_retransmit(decoded<HostRetransmit>(out[0]));
  t.on_host_retransmit(decoded<HostRetransmit>(out[0]));
  EXPECT_EQ(t.flows().at(1).dirs[0].host_retransmits, 4u) << "segments, not calls";
  EXPECT_EQ(t.host_retransmits(), 4u);

  // tcp_probe's sample rides on the TAKEN event, outside the comms.
  tl_record tk{};
  tk.slot.skb = 0x2000;
  tk.slot.gen = 9;
  tk.slot.state = TL_ST_RX;
  tk.end.point = TL_TAKEN;
  tk.end.ts_ns = 6'000'000;
  tk.end.summary = TL_X_TCP;
  tk.end.tcp = tl_tcp_sample{42, 1500, 30, 65535};
  out.clear();
  unpack_record(tk, out, &ids);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].flags & TL_F_TCP_SAMPLE);
  EXPECT_EQ(tcp_sample_of(out[0]).snd_cwnd, 42u);
  EXPECT_EQ(tcp_sample_of(out[0]).srtt_us, 1500u);

  Journey ack;
  ack.dir = Dir::Rx;
  ack.sum.flow = 1;
  ack.payload = 0;
  ack.has_tcp = true;
  for (uint32_t cwnd : {10u, 20u, 30u}) {
    ack.tcp = tl_tcp_sample{cwnd, cwnd * 100, cwnd / 2, 1000 * cwnd};
    t.count(ack, -1);
  }
  Journey data = ack;  // data taken by a local receiver: its cwnd says nothing
  data.payload = 1448;
  data.tcp.snd_cwnd = 99;
  t.count(data, -1);
  const LocalSocket& l = t.flows().at(1).dirs[0].local;
  EXPECT_EQ(l.samples, 3u);
  EXPECT_EQ(l.cwnd_last, 30u);
  EXPECT_EQ(l.cwnd_max, 30u);
  EXPECT_DOUBLE_EQ(l.cwnd_mean(), 20.0);
  EXPECT_EQ(l.in_flight_max, 15u);
  EXPECT_EQ(l.peer_window_min, 10000u);
  EXPECT_EQ(l.srtt.count(), 3u);

  const Json j = flows_json(t, "on");
  EXPECT_EQ(j["host_retransmits"], 4);
  EXPECT_EQ(j["flows"][0]["tx"]["host_retransmits"], 4);
  EXPECT_EQ(j["flows"][0]["tx"]["local_socket"]["cwnd_max"], 30);
  EXPECT_TRUE(j["flows"][0]["rx"]["local_socket"].is_null());
  // A recording made before the host's count existed: unknown, not 0.
  const Json old = flows_json(t, "");
  EXPECT_TRUE(old["host_retransmits"].is_null());
  EXPECT_TRUE(old["flows"][0]["tx"]["host_retransmits"].is_null());
}

TEST(Flows, APacketInOneLine) {
  const FlowKey tcp{0x0800, 6, 4, {10, 0, 0, 1}, {10, 0, 0, 2}, 40000, 5201};
  EXPECT_EQ(packet_line(&tcp, PacketSummary{1, 7, 0, 0, 0x02, 0}, 0, Dir::Tx),
            "TCP SYN 10.0.0.1:40000 > 10.0.0.2:5201 seq 7 len 0");
  EXPECT_EQ(packet_line(&tcp, PacketSummary{1, 9, 8, 0, 0x10, 0}, 1448, Dir::Rx),
            "TCP data 10.0.0.2:5201 > 10.0.0.1:40000 seq 9 len 1448");
  EXPECT_EQ(packet_kind(&tcp, PacketSummary{1, 9, 8, 0, 0x10, 0}, 0), "TCP ACK");
  const FlowKey icmp{0x0800, 1, 4, {10, 0, 0, 1}, {10, 0, 0, 2}, 0, 77};
  EXPECT_EQ(packet_line(&icmp, PacketSummary{2, 3, 0, 0 << 8, 0, 0}, 0, Dir::Rx),
            "ICMP echo reply 10.0.0.2 > 10.0.0.1 id 77 seq 3");
  const FlowKey unreach{0x0800, 1, 4, {10, 0, 0, 1}, {10, 0, 0, 2}, 0, 0};
  EXPECT_EQ(packet_line(&unreach, PacketSummary{3, 0, 0, 3 << 8 | 1, 0, 0}, 0, Dir::Tx),
            "ICMP destination unreachable 10.0.0.1 > 10.0.0.2");
  const FlowKey ns6{0x86dd, 58, 6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {0xff, 2}, 0, 0};
  EXPECT_EQ(packet_kind(&ns6, PacketSummary{4, 0, 0, 135 << 8, 0, 0}, 0), "ICMPv6 neighbour solicitation");
  const FlowKey arp{0x0806, 0, 0, {}, {}, 0, 0};
  EXPECT_EQ(packet_line(&arp, PacketSummary{5}, 0, Dir::Tx), "ARP");
  EXPECT_EQ(packet_line(nullptr, PacketSummary{}, 0, Dir::Tx), "packet");
}

// A sender far faster than the Mathis figure: the report says the model does not hold.
TEST(Flows, AMathisBoundBeatenIsSaidSo) {
  Json total = {{"count", 20}, {"p50_us", 100.0}, {"p99_us", 200.0}};
  Json tx = {{"packets", 20}, {"bytes", 30000}, {"mbit_s", 769.3}, {"total", total}, {"drops", 0},
             {"retransmits", 2}, {"mathis_mbit_s", 10.1}, {"rtt", {{"p50_us", 4390.0}}}};
  Json rx = {{"packets", 0}, {"bytes", 0}, {"mbit_s", 0.0}, {"total", {{"count", 0}}}, {"drops", 0},
             {"retransmits", nullptr}};
  Json doc = {{"tcp", {{"retransmits", 2}, {"flows_seen", 1},
                       {"flows", Json::array({{{"name", "TCP a <> b"}, {"tx", tx}, {"rx", rx}}})}}}};
  std::ostringstream out;
  render_flows(out, doc);
  EXPECT_NE(out.str().find("Mathis bound 10.1 Mbit/s, beaten 76x: losses come in bursts"), std::string::npos)
      << out.str();
  doc["tcp"]["flows"][0]["tx"]["mbit_s"] = 9.0;
  std::ostringstream under;
  render_flows(under, doc);
  EXPECT_EQ(under.str().find("beaten"), std::string::npos) << under.str();
}
