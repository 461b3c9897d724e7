// SPDX-License-Identifier: MIT
// The reader's upgrade of older recording versions (core/record/upgrade.h).
#include "core/record/upgrade.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/pipeline.h"
#include "core/record/recording.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

// A version 1 file's meanings, upgraded in the reader: a point event's comm becomes a comm
// record, a segment naming its parent gets the parent's times as inherited events. Events
// the upgrade adds are flagged and not counted as seen.
TEST(Upgrade, Version1CommsAndSegmentParentsBecomeWhatVersion2Holds) {
  std::vector<Event> out;
  Upgrade up(1, [&](const Event& e) { out.push_back(e); });
  ASSERT_FALSE(up.none());
  Event parent = Ev{10, 0x900, 1, TL_QUEUE, Dir::Tx, 2, 5, "iperf3", TL_F_GSO};
  Event seg = Ev{12, 0xa00, 2, TL_XMIT, Dir::Tx, 3, 0, "", TL_F_SEGMENT, 0, 0x900, 1};
  up.entry()(parent);
  up.entry()(seg);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].point, TL_COMM);
  EXPECT_EQ(out[0].tid, 5u);
  EXPECT_STREQ(out[0].comm, "iperf3");
  EXPECT_TRUE(out[0].flags & TL_F_UPGRADE);
  EXPECT_EQ(out[1].point, TL_QUEUE);
  EXPECT_EQ(out[1].comm[0], 0);
  EXPECT_EQ(out[2].point, TL_QUEUE);  // the parent's, for the segment
  EXPECT_EQ(out[2].skb, 0xa00u);
  EXPECT_EQ(out[2].ts_ns, 10 * kUs);
  EXPECT_EQ(out[2].cpu, 2);
  EXPECT_EQ(out[2].flags, TL_F_SEGMENT | TL_F_INHERITED | TL_F_UPGRADE);
  EXPECT_EQ(out[3].point, TL_XMIT);
  EXPECT_EQ(out[3].parent_skb, 0u);

  Pipeline p;
  for (const Event& e : out) p.push(e);
  p.flush();
  EXPECT_EQ(p.seen(), 2u);  // the file's events
  EXPECT_EQ(p.correlation().segments, 1u);
  EXPECT_EQ(p.correlation().orphan_segments, 0u);

  EXPECT_TRUE(Upgrade(kRecordingVersion, [](const Event&) {}).none());
  EXPECT_TRUE(Upgrade(2, [](const Event&) {}).none());  // later versions only add kinds
}
