// SPDX-License-Identifier: MIT
// RX ends (taken by a TCP socket, read, consumed), the stack/socket split, and threads under processes.
#include <gtest/gtest.h>

#include "core/diagnose/findings.h"
#include "core/pipeline.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr int kBacklog = 0, kStack = 1, kSocket = 2, kTotal = 3;  // kRxSpans

// Two threads of one process: Ev names a thread by its process's pid.
Event of_thread(Event e, uint32_t tid) {
  e.tid = tid;
  return e;
}

void feed_all(V1Pipeline& p, const std::vector<Event>& evs) {
  for (const Event& e : evs) p.push(e);
  p.flush();
}

}  // namespace

TEST(RxEnds, AnAckEndsWhereTcpConsumesIt) {
  // TCP frees a pure ACK with __kfree_skb (no tracepoint): its end is tcp_probe's `taken`.
  V1Pipeline p;
  for (const Event& e : {Event(Ev{100, 0xa0, 1, TL_INJECT, Dir::Rx, 0, 4252, "openvpn"}),
                         Event(Ev{110, 0xa0, 1, TL_RECEIVE, Dir::Rx}),
                         Event(Ev{130, 0xa0, 1, TL_TAKEN, Dir::Rx, 0, 0, "", TL_F_LAST | TL_F_CONSUMED})})
    p.push(e);
  // Ended at once, not held for the settled TTL: a packet at the same address is new.
  EXPECT_EQ(p.correlation().journeys, 1u);
  EXPECT_EQ(p.analysis().total(Dir::Rx).packets, 1u);
  p.flush();
  const DirStats& rx = p.analysis().total(Dir::Rx);
  EXPECT_EQ(rx.free_untraced, 0u);
  EXPECT_EQ(rx.spans[kBacklog].max(), 10 * kUs);
  EXPECT_EQ(rx.spans[kStack].max(), 20 * kUs);
  EXPECT_EQ(rx.spans[kSocket].count(), 0u);  // nothing to read
  EXPECT_EQ(rx.spans[kTotal].max(), 30 * kUs);
}

TEST(RxEnds, WaitingForTheReadIsSocketTimeOfTheReceiver) {
  V1Pipeline p;
  for (uint32_t i = 0; i < 20; i++) {
    uint64_t t = 1000 + i * 100'000, skb = 0xb000 + i * 0x100;
    for (const Event& e :
         {Event(Ev{t, skb, i + 1, TL_INJECT, Dir::Rx, 0, 4252, "openvpn"}),
          Event(Ev{t + 10, skb, i + 1, TL_RECEIVE, Dir::Rx}),
          Event(Ev{t + 30, skb, i + 1, TL_TAKEN, Dir::Rx}),
          Event(Ev{t + 50'030, skb, i + 1, TL_DELIVER, Dir::Rx, 1, 77, "sleepy", TL_F_LAST})})
      p.push(e);
  }
  p.flush();
  const DirStats& rx = p.analysis().total(Dir::Rx);
  EXPECT_EQ(rx.spans[kStack].max(), 20 * kUs);  // the stack is quick: the wait is not its
  EXPECT_EQ(rx.spans[kSocket].count(), 20u);
  EXPECT_EQ(rx.spans[kSocket].max(), 50'000 * kUs);
  EXPECT_EQ(rx.spans[kTotal].max(), 50'030 * kUs);
  ASSERT_EQ(rx.receivers.count(77), 1u);
  EXPECT_EQ(rx.receivers.at(77).comm, "sleepy");
  EXPECT_EQ(rx.receivers.at(77).packets, 20u);
  EXPECT_EQ(rx.procs.count(77), 0u);  // the writer is openvpn, not the reader
  std::string wait;                   // where RX packets wait longest, and who answers for it
  for (const Finding& f : diagnose(TraceInfo{}, p.analysis()))
    if (f.kind == FindingKind::Wait && f.where["direction"] == "rx") wait = f.verdict;
  EXPECT_NE(wait.find("socket"), std::string::npos) << wait;
  EXPECT_NE(wait.find("receiver sleepy (pid 77)"), std::string::npos) << wait;
}

TEST(RxEnds, DataTakenButNeverReadIsUnreadNotFreeUntraced) {
  // TCP merges a segment into the one queued before it: its read is never seen.
  V1Pipeline p;
  p.push(Ev{100, 0xc0, 1, TL_INJECT, Dir::Rx, 0, 4252, "openvpn"});
  p.push(Ev{110, 0xc0, 1, TL_RECEIVE, Dir::Rx});
  p.push(Ev{120, 0xc0, 1, TL_TAKEN, Dir::Rx});
  p.push(Ev{100'000'000, 0xd0, 2, TL_INJECT, Dir::Rx, 0, 4252, "openvpn"});  // long after: evicts
  p.flush();
  const DirStats& rx = p.analysis().total(Dir::Rx);
  EXPECT_EQ(rx.unread, 1u);
  EXPECT_EQ(rx.free_untraced, 0u);
  EXPECT_EQ(rx.spans[kStack].count(), 1u);
  EXPECT_EQ(rx.spans[kTotal].count(), 0u);  // its end is unknown: not the taken
}

TEST(RxEnds, ThreadsAreListedUnderTheirProcess) {
  V1Pipeline p;
  std::vector<Event> evs;
  for (uint32_t i = 0; i < 6; i++) {
    auto pk = tx_packet(1000 + i * 10, 0xe000 + i * 0x100, i + 1, 1, 5, 8030, "wireguard-go");
    uint32_t tid = i < 4 ? 8031 : 8030;
    for (auto& e : pk) evs.push_back(e.point == TL_READ || e.point == TL_FREE ? of_thread(e, tid) : e);
  }
  // A drop by one of its threads.
  evs.push_back(Ev{2000, 0xf000, 99, TL_QUEUE});
  evs.push_back(
      of_thread(Ev{2001, 0xf000, 99, TL_FREE, Dir::Tx, 1, 8030, "wireguard-go", TL_F_DROP, 2}, 8032));
  feed_all(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  ASSERT_EQ(tx.procs.size(), 1u);
  const ProcStat& wg = tx.procs.at(8030);
  EXPECT_EQ(wg.packets, 6u);
  ASSERT_EQ(wg.threads.size(), 2u);
  EXPECT_EQ(wg.threads.at(8031).packets, 4u);
  EXPECT_EQ(wg.threads.at(8030).packets, 2u);
  ASSERT_EQ(tx.drops.size(), 1u);
  const DropStat& d = tx.drops.begin()->second;
  EXPECT_EQ(d.pid, 8030u);
  ASSERT_EQ(d.threads.count(8032), 1u);
}
