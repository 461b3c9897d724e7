// SPDX-License-Identifier: MIT
// Correlation and analysis on synthetic streams: the kernel facts of docs/design.md, one by one.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/pipeline.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr int kQdisc = 0, kRing = 1, kCopy = 2, kTotal = 3;  // kTxSpans
constexpr int kBacklog = 0, kStack = 1;                      // kRxSpans

void feed(V1Pipeline& p, const std::vector<Event>& evs) {
  for (const Event& e : evs) p.push(e);
  p.flush();
}

std::vector<Event> concat(std::initializer_list<std::vector<Event>> parts) {
  std::vector<Event> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST(Correlator, TxSpansOfOnePacket) {
  V1Pipeline p;
  feed(p, tx_packet(1000, 0xa0, 1, 5, 300));
  const DirStats& tx = p.analysis().total(Dir::Tx);
  ASSERT_EQ(tx.packets, 1u);
  EXPECT_EQ(tx.spans[kQdisc].max(), 5 * kUs);
  EXPECT_EQ(tx.spans[kRing].max(), 300 * kUs);
  EXPECT_EQ(tx.spans[kCopy].max(), 2 * kUs);
  EXPECT_EQ(tx.spans[kTotal].max(), 305 * kUs);
  ASSERT_EQ(tx.procs.count(4252), 1u);
  EXPECT_EQ(tx.procs.at(4252).comm, "openvpn");
  EXPECT_EQ(tx.procs.at(4252).packets, 1u);
  EXPECT_EQ(p.correlation().evicted, 0u);
}

TEST(Correlator, AddressReuseKeepsPacketsApart) {
  // The same skb address is freed and reused at once; generations tell the packets apart.
  V1Pipeline p;
  std::vector<Event> evs = {Ev{1, 0xbeef, 1, TL_QUEUE},   Ev{1, 0xbeef, 1, TL_XMIT},
                            Ev{101, 0xbeef, 1, TL_READ},  Ev{102, 0xbeef, 1, TL_FREE},
                            Ev{103, 0xbeef, 2, TL_QUEUE}, Ev{104, 0xbeef, 2, TL_XMIT},
                            Ev{1104, 0xbeef, 2, TL_READ}, Ev{1105, 0xbeef, 2, TL_FREE}};
  feed(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  ASSERT_EQ(tx.packets, 2u);
  EXPECT_EQ(tx.spans[kRing].min(), 100 * kUs);
  EXPECT_EQ(tx.spans[kRing].max(), 1000 * kUs);
}

TEST(Correlator, PacketsArrivingWhenTheirPathEndsGiveTheTimeOrderAnswer) {
  // What userspace receives: a packet's points together, in one record sent when its path
  // ends (TX: its free; RX: receive, then taken, deliver and free in records of their own), the
  // records in the order they were sent. Packets overlap, so arrival is not time order.
  std::vector<Event> ordered;
  std::vector<std::pair<uint64_t, std::vector<Event>>> records;  // (sent at, events)
  for (int i = 0; i < 200; i++) {
    auto pk = tx_packet(1000 + i * 50, 0x1000 + (i % 7) * 0x100, i + 1, 3 + i % 5, 100 + (i * 37) % 900);
    pk[2].cpu = pk[3].cpu = 1;  // the reader runs on the other CPU
    ordered.insert(ordered.end(), pk.begin(), pk.end());
    records.emplace_back(pk.back().ts_ns, pk);
    uint64_t t = 1020 + i * 50, skb = 0x9000 + (i % 5) * 0x100;
    uint32_t gen = 1000 + i;
    std::vector<Event> rx = {Ev{t, skb, gen, TL_INJECT, Dir::Rx, 0, 4252, "openvpn"},
                             Ev{t + 7, skb, gen, TL_RECEIVE, Dir::Rx},
                             Ev{t + 12, skb, gen, TL_TAKEN, Dir::Rx},
                             Ev{t + 30 + i % 50, skb, gen, TL_DELIVER, Dir::Rx, 1, 77, "iperf3"},
                             Ev{t + 31 + i % 50, skb, gen, TL_FREE, Dir::Rx, 1, 77, "iperf3"}};
    ordered.insert(ordered.end(), rx.begin(), rx.end());
    records.emplace_back(rx[1].ts_ns, std::vector<Event>{rx[0], rx[1]});
    records.emplace_back(rx[2].ts_ns, std::vector<Event>{rx[2]});
    records.emplace_back(rx[3].ts_ns, std::vector<Event>{rx[3]});
    records.emplace_back(rx[4].ts_ns, std::vector<Event>{rx[4]});
  }
  std::sort(ordered.begin(), ordered.end(), [](auto& a, auto& b) { return a.ts_ns < b.ts_ns; });
  std::stable_sort(records.begin(), records.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<Event> arrived;
  for (auto& [at, evs] : records) arrived.insert(arrived.end(), evs.begin(), evs.end());
  ASSERT_FALSE(
      std::is_sorted(arrived.begin(), arrived.end(), [](auto& a, auto& b) { return a.ts_ns < b.ts_ns; }));
  V1Pipeline in_order, as_sent;
  feed(in_order, ordered);
  feed(as_sent, arrived);
  EXPECT_EQ(as_sent.late(), 0u);
  EXPECT_EQ(as_sent.correlation().evicted, 0u);
  for (Dir d : kDirs) {
    const DirStats &a = in_order.analysis().total(d), &b = as_sent.analysis().total(d);
    EXPECT_EQ(b.packets, 200u);
    EXPECT_EQ(b.negative, 0u);
    for (size_t s = 0; s < spans_of(d).size(); s++) {
      EXPECT_EQ(b.spans[s].count(), 200u);
      EXPECT_EQ(a.spans[s].quantile(0.5), b.spans[s].quantile(0.5));
      EXPECT_EQ(a.spans[s].max(), b.spans[s].max());
    }
    for (int pt = 0; pt < kPoints; pt++) {
      EXPECT_EQ(a.passed[pt], b.passed[pt]);
      EXPECT_EQ(a.gaps[pt].count(), b.gaps[pt].count());
      EXPECT_EQ(a.gaps[pt].quantile(0.5), b.gaps[pt].quantile(0.5));
    }
  }
}

TEST(Correlator, QdiscBypassAndQueuedPacketsBothMeasured) {
  // pfifo_fast bypass: no enqueue/dequeue, qdisc span tiny. A tbf: enqueue, dequeue, long wait.
  V1Pipeline p;
  std::vector<Event> evs =
      concat({tx_packet(10, 0xa0, 1, 1, 10),
              {Ev{100, 0xb0, 2, TL_QUEUE}, Ev{101, 0xb0, 2, TL_ENQUEUE}, Ev{20101, 0xb0, 2, TL_DEQUEUE},
               Ev{20102, 0xb0, 2, TL_XMIT}, Ev{20110, 0xb0, 2, TL_READ}, Ev{20111, 0xb0, 2, TL_FREE}}});
  feed(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  ASSERT_EQ(tx.packets, 2u);
  EXPECT_EQ(tx.spans[kQdisc].min(), 1 * kUs);
  EXPECT_EQ(tx.spans[kQdisc].max(), 20002 * kUs);
  EXPECT_EQ(tx.passed[TL_ENQUEUE], 1u);
  EXPECT_EQ(tx.passed[TL_QUEUE], 2u);
}

TEST(Correlator, GsoSegmentsInheritTheirParentsQueueTime) {
  // A GSO skb waits 30 ms in a qdisc, is segmented after dequeue (parent freed), and only
  // its segments, with new addresses, reach the driver.
  V1Pipeline p;
  std::vector<Event> evs;
  evs.push_back(Ev{1, 0x900, 1, TL_QUEUE, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, 4400});
  evs.push_back(Ev{2, 0x900, 1, TL_ENQUEUE});
  evs.push_back(Ev{30000, 0x900, 1, TL_DEQUEUE});
  evs.push_back(Ev{30001, 0x900, 1, TL_FREE});  // consumed by segmentation
  for (int s = 0; s < 3; s++) {
    uint64_t skb = 0x910 + s * 0x10, t = 30002 + s;
    evs.push_back(Ev{t, skb, 10u + s, TL_XMIT, Dir::Tx, 0, 0, "", TL_F_SEGMENT, 0, 0x900, 1, 1448});
    evs.push_back(Ev{t + 100, skb, 10u + s, TL_READ, Dir::Tx, 1, 77, "vpn"});
    evs.push_back(Ev{t + 101, skb, 10u + s, TL_FREE, Dir::Tx, 1, 77, "vpn"});
  }
  feed(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  EXPECT_EQ(tx.packets, 3u);  // the segments, not the parent
  EXPECT_EQ(tx.bytes, 3u * 1448);
  EXPECT_EQ(tx.gso_parents, 1u);
  EXPECT_EQ(tx.segments, 3u);
  EXPECT_EQ(p.correlation().orphan_segments, 0u);
  EXPECT_EQ(tx.spans[kQdisc].count(), 3u);
  EXPECT_EQ(tx.spans[kQdisc].min(), 30001 * kUs);  // not "qdisc is free"
  EXPECT_EQ(tx.spans[kTotal].max(), 30103 * kUs);
}

TEST(Correlator, DroppedPacketIsCountedWithReasonAndLocation) {
  V1Pipeline p;
  std::vector<Event> evs = {Ev{1, 0xd0, 1, TL_QUEUE}, Ev{1, 0xd0, 1, TL_XMIT},
                            Ev{2, 0xd0, 1, TL_FREE, Dir::Tx, 0, 9, "iperf3", TL_F_DROP, 42}};
  evs.back().aux = 0xffffffff81234567ull;
  feed(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  EXPECT_EQ(tx.packets, 1u);
  EXPECT_EQ(tx.dropped, 1u);
  auto it = tx.drops.find({42, 0xffffffff81234567ull});
  ASSERT_NE(it, tx.drops.end());
  EXPECT_EQ(it->second.count, 1u);
  EXPECT_EQ(it->second.comm, "iperf3");
  EXPECT_EQ(tx.spans[kRing].count(), 0u);  // never read
}

TEST(Correlator, PacketWhoseFreeNeverArrivesIsEvictedAndCounted) {
  PipelineOptions o;
  o.ttl_ns = 1'000'000'000;  // 1 s
  V1Pipeline p(o);
  // Packet 0xe0 reaches the reader, but its free is lost.
  p.push(Ev{1, 0xe0, 1, TL_QUEUE});
  p.push(Ev{2, 0xe0, 1, TL_XMIT});
  // Packet 0xe1 is queued and never seen again.
  p.push(Ev{2, 0xe1, 2, TL_QUEUE});
  // Traffic goes on for 3 s: the sweep must evict both and keep memory flat.
  for (int i = 0; i < 30; i++)
    for (const Event& e : tx_packet(100'000 * (i + 1), 0xf0, 100 + i, 1, 1)) p.push(e);
  EXPECT_EQ(p.correlation().evicted, 2u);
  p.flush();
  const DirStats& tx = p.analysis().total(Dir::Tx);
  EXPECT_EQ(tx.evicted, 2u);
  EXPECT_EQ(tx.packets, 32u);
  EXPECT_LE(p.correlation().max_live, 4u);  // bounded by packets in flight
}

TEST(Correlator, RxWriterDeliveryAndUdpChecksumFallback) {
  V1Pipeline p;
  std::vector<Event> evs = {
      // Written by pid 4254, received, copied out by an application.
      Ev{1, 0x500, 1, TL_INJECT, Dir::Rx, 0, 4254, "openvpn"}, Ev{3, 0x500, 1, TL_RECEIVE, Dir::Rx},
      Ev{50, 0x500, 1, TL_DELIVER, Dir::Rx, 1, 99, "iperf3"},
      Ev{51, 0x500, 1, TL_FREE, Dir::Rx, 1, 99, "iperf3"},
      // A UDP receiver copying with checksum: no deliver event, its free stands in.
      Ev{100, 0x600, 2, TL_INJECT, Dir::Rx, 0, 4254, "openvpn"}, Ev{104, 0x600, 2, TL_RECEIVE, Dir::Rx},
      Ev{180, 0x600, 2, TL_FREE, Dir::Rx, 1, 99, "iperf3"}};
  feed(p, evs);
  const DirStats& rx = p.analysis().total(Dir::Rx);
  EXPECT_EQ(rx.packets, 2u);
  EXPECT_EQ(rx.spans[kBacklog].max(), 4 * kUs);  // 3 - 1 and 104 - 100
  EXPECT_EQ(rx.spans[kStack].min(), 47 * kUs);
  EXPECT_EQ(rx.spans[kStack].max(), 76 * kUs);
  ASSERT_EQ(rx.procs.count(4254), 1u);
  EXPECT_EQ(rx.procs.at(4254).packets, 2u);
  EXPECT_EQ(p.analysis().total(Dir::Tx).packets, 0u);
}

TEST(Correlator, RxPacketWithoutTracedFreeIsNotAnEviction) {
  // TCP frees pure ACKs with __kfree_skb (no tracepoint): after receive, silence is normal.
  PipelineOptions o;
  o.settled_ttl_ns = 100'000'000;
  V1Pipeline p(o);
  p.push(Ev{1, 0x700, 1, TL_INJECT, Dir::Rx, 0, 1, "vpn"});
  p.push(Ev{2, 0x700, 1, TL_RECEIVE, Dir::Rx});
  // One second of other traffic: the periodic sweep runs and ends the silent packet.
  for (int i = 0; i < 10; i++) p.push(Ev{100'000u * (i + 1), 0x800, 10u + i, TL_INJECT, Dir::Rx});
  p.flush();
  const DirStats& rx = p.analysis().total(Dir::Rx);
  EXPECT_EQ(rx.evicted, 0u);
  EXPECT_EQ(rx.free_untraced, 1u);
}

TEST(Correlator, PacingGapsPerPoint) {
  // Sender paces at 10 ms (ping -f style): gaps are 10 ms at queue and at read.
  V1Pipeline p;
  std::vector<Event> evs;
  for (int i = 0; i < 50; i++) {
    auto pk = tx_packet(1 + 10'000 * i, 0x100 + i, i + 1, 1, 20);
    evs.insert(evs.end(), pk.begin(), pk.end());
  }
  feed(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  EXPECT_EQ(tx.gaps[TL_QUEUE].count(), 49u);
  EXPECT_NEAR(static_cast<double>(tx.gaps[TL_QUEUE].quantile(0.5)), 10'000.0 * kUs, 10'000.0 * kUs * 0.05);
  EXPECT_NEAR(static_cast<double>(tx.gaps[TL_READ].quantile(0.5)), 10'000.0 * kUs, 10'000.0 * kUs * 0.05);
}

TEST(Correlator, CommIsRememberedByThread) {
  // The kernel sends a thread's comm once per CPU; later events of that thread carry none.
  V1Pipeline p;
  std::vector<Event> evs =
      concat({tx_packet(10, 0xa0, 1, 1, 10, 77, "openvpn"), tx_packet(100, 0xb0, 2, 1, 10, 77, "")});
  feed(p, evs);
  const DirStats& tx = p.analysis().total(Dir::Tx);
  ASSERT_EQ(tx.procs.count(77), 1u);
  EXPECT_EQ(tx.procs.at(77).comm, "openvpn");
  EXPECT_EQ(tx.procs.at(77).packets, 2u);
}

TEST(Correlator, SegmentsCarryingTheirParentsTimesNeedNoParent) {
  // The kernel copies the parent's queue time into each segment (flagged inherited): the
  // segment is complete even when the parent's own events are missing, and the copies are
  // not packets passing `queue`.
  V1Pipeline p;
  for (uint32_t s = 0; s < 2; s++) {
    uint64_t skb = 0x910 + s * 0x10;
    uint32_t gen = 10 + s;
    p.push(Ev{5, skb, gen, TL_QUEUE, Dir::Tx, 0, 0, "", TL_F_SEGMENT | TL_F_INHERITED, 0, 0x900, 1, 1448});
    p.push(Ev{40 + s, skb, gen, TL_XMIT});
    p.push(Ev{140 + s, skb, gen, TL_READ, Dir::Tx, 1, 77, "vpn"});
    p.push(Ev{141 + s, skb, gen, TL_FREE, Dir::Tx, 1, 77, "vpn"});
  }
  p.flush();
  const DirStats& tx = p.analysis().total(Dir::Tx);
  EXPECT_EQ(tx.packets, 2u);
  EXPECT_EQ(tx.segments, 2u);
  EXPECT_EQ(p.correlation().orphan_segments, 0u);
  EXPECT_EQ(tx.spans[kQdisc].min(), 35 * kUs);
  EXPECT_EQ(tx.passed[TL_QUEUE], 0u);  // copies, not passages
  EXPECT_EQ(tx.passed[TL_XMIT], 2u);
}
