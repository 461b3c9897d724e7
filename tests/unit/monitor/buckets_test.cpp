// SPDX-License-Identifier: MIT
// The monitor's histogram buckets (bpf/monitor.h): the BPF programs' integer function
// against the bounds the metrics state, and the width the issue asks for (<= 19 %).
#include <gtest/gtest.h>

#include <cmath>

#include "core/monitor/metrics.h"

using namespace tunlat;

TEST(MonitorBuckets, EverySpanFallsUnderItsBucketsBoundAndAboveThePrevious) {
  // Spans from 1 ns to past the last bound, at many points of each octave.
  for (double ns = 1; ns < 2e11; ns *= 1.013) {
    const uint64_t v = static_cast<uint64_t>(ns);
    const int b = static_cast<int>(tl_mon_bucket(v));
    ASSERT_GE(b, 0);
    ASSERT_LT(b, TL_MON_BUCKETS);
    const double s = static_cast<double>(v) / 1e9;
    EXPECT_LT(s, bucket_upper_seconds(b)) << v << " ns in bucket " << b;
    if (b > 0) {
      EXPECT_GE(s, bucket_upper_seconds(b - 1)) << v << " ns in bucket " << b;
    }
  }
}

TEST(MonitorBuckets, BoundsAreAQuarterOctaveApartFrom256nsToPast60s) {
  EXPECT_DOUBLE_EQ(bucket_upper_seconds(0), 256e-9);
  EXPECT_TRUE(std::isinf(bucket_upper_seconds(TL_MON_BUCKETS - 1)));
  EXPECT_GT(bucket_upper_seconds(TL_MON_BUCKETS - 2), 60.0);
  for (int b = 1; b < TL_MON_BUCKETS - 1; b++)
    EXPECT_LE(bucket_upper_seconds(b) / bucket_upper_seconds(b - 1), 1.19) << b;
  // The exact edges land where the thresholds say.
  EXPECT_EQ(tl_mon_bucket(255), 0u);
  EXPECT_EQ(tl_mon_bucket(256), 1u);
  EXPECT_EQ(tl_mon_bucket(511), 4u);
  EXPECT_EQ(tl_mon_bucket(512), 5u);
  EXPECT_EQ(tl_mon_bucket(uint64_t{1} << 36), static_cast<uint32_t>(TL_MON_BUCKETS - 1));
}
