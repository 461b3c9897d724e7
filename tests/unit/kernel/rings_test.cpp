// SPDX-License-Identifier: MIT
// The ring layout the loader and the BPF writer share: sizes, and rings that never overlap.
#include <gtest/gtest.h>

#include "kernel/rings.h"

using namespace tunlat;

TEST(RingLayout, SpillRingsStayWithinTheirBudget) {
  EXPECT_EQ(RingLayout::for_cpus(1).spill_records, kSpillMax);
  EXPECT_EQ(RingLayout::for_cpus(2).spill_records, kSpillMax);  // 2 x 64 Ki x 128 B = 16 MiB
  EXPECT_EQ(RingLayout::for_cpus(4).spill_records, kSpillMax / 2);
  EXPECT_EQ(RingLayout::for_cpus(1024).spill_records, kSpillMin);  // never below the floor
  for (uint32_t ncpu : {1u, 2u, 3u, 8u, 64u}) {
    uint32_t n = RingLayout::for_cpus(ncpu).spill_records;
    EXPECT_EQ(n & (n - 1), 0u) << "a power of two: the writer masks the head";
    if (n > kSpillMin) {
      EXPECT_LE(size_t{n} * ncpu * sizeof(tl_record), kSpillBudget) << ncpu;
    }
  }
}

TEST(RingLayout, RingsTileTheRecordsArrayInOrder) {
  const RingLayout l = RingLayout::for_cpus(3);
  ASSERT_EQ(l.rings(), 9u);
  uint32_t next = 0;
  for (uint32_t r = 0; r < l.rings(); r++) {
    EXPECT_EQ(l.first(r), next) << "ring " << r << " starts where the one before ends";
    EXPECT_EQ(l.size(r), r % TL_RINGS_PER_CPU == TL_RING_SPILL ? l.spill_records : kRingRecords);
    next += l.size(r);
  }
  EXPECT_EQ(l.total_records(), next);
}
