// SPDX-License-Identifier: MIT
// Log-linear latency histogram: 32 linear sub-buckets per power of two (<= 1.6% error).
#pragma once

#include <cstdint>
#include <vector>

namespace tunlat {

class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr uint64_t kSub = 1ull << kSubBits;  // sub-buckets per power of two
  static constexpr int kBuckets = 2 * kSub + (64 - kSubBits - 1) * kSub;

  void add(uint64_t v) {  // inline: the hottest call of the analysis
    int i = index_of(v);
    if (i >= static_cast<int>(buckets_.size())) buckets_.resize(i + 1, 0);
    buckets_[i]++;
    count_++;
    sum_ += v;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
  }
  void merge(const Histogram& o);
  // What was added since `before` (an earlier copy of this histogram). min/max become
  // the bounds of the lowest/highest bucket used in between.
  Histogram minus(const Histogram& before) const;
  void clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value below which a fraction q of the samples lie (bucket midpoint, clamped to min/max).
  uint64_t quantile(double q) const;

  // Bucket access, for rendering.
  static int index_of(uint64_t v) {
    if (v < 2 * kSub) return static_cast<int>(v);
    int e = 63 - __builtin_clzll(v);  // floor(log2 v) >= kSubBits + 1
    int shift = e - kSubBits;
    return static_cast<int>(2 * kSub + (shift - 1) * kSub + ((v >> shift) - kSub));
  }
  static uint64_t lower_bound(int idx);
  static uint64_t upper_bound(int idx);  // exclusive
  uint64_t bucket(int idx) const { return idx < static_cast<int>(buckets_.size()) ? buckets_[idx] : 0; }
  int used_buckets() const { return static_cast<int>(buckets_.size()); }

 private:
  std::vector<uint64_t> buckets_;  // grows to the highest index used
  uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

}  // namespace tunlat
