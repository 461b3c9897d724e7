// Log-linear histogram: exact below 64, then 32 buckets per power of two.
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace tunlat {

int Histogram::index_of(uint64_t v) {
  if (v < 2 * kSub) return static_cast<int>(v);
  int e = 63 - __builtin_clzll(v);  // floor(log2 v) >= kSubBits + 1
  int shift = e - kSubBits;
  uint64_t m = v >> shift;  // in [kSub, 2*kSub)
  return static_cast<int>(2 * kSub + (shift - 1) * kSub + (m - kSub));
}

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

void Histogram::add(uint64_t v) {
  int i = index_of(v);
  if (i >= static_cast<int>(buckets_.size())) buckets_.resize(i + 1, 0);
  buckets_[i]++;
  count_++;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) {
  if (o.buckets_.size() > buckets_.size()) buckets_.resize(o.buckets_.size(), 0);
  for (size_t i = 0; i < o.buckets_.size(); i++) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
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
