// SPDX-License-Identifier: MIT
// Reading the rings: every published record once, in ring order, across the wrap; and a
// queue that bounds what waits for the analysis.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "kernel/ring_reader.h"

using namespace tunlat;

namespace {

// A records array and its ring controls as the BPF writer lays them out.
struct FakeRings {
  RingLayout layout = RingLayout::for_cpus(2);
  std::vector<tl_ring_ctl> ctl = std::vector<tl_ring_ctl>(layout.rings());
  std::vector<tl_record> records = std::vector<tl_record>(layout.total_records());

  // The writer's side: n records into ring c, each marked with its sequence number.
  void write(uint32_t c, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
      tl_record r{};
      uint64_t seq = ctl[c].head;
      std::memcpy(&r, &seq, sizeof seq);
      std::memcpy(reinterpret_cast<char*>(&r) + sizeof seq, &c, sizeof c);
      records[layout.first(c) + (ctl[c].head & (layout.size(c) - 1))] = r;
      ctl[c].head++;
    }
  }
};

uint64_t seq_of(const tl_record& r) {
  uint64_t s;
  std::memcpy(&s, &r, sizeof s);
  return s;
}
uint32_t ring_of(const tl_record& r) {
  uint32_t c;
  std::memcpy(&c, reinterpret_cast<const char*>(&r) + sizeof(uint64_t), sizeof c);
  return c;
}

}  // namespace

TEST(RingReader, CopiesEachPublishedRecordOnceInRingOrderAcrossTheWrap) {
  FakeRings f;
  const uint32_t main0 = 0, spill1 = 1 * TL_RINGS_PER_CPU + TL_RING_SPILL;
  f.write(main0, kRingRecords - 10);
  RecordBatch first;
  copy_rings(f.layout, f.ctl.data(), f.records.data(), first);
  EXPECT_EQ(first.records.size(), kRingRecords - 10);
  EXPECT_EQ(f.ctl[main0].tail, f.ctl[main0].head) << "the slots are handed back";

  f.write(main0, 25);  // wraps past the ring's end
  f.write(spill1, 3);
  RecordBatch second;
  copy_rings(f.layout, f.ctl.data(), f.records.data(), second);
  ASSERT_EQ(second.runs.size(), 2u);
  EXPECT_EQ(second.runs[0].ring, main0);
  EXPECT_EQ(second.runs[1].ring, spill1);
  uint64_t want = kRingRecords - 10;
  std::vector<std::pair<uint32_t, uint64_t>> seen;
  second.for_each([&](uint32_t ring, const tl_record& r) {
    seen.push_back({ring, seq_of(r)});
    EXPECT_EQ(ring_of(r), ring);
  });
  ASSERT_EQ(seen.size(), 28u);
  for (int i = 0; i < 25; i++) EXPECT_EQ(seen[i], std::make_pair(main0, want + i));
  for (int i = 0; i < 3; i++) EXPECT_EQ(seen[25 + i], std::make_pair(spill1, uint64_t(i)));

  RecordBatch none;
  copy_rings(f.layout, f.ctl.data(), f.records.data(), none);
  EXPECT_TRUE(none.records.empty()) << "nothing is read twice";
  EXPECT_GT(none.read_at, 0u);
}

TEST(RingReader, QueueIsBoundedAndHandsOverEverythingQueued) {
  RecordQueue q(100);
  EXPECT_TRUE(q.pop_all(0).empty());
  for (int i = 0; i < 3; i++) {
    RecordBatch b = q.take_empty();
    b.read_at = i + 1;
    b.records.resize(40);
    b.runs.push_back({0, 40});
    EXPECT_FALSE(q.full()) << i;
    q.push(std::move(b));
  }
  EXPECT_TRUE(q.full()) << "120 records wait: the reader must leave the rest in the kernel";
  std::deque<RecordBatch> got = q.pop_all(1000);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].read_at, 1u);
  EXPECT_EQ(got[2].read_at, 3u);
  EXPECT_FALSE(q.full());
  q.recycle(std::move(got));
  RecordBatch reused = q.take_empty();
  EXPECT_TRUE(reused.records.empty() && reused.runs.empty()) << "a recycled batch comes back cleared";
  EXPECT_GE(reused.records.capacity(), 40u) << "with its memory";
}

TEST(RingReader, AnalysisIsWokenOnlyWhenManyRecordsWait) {
  RecordQueue q(1000, 50);
  RecordBatch few = q.take_empty();
  few.records.resize(40);
  few.runs.push_back({0, 40});
  q.push(std::move(few));
  // Below the threshold nothing wakes the analysis: its own wait ends, and takes them.
  EXPECT_EQ(q.pop_all(1).size(), 1u) << "records below the threshold are taken when the wait ends";
  // Above it, a push from another thread ends a wait that would otherwise last a minute.
  std::thread pusher([&] {
    for (int i = 0; i < 2; i++) {
      RecordBatch b = q.take_empty();
      b.records.resize(30);
      b.runs.push_back({0, 30});
      q.push(std::move(b));
    }
  });
  size_t got = 0;
  while (got < 2) got += q.pop_all(60'000).size();
  pusher.join();
  EXPECT_EQ(got, 2u);
}

TEST(RingReader, PeriodStretchesWhileRingsFillSlowlyAndShrinksWhenTheyFill) {
  const int min = 10;
  int p = min;
  for (int i = 0; i < 10; i++) p = RingReader::next_period(p, min, 10);
  EXPECT_EQ(p, RingReader::kMaxPeriodMs) << "a quiet device is read every kMaxPeriodMs";
  p = RingReader::next_period(p, min, kRingRecords / 2 + 1);
  EXPECT_EQ(p, RingReader::kMaxPeriodMs / 2) << "half a ring in one period halves it";
  for (int i = 0; i < 10; i++) p = RingReader::next_period(p, min, kRingRecords - 1);
  EXPECT_EQ(p, min) << "never below the minimum";
  EXPECT_EQ(RingReader::next_period(20, min, kRingRecords / 3), 20) << "between a quarter and half: kept";
}
