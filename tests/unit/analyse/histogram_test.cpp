// SPDX-License-Identifier: MIT
// Histogram: quantiles within the promised relative error, exact min/max/mean, merging.
#include "core/analyse/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using tunlat::Histogram;

namespace {

uint64_t exact_quantile(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * v.size()));
  return v[std::max<size_t>(rank, 1) - 1];
}

}  // namespace

TEST(Histogram, QuantilesWithinFivePercentOverManyDecades) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(50'000.0), 2.5);  // ns: 1 µs .. seconds
  Histogram h;
  std::vector<uint64_t> values;
  for (int i = 0; i < 100'000; i++) {
    auto v = static_cast<uint64_t>(dist(rng)) + 1;
    values.push_back(v);
    h.add(v);
  }
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999}) {
    double want = static_cast<double>(exact_quantile(values, q));
    double got = static_cast<double>(h.quantile(q));
    EXPECT_NEAR(got, want, want * 0.05) << "q=" << q;
  }
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.count(), values.size());
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 64; v++) h.add(v);
  EXPECT_EQ(h.quantile(0.5), 31u);
  EXPECT_EQ(h.quantile(1.0), 63u);
  EXPECT_DOUBLE_EQ(h.mean(), 31.5);
}

TEST(Histogram, BucketBoundsContainTheirValues) {
  for (uint64_t v : {64ull, 65ull, 127ull, 128ull, 1'000'000ull, 123'456'789'012ull, ~0ull >> 1}) {
    int i = Histogram::index_of(v);
    EXPECT_LE(Histogram::lower_bound(i), v);
    EXPECT_GT(Histogram::upper_bound(i), v);
    // Width over lower bound bounds the relative error.
    double width = static_cast<double>(Histogram::upper_bound(i) - Histogram::lower_bound(i));
    EXPECT_LE(width / static_cast<double>(Histogram::lower_bound(i)), 1.0 / 32 + 1e-12);
  }
}

TEST(Histogram, MergeEqualsAddingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 7) (v % 2 ? a : b).add(v * 13), all.add(v * 13);
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.sum(), all.sum());
  EXPECT_EQ(a.quantile(0.9), all.quantile(0.9));
  EXPECT_EQ(a.max(), all.max());
}

TEST(Histogram, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.quantile(0.5), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}
