// SPDX-License-Identifier: MIT
// The analysis' tables stay bounded whatever the events say (issue 19, case 3).
#include <gtest/gtest.h>

#include "core/pipeline.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {
struct Count : JourneySink {
  uint64_t evicted = 0;
  void on_journey(const Journey&, End how) override { evicted += how == End::Evicted; }
};
}  // namespace

TEST(Bounds, CorrelatorEvictsTheOldestBeyondItsLimitAndCounts) {
  Count sink;
  Correlator c(sink, 10'000'000'000, 1'000'000'000, 4);
  for (uint32_t i = 1; i <= 10; i++) c.push(Ev{100, 0x100 * i, i, TL_QUEUE});  // never freed
  c.push(Ev{100, 0x9999, 99, TL_QUEUE});
  EXPECT_LE(c.live(), 5u);
  EXPECT_EQ(c.stats().evicted_by_limit, 6u);
  EXPECT_EQ(sink.evicted, 6u);
  EXPECT_EQ(c.stats().max_live, 4u);
}

TEST(Bounds, ReordererReleasesEarlyBeyondItsLimit) {
  Reorderer<PointPass> r(100'000'000, 8);
  uint64_t out = 0;
  for (int i = 0; i < 1000; i++) {
    r.push(PointPass{5, 0, TL_QUEUE, TL_TX, 0}, [&](const PointPass&) { out++; });  // time stands still
    ASSERT_LE(r.buffered(), 8u);
  }
  r.flush([&](const PointPass&) { out++; });
  EXPECT_EQ(out, 1000u);  // nothing lost: released early, then passed on as late
}

TEST(Bounds, ProcessesDropsAndCpusAreCapped) {
  Pipeline p;
  for (uint32_t i = 1; i <= 3000; i++) {
    Event q = Ev{1000 + i, 0x100 * i, i, TL_QUEUE};
    q.cpu = static_cast<uint16_t>(60000 + i);
    p.push(q);
    p.push(Ev{1001 + i, 0x100 * i, i, TL_READ, Dir::Tx, 0, i, "r"});
    Event f = Ev{1002 + i, 0x100 * i, i, TL_FREE, Dir::Tx, 0, i, "r", TL_F_DROP, static_cast<int32_t>(i)};
    f.aux = i;
    p.push(f);
  }
  p.flush();
  const DirStats& tx = p.analysis().total(Dir::Tx);
  EXPECT_EQ(tx.procs.size(), kMaxProcs + 1);
  EXPECT_EQ(tx.procs.at(kOtherPids).packets, 3000 - kMaxProcs);
  EXPECT_EQ(tx.procs.at(kOtherPids).comm, "(other processes)");
  EXPECT_EQ(tx.drops.size(), kMaxDropKeys + 1);
  EXPECT_EQ(tx.drops.at(kOtherDrops).count, 3000 - kMaxDropKeys);
  EXPECT_EQ(tx.cpus[TL_QUEUE].size(), kMaxCpus);
  EXPECT_EQ(tx.cpus[TL_QUEUE][kMaxCpus - 1], 3000u);
}
