// SPDX-License-Identifier: MIT
// An idle stall's finding tells its phases and TCP's backed-off timer, with a remedy that
// fits what they show (issue 29).
#include <gtest/gtest.h>

#include <string>

#include "core/analyse/analysis.h"
#include "core/diagnose/findings.h"
#include "events.h"

using namespace tunlat;
using tunlat::test::decoded;

namespace {

constexpr uint64_t kMs = 1'000'000;

void segment(FlowTable& t, uint64_t& skb, uint8_t dir, uint32_t seq, uint32_t ack, uint32_t payload,
             uint64_t ts, uint8_t flags = 0x10) {
  Event first{};
  first.ts_ns = ts;
  first.skb = skb;
  first.gen = static_cast<uint32_t>(skb++);
  first.dir = dir;
  first.point = dir == TL_RX ? TL_INJECT : TL_QUEUE;
  set_summary(first, PacketSummary{1, seq, ack, 501, flags, 0}, payload);
  Event passed = first;
  passed.point = dir == TL_RX ? TL_RECEIVE : TL_XMIT;
  passed.flags = 0;
  t.on_pass(decoded<PacketPass>(first));
  t.on_pass(decoded<PacketPass>(passed));
}

// 10 segments acknowledged, then 20 more at t0 and nothing new acknowledged: the peer
// silent for silent_ms, then (if hole_ms) duplicate ACKs every 10 ms for hole_ms, the hole
// sent again at 200, 600, 1400 and 3000 ms (within the stall), and the peer's FIN.
std::vector<Finding> stall(uint64_t silent_ms, uint64_t hole_ms) {
  Analysis a(200 * kMs);
  FlowTable& t = a.flows();
  t.define(decoded<FlowDefinition>(
      flow_event(FlowKey{0x0800, 6, 4, {10, 8, 0, 1}, {10, 8, 0, 2}, 40112, 5201}, 1, 0)));
  uint64_t skb = 1;
  const uint64_t t0 = 1000 * kMs;
  for (uint32_t i = 0; i < 10; i++) {
    segment(t, skb, TL_TX, i * 1000, 0, 1000, t0 - (20 - i) * kMs);
    segment(t, skb, TL_RX, 0, (i + 1) * 1000, 0, t0 - (20 - i) * kMs + kMs / 2);
  }
  for (uint32_t i = 10; i < 30; i++) segment(t, skb, TL_TX, i * 1000, 0, 1000, t0);
  const uint64_t end = silent_ms + hole_ms;
  for (uint64_t at : {200u, 600u, 1400u, 3000u})
    if (at < end) segment(t, skb, TL_TX, 10'000, 0, 1000, t0 + at * kMs);
  for (uint64_t at = silent_ms; hole_ms && at < end; at += 10)
    segment(t, skb, TL_RX, 0, 10'000, 0, t0 + at * kMs);
  segment(t, skb, TL_RX, 0, 10'000, 0, t0 + end * kMs, 0x11);
  segment(t, skb, TL_TX, 30'000, 1, 0, t0 + (end + 1) * kMs);
  a.finish(t0 + 9000 * kMs);
  TraceInfo info;
  info.start_ns = 0;
  return diagnose(info, a);
}

}  // namespace

// The wording: silent 2.03 s, then a hole 1.96 s, the timer backed off to 1.6 s
// (200, 400, 800, 1600 ms between the sends of the hole).
TEST(IdleStallFinding, TellsThePhasesAndTheTimer) {
  const auto findings = stall(2030, 1960);
  ASSERT_FALSE(findings.empty());
  const Finding& f = findings[0];
  EXPECT_EQ(f.kind, FindingKind::Stall);
  EXPECT_EQ(f.severity, Severity::Critical);
  EXPECT_NE(f.verdict.find("stood 3.99 s unacknowledged at 1.00 s"), std::string::npos) << f.verdict;
  EXPECT_NE(
      f.verdict.find(": the far side was silent for 2.03 s, then acknowledged everything above a hole for "
                     "1.96 s (196 duplicate ACKs) while TCP's retransmission timer had backed off to 1.60 s "
                     "(the hole sent again 4 times)"),
      std::string::npos)
      << f.verdict;
  EXPECT_NE(f.remedy.find("head of the flight"), std::string::npos) << f.remedy;
  EXPECT_NE(f.remedy.find("SOCKET_RCVBUFF"), std::string::npos) << f.remedy;
  ASSERT_EQ(f.evidence["phases"].size(), 2u);
  EXPECT_EQ(f.evidence["phases"][0]["kind"], "silent");
  EXPECT_EQ(f.evidence["phases"][1]["kind"], "hole");
  EXPECT_EQ(f.evidence["timer_backoff_ms"], 1600.0);
}

// Silent until the peer's FIN: one phase; the timer's longest wait is the one still running
// at the end (1.1 s after the send at 1.4 s).
TEST(IdleStallFinding, SilentToTheEnd) {
  const auto findings = stall(2500, 0);
  ASSERT_FALSE(findings.empty());
  const Finding& f = findings[0];
  EXPECT_NE(
      f.verdict.find(": the far side was silent for 2.50 s while TCP's retransmission timer had backed off "
                     "to 1.10 s (the hole sent again 3 times)"),
      std::string::npos)
      << f.verdict;
  EXPECT_EQ(f.remedy.find("head of the flight"), std::string::npos) << f.remedy;
  ASSERT_EQ(f.evidence["phases"].size(), 1u);
}
