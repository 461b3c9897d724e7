// SPDX-License-Identifier: MIT
// Ordinary drops (multicast no socket joined, packets of connections already closed, for
// another host) are one info finding for the whole trace, whatever their direction or
// namespace; a drop that is not ordinary stays a drops finding of its own (issue 29).
#include <gtest/gtest.h>

#include <string>

#include "core/analyse/analysis.h"
#include "core/diagnose/findings.h"
#include "trace_info_sample.h"

using namespace tunlat;

namespace {

constexpr uint64_t kMcInput = 0xffffffff81000100ull, kTcpRcv = 0xffffffff81000200ull,
                   kUdpQueue = 0xffffffff81000300ull, kRbPurge = 0xffffffff81000400ull;

TraceInfo info() {
  TraceInfo i = test::sample_trace_info();
  i.start_ns = 0;
  i.drop_reasons = {{2, "SKB_DROP_REASON_NOT_SPECIFIED"},
                    {3, "SKB_DROP_REASON_NO_SOCKET"},
                    {6, "SKB_DROP_REASON_SOCKET_RCVBUFF"}};
  i.symbols = {{kMcInput, "ip6_mc_input"},
               {kTcpRcv, "tcp_v4_rcv"},
               {kUdpQueue, "udp_queue_rcv_one_skb"},
               {kRbPurge, "skb_rbtree_purge"}};
  return i;
}

// An RX packet of the device dropped at ts.
Journey rx_drop(uint64_t ts, int32_t reason, uint64_t location) {
  Journey j;
  j.dir = Dir::Rx;
  j.ts[TL_INJECT] = ts;
  j.ts[TL_RECEIVE] = ts + 1000;
  j.ts[TL_FREE] = ts + 2000;
  j.len = 90;
  j.flags = TL_F_DROP;
  j.drop_reason = reason;
  j.drop_location = location;
  return j;
}

void elsewhere(Analysis& a, uint16_t scope, int32_t reason, uint64_t location, int n) {
  for (int i = 0; i < n; i++) a.on_drop_elsewhere(DropElsewhere{1000, scope, reason, location, 0, 90});
}

std::vector<Finding> of_kind(const std::vector<Finding>& all, FindingKind k) {
  std::vector<Finding> out;
  for (const Finding& f : all)
    if (f.kind == k) out.push_back(f);
  return out;
}

}  // namespace

// A plain run's IPv6 multicast, once on the device (RX) and once in its namespace, and
// the ACKs that came after the connection closed: one line, nothing above info.
TEST(OrdinaryDrops, AreOneInfoLineForTheWholeTrace) {
  Analysis a;
  for (int i = 0; i < 5; i++) a.on_journey(rx_drop(1'000'000 + i, 2, kMcInput), End::Freed);
  for (int i = 0; i < 2; i++) a.on_journey(rx_drop(2'000'000 + i, 3, kTcpRcv), End::Freed);
  // The closing receiver's out-of-order queue: data above a hole, never delivered.
  a.on_journey(rx_drop(3'000'000, 2, kRbPurge), End::Freed);
  elsewhere(a, TL_DS_NETNS, 2, kMcInput, 4);
  const auto all = diagnose(info(), a);
  const auto ordinary = of_kind(all, FindingKind::OrdinaryDrops);
  ASSERT_EQ(ordinary.size(), 1u);
  EXPECT_TRUE(of_kind(all, FindingKind::Drops).empty());
  const Finding& f = ordinary[0];
  EXPECT_EQ(f.severity, Severity::Info);
  EXPECT_EQ(f.evidence["count"], 12);
  EXPECT_NE(f.verdict.find("12 packets dropped as a matter of course"), std::string::npos) << f.verdict;
  EXPECT_NE(
      f.verdict.find("3 with no socket left for them (a connection or ping already over): 2 NO_SOCKET in "
                     "tcp_v4_rcv, 1 NOT_SPECIFIED in skb_rbtree_purge"),
      std::string::npos)
      << f.verdict;
  EXPECT_NE(f.verdict.find("9 multicast no socket joined: 9 NOT_SPECIFIED in ip6_mc_input"),
            std::string::npos)
      << f.verdict;
  for (const Finding& g : all) EXPECT_EQ(g.severity, Severity::Info) << g.verdict;
}

// NOT_SPECIFIED elsewhere than multicast input is no ordinary drop; a full socket buffer
// on the VPN's underlay is the tunnel's loss: each keeps its drops finding.
TEST(OrdinaryDrops, OthersStayFindingsOfTheirOwn) {
  Analysis a;
  for (int i = 0; i < 5; i++) a.on_journey(rx_drop(1'000'000 + i, 2, kTcpRcv), End::Freed);
  elsewhere(a, TL_DS_UNDERLAY, 6, kUdpQueue, 7);
  elsewhere(a, TL_DS_NETNS, 3, kTcpRcv, 2);
  const auto all = diagnose(info(), a);
  const auto drops = of_kind(all, FindingKind::Drops);
  ASSERT_EQ(drops.size(), 2u);
  const auto ordinary = of_kind(all, FindingKind::OrdinaryDrops);
  ASSERT_EQ(ordinary.size(), 1u);
  EXPECT_EQ(ordinary[0].evidence["count"], 2);
}
