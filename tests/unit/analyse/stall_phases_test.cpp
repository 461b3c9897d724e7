// SPDX-License-Identifier: MIT
// An idle stall's phases: the peer silent, acknowledging above a hole, or answering, and
// TCP's retransmission timer backing off meanwhile (issue 29).
#include <gtest/gtest.h>

#include <vector>

#include "core/analyse/flows.h"
#include "core/analyse/stall_phases.h"
#include "events.h"

using namespace tunlat;
using tunlat::test::decoded;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint8_t kAckFlag = 0x10, kFinAck = 0x11;

// TCP segments of flow 1 passing the device (TX xmit, RX receive), as flows_test's, with
// the window the packet advertises.
struct Segments {
  FlowTable& t;
  uint64_t skb = 1;
  void operator()(uint8_t dir, uint32_t seq, uint32_t ack, uint32_t payload, uint64_t ts,
                  uint8_t flags = kAckFlag, uint16_t win = 501) {
    Event first{};
    first.ts_ns = ts;
    first.skb = skb;
    first.gen = static_cast<uint32_t>(skb++);
    first.dir = dir;
    first.point = dir == TL_RX ? TL_INJECT : TL_QUEUE;
    set_summary(first, PacketSummary{1, seq, ack, win, flags, 0}, payload);
    Event passed = first;
    passed.point = dir == TL_RX ? TL_RECEIVE : TL_XMIT;
    passed.flags = 0;
    t.on_pass(decoded<PacketPass>(first));
    t.on_pass(decoded<PacketPass>(passed));
  }
};

// A flow that sent 10 segments of 1000 bytes, each acknowledged, then 20 more at t0
// (sequence 10,000 to 30,000) before the stall.
struct Transfer {
  FlowTable t{200 * kMs};
  Segments pass{t};
  uint64_t t0 = 1000 * kMs;
  Transfer() {
    t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 1, 2}, 1, 0)));
    uint64_t now = t0 - 20 * kMs;
    for (uint32_t i = 0; i < 10; i++, now += kMs) {
      pass(TL_TX, i * 1000, 0, 1000, now);
      pass(TL_RX, 0, (i + 1) * 1000, 0, now + kMs / 2);
    }
    for (uint32_t i = 10; i < 30; i++) pass(TL_TX, i * 1000, 0, 1000, t0);
  }
  const Stall& only() {
    EXPECT_EQ(t.idle_stalls().size(), 1u);
    return t.idle_stalls().at(0);
  }
};

}  // namespace

// The stall: the receiving VPN stopped 2.03 s, the head of the flight lost in its
// full socket; back, the peer acknowledges everything above the hole with duplicate ACKs
// for 1.96 s while the hole is sent again at 200, 600 and 1400 ms and 3 s (the timer
// doubling), until the peer closes. Two phases, each ended by what ended it.
TEST(StallPhases, SilentThenHoleUntilThePeerCloses) {
  Transfer x;
  for (uint64_t at : {200u, 600u, 1400u, 3000u}) x.pass(TL_TX, 10'000, 0, 1000, x.t0 + at * kMs);
  // Reordered by the device's order: the duplicate ACKs interleave with the resends.
  for (uint64_t at = 2030; at < 3990; at += 10) x.pass(TL_RX, 0, 10'000, 0, x.t0 + at * kMs);
  x.pass(TL_RX, 0, 10'000, 0, x.t0 + 3990 * kMs, kFinAck);
  x.pass(TL_TX, 30'000, 1, 0, x.t0 + 3991 * kMs);  // the FIN acknowledged
  x.t.finish(x.t0 + 9000 * kMs);
  const Stall& s = x.only();
  EXPECT_EQ(s.idle_end, IdleEnd::PeerFin);
  EXPECT_EQ(s.end_ns - s.start_ns, 3990 * kMs);
  ASSERT_EQ(s.phases.size(), 2u);
  const StallPhase& silent = s.phases[0];
  EXPECT_EQ(silent.kind, PhaseKind::Silent);
  EXPECT_EQ(silent.start_ns, x.t0);
  EXPECT_EQ(silent.end_ns, x.t0 + 2030 * kMs);
  EXPECT_EQ(silent.end, PhaseEnd::Peer);
  EXPECT_EQ(silent.ended_by.ts_ns, x.t0 + 2030 * kMs);
  EXPECT_EQ(silent.ended_by.sum.ack, 10'000u);
  EXPECT_EQ(silent.peer_packets, 0u);
  EXPECT_EQ(silent.resent, 3u);  // at 200, 600, 1400 ms
  const StallPhase& hole = s.phases[1];
  EXPECT_EQ(hole.kind, PhaseKind::Hole);
  EXPECT_EQ(hole.start_ns, x.t0 + 2030 * kMs);
  EXPECT_EQ(hole.end_ns, x.t0 + 3990 * kMs);
  EXPECT_EQ(hole.end, PhaseEnd::Stall);
  EXPECT_EQ(hole.ended_by.sum.tcp_flags, kFinAck);
  EXPECT_EQ(hole.peer_packets, 196u);
  EXPECT_EQ(hole.dup_acks, 196u);
  EXPECT_EQ(hole.resent, 1u);  // at 3 s
  EXPECT_EQ(s.hole_resent, (std::vector<uint64_t>{x.t0 + 200 * kMs, x.t0 + 600 * kMs, x.t0 + 1400 * kMs,
                                                  x.t0 + 3000 * kMs}));
}

// The ACKs of the last flight trickle in as the wait starts (1 and 3 ms in): the tail of
// what came before, not a phase; the silence starts after them and lasts until the ACK
// that covers new data ends the stall.
TEST(StallPhases, TheLastFlightsAcksAreNoPhase) {
  Transfer x;
  x.pass(TL_RX, 0, 10'000, 0, x.t0 + 1 * kMs);
  x.pass(TL_RX, 0, 10'000, 0, x.t0 + 3 * kMs);
  x.pass(TL_TX, 10'000, 0, 1000, x.t0 + 210 * kMs);
  x.pass(TL_RX, 0, 30'000, 0, x.t0 + 2008 * kMs);
  x.t.finish(x.t0 + 9000 * kMs);
  const Stall& s = x.only();
  ASSERT_EQ(s.phases.size(), 1u);
  EXPECT_EQ(s.phases[0].kind, PhaseKind::Silent);
  EXPECT_EQ(s.phases[0].start_ns, x.t0 + 3 * kMs);
  EXPECT_EQ(s.phases[0].end_ns, x.t0 + 2008 * kMs);
  EXPECT_EQ(s.phases[0].end, PhaseEnd::Stall);
  EXPECT_EQ(s.phases[0].ended_by.sum.ack, 30'000u);
  EXPECT_EQ(s.phases[0].resent, 1u);
}

// A peer answering all along: duplicate ACKs every 50 ms from the start is one hole phase
// (a loss repaired only by a backed-off timer); its own data or a zero window, never a
// duplicate ACK, is "answering".
TEST(StallPhases, APeerAnsweringThroughoutIsOnePhase) {
  for (const bool dup : {true, false}) {
    Transfer x;
    for (uint64_t at = 50; at < 1000; at += 50)
      if (dup)
        x.pass(TL_RX, 0, 10'000, 0, x.t0 + at * kMs);
      else
        x.pass(TL_RX, 0, 10'000, 0, x.t0 + at * kMs, kAckFlag, 0);  // a zero window
    x.pass(TL_RX, 0, 30'000, 0, x.t0 + 1000 * kMs);
    x.t.finish(x.t0 + 9000 * kMs);
    const Stall& s = x.only();
    ASSERT_EQ(s.phases.size(), 1u) << dup;
    EXPECT_EQ(s.phases[0].kind, dup ? PhaseKind::Hole : PhaseKind::Answering);
    EXPECT_EQ(s.phases[0].start_ns, x.t0);
    EXPECT_EQ(s.phases[0].end_ns, x.t0 + 1000 * kMs);
    EXPECT_EQ(s.phases[0].peer_packets, 19u);
    EXPECT_EQ(s.phases[0].dup_acks, dup ? 19u : 0u);
  }
}

// Still waiting when the trace ends, the peer gone quiet again after a hole: silent, hole,
// silent, the last ended by the trace's end.
TEST(StallPhases, OngoingEndsWithTheTrace) {
  Transfer x;
  for (uint64_t at = 500; at <= 700; at += 20) x.pass(TL_RX, 0, 10'000, 0, x.t0 + at * kMs);
  x.t.finish(x.t0 + 3000 * kMs);
  const Stall& s = x.only();
  EXPECT_TRUE(s.ongoing);
  ASSERT_EQ(s.phases.size(), 3u);
  EXPECT_EQ(s.phases[0].kind, PhaseKind::Silent);
  EXPECT_EQ(s.phases[1].kind, PhaseKind::Hole);
  EXPECT_EQ(s.phases[1].end, PhaseEnd::Silence);
  EXPECT_EQ(s.phases[1].end_ns, x.t0 + 700 * kMs);
  EXPECT_EQ(s.phases[2].kind, PhaseKind::Silent);
  EXPECT_EQ(s.phases[2].start_ns, x.t0 + 700 * kMs);
  EXPECT_EQ(s.phases[2].end, PhaseEnd::Trace);
  EXPECT_EQ(s.phases[2].end_ns, x.t0 + 3000 * kMs);
}

// Phases are bounded (a peer answering once a second for an hour); the last one, which
// ends the stall, is always told.
TEST(StallPhases, BoundedWithTheLastKept) {
  PhaseWatch w;
  w.start(1);
  for (uint64_t i = 1; i <= 100; i++) w.on_peer(PeerPacket{i * 1000 * kMs, {}, 0}, true, 200 * kMs);
  std::vector<StallPhase> phases;
  std::vector<uint64_t> resent;
  w.finish(100'500 * kMs, PhaseEnd::Stall, PeerPacket{}, 200 * kMs, phases, resent);
  ASSERT_LE(phases.size(), PhaseWatch::kMaxPhases + 1);
  EXPECT_EQ(phases.back().end_ns, 100'500 * kMs);
  EXPECT_EQ(phases.back().end, PhaseEnd::Stall);
  for (size_t i = 1; i < phases.size(); i++) EXPECT_GE(phases[i].start_ns, phases[i - 1].end_ns);
}
