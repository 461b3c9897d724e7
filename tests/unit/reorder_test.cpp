// Reorderer: restores timestamp order within its window, counts what comes too late.
#include "core/reorder.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

TEST(Reorderer, SortsEventsFromTwoCpusWithinTheWindow) {
  Reorderer r(100 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const Event& e) { out.push_back(e.ts_ns / kUs); };
  // CPU 1's events arrive in a batch after CPU 0's.
  for (uint64_t t : {10, 30, 50, 20, 40, 60}) r.push(Ev{t, 1, 1, TL_QUEUE}, sink);
  r.flush(sink);
  EXPECT_EQ(out, (std::vector<uint64_t>{10, 20, 30, 40, 50, 60}));
  EXPECT_EQ(r.late(), 0u);
}

TEST(Reorderer, ReleasesOnlyWhatTheWindowHasClosedOn) {
  Reorderer r(100 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const Event& e) { out.push_back(e.ts_ns / kUs); };
  r.push(Ev{10, 1, 1, TL_QUEUE}, sink);
  r.push(Ev{50, 1, 1, TL_QUEUE}, sink);
  EXPECT_TRUE(out.empty());
  r.push(Ev{115, 1, 1, TL_QUEUE}, sink);  // closes the window on t=10 only
  EXPECT_EQ(out, (std::vector<uint64_t>{10}));
  EXPECT_EQ(r.buffered(), 2u);
}

TEST(Reorderer, CountsEventsOlderThanWhatWasReleased) {
  Reorderer r(10 * kUs);
  int n = 0;
  auto sink = [&](const Event&) { n++; };
  r.push(Ev{100, 1, 1, TL_QUEUE}, sink);
  r.push(Ev{200, 1, 1, TL_QUEUE}, sink);  // releases t=100
  r.push(Ev{50, 1, 1, TL_QUEUE}, sink);   // too late: passed on, counted
  EXPECT_EQ(r.late(), 1u);
  EXPECT_EQ(n, 2);
}

TEST(Reorderer, PacketsSentWhenTheirPathEndsComeOutInTimeOrder) {
  // The kernel sends a packet's points together at its free: the queue of packet 2 arrives
  // after the free of packet 1 although it happened earlier. Released in time order.
  Reorderer r(1000 * kUs);
  std::vector<uint64_t> out;
  auto sink = [&](const Event& e) { out.push_back(e.ts_ns / kUs); };
  for (int i = 0; i < 50; i++) {
    uint64_t q = 10 + i * 20;  // a packet every 20 us, each 300 us in the ring
    for (const Event& e : tx_packet(q, 0x100 + i, i + 1, 1, 300)) r.push(e, sink);
  }
  r.flush(sink);
  EXPECT_EQ(out.size(), 200u);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  EXPECT_EQ(r.late(), 0u);
}
