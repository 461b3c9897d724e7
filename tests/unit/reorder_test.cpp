// Reorderer: restores timestamp order within its window, counts what comes too late.
#include "core/reorder.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/analysis.h"
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
      ASSERT_TRUE(PointPass::of(e, p));
      r.push(p, sink);
    }
  }
  r.flush(sink);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  EXPECT_EQ(r.late(), 0u);
}
