// SPDX-License-Identifier: MIT
// Packets over time in fixed bins: passes per point, packets waiting per span, latencies, drops.
#include "core/analyse/timeline.h"

#include <algorithm>

namespace tunlat {

// A span over several bins: its first and last bins get their part, the bins between a
// whole width each, through the difference array.
void Timeline::split_span(int di, size_t span, uint64_t from, uint64_t to, size_t b0, size_t b1) {
  bins_[b0].waiting_ns[di][span] += ((first_ + b0 + 1) << shift_) - from;
  bins_[b1].waiting_ns[di][span] += to - ((first_ + b1) << shift_);
  if (b1 > b0 + 1) {
    bins_[b0 + 1].spanning[di][span]++;
    bins_[b1].spanning[di][span]--;
  }
}

size_t Timeline::cover(uint64_t ts) {
  if (bins_.empty()) {
    first_ = ts >> shift_;
    bins_.resize(1);
    return 0;
  }
  for (;;) {
    const uint64_t b = ts >> shift_, last = first_ + bins_.size() - 1;
    const uint64_t lo = std::min(first_, b), hi = std::max(last, b);
    if (hi - lo < kMaxBins) break;
    coarsen();
  }
  const uint64_t b = ts >> shift_;
  if (b < first_) {
    bins_.insert(bins_.begin(), first_ - b, TimeBin{});
    first_ = b;
  } else if (b >= first_ + bins_.size()) {
    bins_.resize(b - first_ + 1);
  }
  return b - first_;
}

void Timeline::settle() {
  std::array<std::array<int64_t, kMaxSpans>, 2> within{};  // packets spanning the bin
  const uint64_t w = bin_ns();
  for (TimeBin& bin : bins_)
    for (int d = 0; d < 2; d++)
      for (size_t s = 0; s < kMaxSpans; s++) {
        within[d][s] += bin.spanning[d][s];
        bin.spanning[d][s] = 0;
        if (within[d][s] > 0) bin.waiting_ns[d][s] += static_cast<uint64_t>(within[d][s]) * w;
      }
}

void Timeline::coarsen() {
  settle();  // waiting_ns is in ns whatever the width: it merges by adding
  const uint64_t first = first_ >> 1, last = (first_ + bins_.size() - 1) >> 1;
  std::vector<TimeBin> out(last - first + 1);
  for (size_t i = 0; i < bins_.size(); i++) {
    const TimeBin& from = bins_[i];
    TimeBin& to = out[((first_ + i) >> 1) - first];
    for (int d = 0; d < 2; d++) {
      for (int p = 0; p < kPoints; p++) to.passed[d][p] += from.passed[d][p];
      for (size_t s = 0; s < kMaxSpans; s++) {
        to.waiting_ns[d][s] += from.waiting_ns[d][s];
        for (int r = 0; r < kHeatRows; r++) to.latency[d][s][r] += from.latency[d][s][r];
      }
      to.drops[d] += from.drops[d];
    }
  }
  bins_ = std::move(out);
  first_ = first;
  shift_++;
}

}  // namespace tunlat
