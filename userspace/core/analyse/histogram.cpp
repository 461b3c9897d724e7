// SPDX-License-Identifier: MIT
// Log-linear histogram: exact below 64, then 32 buckets per power of two.
#include "core/analyse/histogram.h"

#include <algorithm>
#include <cmath>

namespace tunlat {

uint64_t Histogram::lower_bound(int idx) {
  if (idx < static_cast<int>(2 * kSub)) return idx;
  int rel = idx - static_cast<int>(2 * kSub);
  int shift = rel / static_cast<int>(kSub) + 1;
  uint64_t m = kSub + rel % kSub;
  return m << shift;
}

uint64_t Histogram::upper_bound(int idx) {
  if (idx < static_cast<int>(2 * kSub)) return idx + 1;
  int shift = (idx - static_cast<int>(2 * kSub)) / static_cast<int>(kSub) + 1;
  return lower_bound(idx) + (1ull << shift);
}

void Histogram::merge(const Histogram& o) {
  if (o.buckets_.size() > buckets_.size()) buckets_.resize(o.buckets_.size(), 0);
  for (size_t i = 0; i < o.buckets_.size(); i++) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

Histogram Histogram::minus(const Histogram& before) const {
  Histogram d;
  d.buckets_ = buckets_;
  for (size_t i = 0; i < before.buckets_.size() && i < d.buckets_.size(); i++)
    d.buckets_[i] -= before.buckets_[i];
  d.count_ = count_ - before.count_;
  d.sum_ = sum_ - before.sum_;
  d.max_ = 0;
  for (size_t i = 0; i < d.buckets_.size(); i++) {
    if (!d.buckets_[i]) continue;
    d.min_ = std::min<uint64_t>(d.min_, std::max(lower_bound(static_cast<int>(i)), min_));
    d.max_ = std::min(upper_bound(static_cast<int>(i)) - 1, max_);
  }
  return d;
}

uint64_t Histogram::quantile(double q) const {
  if (!count_) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * count_));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); i++) {
    seen += buckets_[i];
    if (seen >= rank) {
      int idx = static_cast<int>(i);
      uint64_t lo = lower_bound(idx), hi = upper_bound(idx);
      uint64_t mid = lo + (hi - lo - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace tunlat
