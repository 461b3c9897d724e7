// SPDX-License-Identifier: MIT
// RecordMerger: the per-CPU rings' records come out in the order they were sent.
#include <gtest/gtest.h>

#include <vector>

#include "core/ingest/record_merge.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

std::vector<uint64_t> times(const std::vector<Event>& evs) {
  std::vector<uint64_t> out;
  for (const Event& e : evs) out.push_back(e.ts_ns / kUs);
  return out;
}

}  // namespace

TEST(RecordMerger, PacketRecordsFromTwoCpusComeOutInTheOrderSent) {
  // An RX packet: inject+receive sent from CPU 0 at t=12, its delivery from CPU 1 at 30,
  // its free from CPU 1 at 31. A TX packet on CPU 1, sent at its free (t=20), overlaps.
  RecordMerger m(2);
  m.pending(1) = {Ev{5, 0xb, 2, TL_QUEUE},
                  Ev{9, 0xb, 2, TL_XMIT},
                  Ev{18, 0xb, 2, TL_READ},
                  Ev{20, 0xb, 2, TL_FREE},
                  Ev{30, 0xa, 1, TL_DELIVER, Dir::Rx},
                  Ev{31, 0xa, 1, TL_FREE, Dir::Rx}};
  m.pending(0) = {Ev{10, 0xa, 1, TL_INJECT, Dir::Rx}, Ev{12, 0xa, 1, TL_RECEIVE, Dir::Rx}};
  std::vector<Event> out;
  m.release(UINT64_MAX, [&](const Event& e) { out.push_back(e); });
  EXPECT_EQ(times(out), (std::vector<uint64_t>{10, 12, 5, 9, 18, 20, 30, 31}));
  EXPECT_EQ(m.waiting(), 0u);
}

TEST(RecordMerger, RecordsSentAfterTheWatermarkWaitForTheNextRelease) {
  RecordMerger m(2);
  m.pending(0) = {Ev{10, 0xa, 1, TL_INJECT, Dir::Rx}, Ev{12, 0xa, 1, TL_RECEIVE, Dir::Rx},
                  Ev{40, 0xc, 3, TL_QUEUE}, Ev{45, 0xc, 3, TL_FREE}};
  std::vector<Event> out;
  auto sink = [&](const Event& e) { out.push_back(e); };
  m.release(30 * kUs, sink);
  EXPECT_EQ(times(out), (std::vector<uint64_t>{10, 12}));
  EXPECT_EQ(m.waiting(), 2u);
  // CPU 1 publishes a record sent at 25, before the one still waiting on CPU 0.
  m.pending(1).push_back(Ev{25, 0xa, 1, TL_DELIVER, Dir::Rx});
  m.release(UINT64_MAX, sink);
  EXPECT_EQ(times(out), (std::vector<uint64_t>{10, 12, 25, 40, 45}));
}

TEST(RecordMerger, CommRecordsStandAlone) {
  // A comm record between two records of the same thread's packets keeps its place.
  RecordMerger m(1);
  Ev comm{7, 0, 0, TL_COMM};
  m.pending(0) = {Ev{5, 0xa, 1, TL_INJECT, Dir::Rx}, Ev{6, 0xa, 1, TL_RECEIVE, Dir::Rx}, comm,
                  Ev{8, 0xa, 1, TL_DELIVER, Dir::Rx}};
  std::vector<Event> out;
  m.release(UINT64_MAX, [&](const Event& e) { out.push_back(e); });
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2].point, TL_COMM);
}
