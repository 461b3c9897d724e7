// SPDX-License-Identifier: MIT
// Reorderer: restores timestamp order within its window, counts what comes too late.
#include "core/correlate/reorder.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/analyse/analysis.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

// A packet passing queue at t_us (the reorderer sees only time).
PointPass at(uint64_t t_us) { return PointPass{t_us * kUs, 0, TL_QUEUE, TL_TX, 0}; }

}  // namespace

TEST(Reorderer, SortsPointsFromTwoCpusWithinTheWindow) {
  Reorderer<PointPass> r(100 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const PointPass& p) { out.push_back(p.ts_ns / kUs); };
  // CPU 1's points arrive in a batch after CPU 0's.
  for (uint64_t t : {10, 30, 50, 20, 40, 60}) r.push(at(t), sink);
  r.flush(sink);
  EXPECT_EQ(out, (std::vector<uint64_t>{10, 20, 30, 40, 50, 60}));
  EXPECT_EQ(r.late(), 0u);
}

TEST(Reorderer, ReleasesOnlyWhatTheWindowHasClosedOn) {
  Reorderer<PointPass> r(100 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const PointPass& p) { out.push_back(p.ts_ns / kUs); };
  r.push(at(10), sink);
  r.push(at(50), sink);
  EXPECT_TRUE(out.empty());
  r.push(at(115), sink);  // closes the window on t=10 only
  EXPECT_EQ(out, (std::vector<uint64_t>{10}));
  EXPECT_EQ(r.buffered(), 2u);
}

TEST(Reorderer, CountsPointsOlderThanWhatWasReleased) {
  Reorderer<PointPass> r(10 * kUs);
  int n = 0;
  auto sink = [&](const PointPass&) { n++; };
  r.push(at(100), sink);
  r.push(at(200), sink);  // releases t=100
  r.push(at(50), sink);   // too late: passed on, counted
  EXPECT_EQ(r.late(), 1u);
  EXPECT_EQ(n, 2);
}

TEST(Reorderer, PacketsSentWhenTheirPathEndsComeOutInTimeOrder) {
  // The kernel sends a packet's points together at its free: the queue of packet 2 arrives
  // after the free of packet 1 although it happened earlier. Released in time order.
  Reorderer<PointPass> r(1000 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const PointPass& p) { out.push_back(p.ts_ns / kUs); };
  for (int i = 0; i < 50; i++) {
    uint64_t q = 10 + i * 20;  // a packet every 20 us, each 300 us in the ring
    for (const Event& e : tx_packet(q, 0x100 + i, i + 1, 1, 300)) {
      PointPass p;
      ASSERT_TRUE(PointPass::of(decoded<PacketPass>(e), p));
      r.push(p, sink);
    }
  }
  r.flush(sink);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  EXPECT_EQ(r.late(), 0u);
}

TEST(Reorderer, SortsAShuffledBucketAsWellAsANearlySortedOne) {
  // Nearly sorted input takes the insertion sort; a shuffled bucket exceeds its budget of
  // moves and goes to std::sort. Both must come out in order, nothing lost.
  for (bool shuffled : {false, true}) {
    Reorderer<PointPass> r(1000 * kUs);  // buckets of ~8 us: all 500 ns below in one
    std::vector<uint64_t> in, out;
    for (uint64_t t = 1; t <= 500; t++) in.push_back(t);
    if (shuffled)
      std::reverse(in.begin(), in.end());
    else
      std::swap(in[10], in[11]);
    auto sink = [&](const PointPass& p) { out.push_back(p.ts_ns); };
    for (uint64_t t : in) r.push(PointPass{t, 0, TL_QUEUE, TL_TX, 0}, sink);
    r.flush(sink);
    EXPECT_EQ(out.size(), in.size());
    EXPECT_TRUE(std::is_sorted(out.begin(), out.end())) << (shuffled ? "shuffled" : "nearly sorted");
  }
}

TEST(Reorderer, TimeMovingOnElsewhereReleasesAQuietStream) {
  // A rare point (its own stream) is released once another stream's time has moved a
  // window past it, not only when the next rare one comes.
  Reorderer<PointPass> r(100 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const PointPass& p) { out.push_back(p.ts_ns / kUs); };
  r.push(at(10), sink);
  r.advance(50 * kUs, sink);
  EXPECT_TRUE(out.empty());
  r.advance(200 * kUs, sink);
  EXPECT_EQ(out, (std::vector<uint64_t>{10}));
  r.push(at(150), sink);  // still inside the window: buffered, not late
  EXPECT_EQ(r.late(), 0u);
}
