// SPDX-License-Identifier: MIT
// The whole tunnel: one inner packet named alike at both ends, matched across them (a lost
// copy sent again, two clocks), its transit cut into segments that add up, and a stall
// blamed on the process whose turn it was.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/report/tunnel_report.h"
#include "core/tunnel/tunnel.h"

using namespace tunlat;

namespace {

constexpr uint64_t kUs = 1000;
constexpr uint32_t kVpnA = 100, kVpnB = 200;

FlowKey tcp_key(const char* a, uint16_t pa, const char* b, uint16_t pb) {
  FlowKey k;
  k.ethertype = 0x0800;
  k.proto = 6;
  k.family = 4;
  auto ip = [](std::array<uint8_t, 16>& out, const char* s) {
    unsigned x[4];
    std::sscanf(s, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]);
    for (int i = 0; i < 4; i++) out[i] = static_cast<uint8_t>(x[i]);
  };
  ip(k.a, a);
  ip(k.b, b);
  k.pa = pa;
  k.pb = pb;
  return k;
}

// Both ends' flow tables: A's host is 10.8.0.1, B's 10.8.0.2; one TCP connection.
struct Ends {
  FlowTable flows_a, flows_b;
  TunnelEnd a{flows_a, DeviceKind::Tap}, b{flows_b, DeviceKind::Tap};
  VpnAnalysis vpn_a, vpn_b;
  Ends() {
    flows_a.define({0, 1, tcp_key("10.8.0.1", 40000, "10.8.0.2", 5201)});
    flows_b.define({0, 7, tcp_key("10.8.0.2", 5201, "10.8.0.1", 40000)});
  }
  void finish() {
    a.finish(vpn_a);
    b.finish(vpn_b);
  }
};

Journey journey(Dir d, uint32_t flow, uint32_t seq, uint64_t skb, uint32_t pid) {
  Journey j;
  j.dir = d;
  j.skb = skb;
  j.gen = 1;
  j.sum.flow = flow;
  j.sum.seq = seq;
  j.sum.ack = 1;
  j.sum.tcp_flags = 0x10;
  j.payload = 1448;
  j.ip_id = static_cast<uint16_t>(seq);
  j.pid = j.tid = pid;
  return j;
}

// A's TX of segment seq: queued at t, read at t + ring, sent on the underlay vpn later.
void send_at_a(Ends& e, uint32_t seq, uint64_t t, uint64_t ring, uint64_t vpn, uint64_t skb) {
  Journey j = journey(Dir::Tx, 1, seq, skb, kVpnA);
  j.ts[TL_QUEUE] = t;
  j.ts[TL_XMIT] = t;
  j.ts[TL_READ] = t + ring;
  j.ts[TL_FREE] = t + ring + 1;
  e.a.on_journey(j, End::Freed);
  e.a.on_pair({Dir::Tx, 0, skb, 1, t + ring, t + ring + vpn});
}

// B's RX of the same: its VPN read it from the underlay at t, wrote it vpn later, a TCP
// socket took it stack later.
void receive_at_b(Ends& e, uint32_t seq, uint64_t t, uint64_t vpn, uint64_t stack, uint64_t skb) {
  Journey j = journey(Dir::Rx, 7, seq, skb, kVpnB);
  j.ts[TL_INJECT] = t + vpn;
  j.ts[TL_RECEIVE] = t + vpn + 1;
  j.ts[TL_TAKEN] = t + vpn + stack;
  e.b.on_journey(j, End::Freed);
  e.b.on_pair({Dir::Rx, 0, skb, 1, t, t + vpn});
}

TunnelResult match(Ends& e, bool one_clock = true, uint64_t stall_ns = 200'000 * kUs) {
  e.finish();
  static TunnelSide sa, sb;
  sa = TunnelSide{"accA/tap0", &e.a, &e.vpn_a, 0};
  sb = TunnelSide{"accB/tap0", &e.b, &e.vpn_b, 0};
  return match_tunnel(sa, sb, one_clock, stall_ns);
}

}  // namespace

TEST(Tunnel, APacketHasOneNameAtBothEnds) {
  Ends e;
  const FlowKey& ka = e.flows_a.flows().at(1).key;
  const FlowKey& kb = e.flows_b.flows().at(7).key;
  EXPECT_EQ(inner_id(ka, Dir::Tx, journey(Dir::Tx, 1, 5, 1, 0)),
            inner_id(kb, Dir::Rx, journey(Dir::Rx, 7, 5, 2, 0)));
  EXPECT_NE(inner_id(ka, Dir::Tx, journey(Dir::Tx, 1, 5, 1, 0)),
            inner_id(kb, Dir::Rx, journey(Dir::Rx, 7, 6, 2, 0)));
  // The reverse direction is another packet: B's reply is not A's segment.
  EXPECT_NE(inner_id(ka, Dir::Tx, journey(Dir::Tx, 1, 5, 1, 0)),
            inner_id(ka, Dir::Rx, journey(Dir::Rx, 1, 5, 1, 0)));
}

TEST(Tunnel, SegmentsAddUpToTheTransit) {
  Ends e;
  for (uint32_t i = 0; i < 100; i++) {
    const uint64_t t = 1'000'000 + i * 100 * kUs;
    // ring 40 us, A's VPN 10 us, underlay 50 + i us, B's VPN 8 us, stack 3 us
    send_at_a(e, i, t, 40 * kUs, 10 * kUs, 0x1000 + i);
    receive_at_b(e, i, t + 50 * kUs + 50 * kUs + i * kUs, 8 * kUs, 3 * kUs, 0x9000 + i);
  }
  send_at_a(e, 999, 90'000'000, 40 * kUs, 10 * kUs, 0x2000);  // lost on the way
  const TunnelResult r = match(e);
  const TunnelPath& p = r.paths[0];
  EXPECT_EQ(p.packets, 101u);
  EXPECT_EQ(p.matched, 100u);
  EXPECT_EQ(p.timed, 100u);
  EXPECT_EQ(r.paths[1].matched, 0u);
  EXPECT_NEAR(p.segments[0].mean(), 40 * kUs, 1);
  EXPECT_NEAR(p.segments[1].mean(), 10 * kUs, 1);
  EXPECT_NEAR(p.segments[2].mean(), 50 * kUs + 49.5 * kUs, 1);
  EXPECT_NEAR(p.segments[3].mean(), 8 * kUs, 1);
  EXPECT_NEAR(p.segments[4].mean(), 3 * kUs, 1);
  double sum = 0;
  for (const Histogram& h : p.segments) sum += h.mean();
  EXPECT_NEAR(sum, p.transit.mean(), 1);
  EXPECT_EQ(p.transit.max(), (40 + 10 + 50 + 99 + 8 + 3) * kUs);
}

TEST(Tunnel, AnArrivalTakesTheCopySentLastBeforeIt) {
  Ends e;
  send_at_a(e, 1, 1'000'000, 10 * kUs, 10 * kUs, 0x10);                  // lost
  send_at_a(e, 1, 1'000'000 + 300'000 * kUs, 10 * kUs, 10 * kUs, 0x11);  // sent again
  receive_at_b(e, 1, 1'000'000 + 300'000 * kUs + 70 * kUs, 5 * kUs, 2 * kUs, 0x20);
  const TunnelResult r = match(e);
  const TunnelPath& p = r.paths[0];
  EXPECT_EQ(p.matched, 1u);
  EXPECT_EQ(p.transit.max(), (10 + 10 + 50 + 5 + 2) * kUs);
}

TEST(Tunnel, TwoClocksTheOffsetFromTheLeastDelaysBothWays) {
  Ends e;
  const uint64_t skew = 5'000 * kUs;  // B's clock runs 5 ms ahead of A's
  for (uint32_t i = 0; i < 50; i++) {
    const uint64_t t = 1'000'000 + i * 1000 * kUs;
    send_at_a(e, i, t, 10 * kUs, 10 * kUs, 0x100 + i);
    receive_at_b(e, i, skew + t + 20 * kUs + (30 + i) * kUs, 5 * kUs, 2 * kUs,
                 0x900 + i);  // underlay >= 30 us
    // B's reply: its own TX, A's RX, underlay >= 40 us the other way.
    Journey j = journey(Dir::Tx, 7, 10000 + i, 0x500 + i, kVpnB);
    j.ts[TL_QUEUE] = j.ts[TL_XMIT] = skew + t + 500 * kUs;
    j.ts[TL_READ] = j.ts[TL_QUEUE] + 10 * kUs;
    e.b.on_journey(j, End::Freed);
    e.b.on_pair({Dir::Tx, 0, j.skb, 1, j.ts[TL_READ], j.ts[TL_READ] + 10 * kUs});
    Journey k = journey(Dir::Rx, 1, 10000 + i, 0x700 + i, kVpnA);
    const uint64_t uread = t + 500 * kUs + 20 * kUs + (40 + i) * kUs;
    k.ts[TL_INJECT] = uread + 5 * kUs;
    k.ts[TL_TAKEN] = uread + 7 * kUs;
    e.a.on_journey(k, End::Freed);
    e.a.on_pair({Dir::Rx, 0, k.skb, 1, uread, uread + 5 * kUs});
  }
  const TunnelResult r = match(e, false);
  ASSERT_TRUE(r.clock_offset_ns && r.clock_error_ns);
  // least delays: 30 us + skew one way, 40 us - skew the other: offset skew - 5 us, error 35 us.
  EXPECT_EQ(*r.clock_offset_ns, static_cast<int64_t>(skew) - 5 * static_cast<int64_t>(kUs));
  EXPECT_EQ(*r.clock_error_ns, 35 * kUs);
  EXPECT_EQ(r.paths[0].timed, 50u);
  EXPECT_EQ(r.paths[1].timed, 50u);
  // The underlay, corrected by the estimate: its least is 35 us both ways (within the error).
  EXPECT_EQ(r.paths[0].segments[static_cast<size_t>(Segment::Underlay)].min(), 35 * kUs);
  EXPECT_EQ(r.paths[1].segments[static_cast<size_t>(Segment::Underlay)].min(), 35 * kUs);
}

TEST(Tunnel, AStallIsBlamedOnTheProcessWhoseTurnItWas) {
  Ends e;
  for (uint32_t i = 0; i < 20; i++) {
    const uint64_t t = 1'000'000 + i * 100 * kUs;
    send_at_a(e, i, t, 10 * kUs, 10 * kUs, 0x100 + i);
    // B's VPN stopped: the first ten wait 1 s in its socket.
    const uint64_t underlay = i < 10 ? 1'000'000 * kUs - i * 100 * kUs : 50 * kUs;
    receive_at_b(e, i, t + 20 * kUs + underlay, 5 * kUs, 2 * kUs, 0x900 + i);
  }
  const TunnelResult r = match(e);
  const std::vector<Finding> f = tunnel_findings(r, 200'000 * kUs);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].where["segment"], "underlay");
  EXPECT_EQ(f[0].where["end"], "accB/tap0");
  EXPECT_EQ(f[0].where["pid"], kVpnB);
  EXPECT_EQ(f[0].evidence["packets"], 10);
  EXPECT_NE(f[0].verdict.find("accB/tap0's VPN, pid 200"), std::string::npos) << f[0].verdict;
  const Json j = tunnel_json(r, 200'000 * kUs);
  EXPECT_EQ(j["paths"][0]["segments"].size(), kSegments);
  EXPECT_EQ(j["paths"][0]["segments"][2]["name"], "underlay");
  EXPECT_EQ(j["clock_offset_us"], 0.0);
}
