// SPDX-License-Identifier: MIT
// Stalls told from polls of a stage's packets held and its last release.
#include <gtest/gtest.h>

#include "core/monitor/stall_watch.h"

using namespace tunlat;

namespace {
constexpr uint64_t kMs = 1'000'000;
}

TEST(StallWatch, AFlowingStageNeverStalls) {
  StallWatch w(200 * kMs);
  for (uint64_t t = 1; t < 100; t++) w.poll(t * 100 * kMs, 50, t * 100 * kMs - 3 * kMs);
  EXPECT_EQ(w.stalls(), 0u);
  EXPECT_EQ(w.stall_seconds(), 0.0);
}

TEST(StallWatch, AStoppedReaderIsOneStallAsLongAsItsSilence) {
  StallWatch w(200 * kMs);
  uint64_t t = 0;
  for (; t < 1000 * kMs; t += 100 * kMs) w.poll(t, 10, t);  // flowing
  const uint64_t stopped = t - 100 * kMs;                   // the last release
  for (; t < stopped + 1500 * kMs; t += 100 * kMs) w.poll(t, 200, stopped);
  EXPECT_TRUE(w.stalled());
  EXPECT_EQ(w.stalls(), 1u);
  const uint64_t resumed = stopped + 1500 * kMs;
  w.poll(resumed + 50 * kMs, 20, resumed);
  EXPECT_FALSE(w.stalled());
  EXPECT_EQ(w.stalls(), 1u);
  EXPECT_NEAR(w.stall_seconds(), 1.5, 1e-9) << "from the last release to the next";
}

TEST(StallWatch, AReleaseStampedAfterThePollsClockIsNoStall) {
  // The kernel's sums are read after the poll's clock: its last release may be later.
  StallWatch w(200 * kMs);
  w.poll(1000 * kMs, 30, 1000 * kMs + 200'000);
  w.poll(1100 * kMs, 30, 1100 * kMs + 300'000);
  EXPECT_EQ(w.stalls(), 0u);
}

TEST(StallWatch, PacketsHeldSinceBeforeTheFirstReleaseCountFromTheirPoll) {
  StallWatch w(200 * kMs);
  w.poll(100 * kMs, 0, 0);
  w.poll(200 * kMs, 5, 0);  // first seen here, nothing ever released
  w.poll(350 * kMs, 5, 0);
  EXPECT_EQ(w.stalls(), 0u) << "held 150 ms since first seen";
  w.poll(450 * kMs, 5, 0);
  EXPECT_EQ(w.stalls(), 1u);
  w.poll(550 * kMs, 0, 0);  // purged: the stall ends without a release
  EXPECT_FALSE(w.stalled());
  EXPECT_NEAR(w.stall_seconds(), 0.35, 1e-9);
}
