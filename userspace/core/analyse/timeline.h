// SPDX-License-Identifier: MIT
// Packets over time in fixed bins: passes per point, packets waiting per span, latencies, drops.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/model/event.h"

namespace tunlat {

// Latency rows of the heatmap: row r holds [2^(r+8), 2^(r+9)) ns; row 0 also holds
// anything under 256 ns and the last row anything from 2^35 ns (34 s) on.
inline constexpr int kHeatRows = 28;
inline constexpr int kHeatFirstLog2 = 8;
inline int heat_row(uint64_t ns) {
  int e = 63 - __builtin_clzll(ns | 1);
  return e < kHeatFirstLog2 ? 0 : (e - kHeatFirstLog2 >= kHeatRows ? kHeatRows - 1 : e - kHeatFirstLog2);
}

struct TimeBin {
  std::array<std::array<uint32_t, kPoints>, 2> passed{};  // [dir][point]
  // Packet-time spent in each span inside this bin, in ns: divided by the bin's width it
  // is the mean number of packets waiting there (Little's law: occupancy over time).
  std::array<std::array<uint64_t, kMaxSpans>, 2> waiting_ns{};
  // Packets that stayed in a span for the whole bin, as a difference array (+1 in the
  // bin after the one it entered, -1 in the one it left): a packet waiting seconds costs
  // O(1), not a write per bin. settle() folds it into waiting_ns.
  std::array<std::array<int32_t, kMaxSpans>, 2> spanning{};
  // Span latencies by the bin their span ended in, one count per heat row.
  std::array<std::array<std::array<uint32_t, kHeatRows>, kMaxSpans>, 2> latency{};
  std::array<uint32_t, 2> drops{};
};

// Memory is bounded: at most kMaxBins bins; when a trace outgrows them the bins double in
// width (pairs merge), so a long trace gets coarser, never bigger (~1 KiB per bin).
// Widths are powers of two ns (from 2^20 ns, about 1 ms) so that a bin is a shift away.
class Timeline {
 public:
  static constexpr size_t kMaxBins = 2048;
  static constexpr int kFirstShift = 20;

  void add_pass(Dir d, int point, uint64_t ts) {
    uint64_t b = (ts >> shift_) - first_;
    if (b >= bins_.size()) b = cover(ts);
    bins_[b].passed[static_cast<int>(d)][point]++;
  }
  // A packet's time in a span [from, to): its latency, and its packet-time per bin.
  // Inline: four calls per packet; the common case is one or two bins already there.
  void add_span(Dir d, size_t span, uint64_t from, uint64_t to) {
    uint64_t b0 = (from >> shift_) - first_, b1 = (to >> shift_) - first_;
    if (b0 >= bins_.size() || b1 >= bins_.size()) {
      cover(from);
      cover(to);  // may coarsen or grow at the front: indices only once both are covered
      b0 = (from >> shift_) - first_, b1 = (to >> shift_) - first_;
    }
    const int di = static_cast<int>(d);
    bins_[b1].latency[di][span][heat_row(to - from)]++;
    if (b0 == b1)
      bins_[b0].waiting_ns[di][span] += to - from;
    else
      split_span(di, span, from, to, b0, b1);
  }
  void add_drop(Dir d, uint64_t ts) { bins_[cover(ts)].drops[static_cast<int>(d)]++; }

  // Folds the difference arrays into waiting_ns; call before reading bins().
  void settle();
  bool empty() const { return bins_.empty(); }
  uint64_t bin_ns() const { return 1ull << shift_; }
  uint64_t start_ns() const { return first_ << shift_; }  // CLOCK_MONOTONIC of bins()[0]
  const std::vector<TimeBin>& bins() const { return bins_; }

 private:
  void split_span(int di, size_t span, uint64_t from, uint64_t to, size_t b0, size_t b1);
  size_t cover(uint64_t ts);  // grows (or coarsens) so that ts has a bin; returns it
  void coarsen();

  std::vector<TimeBin> bins_;
  uint64_t first_ = 0;  // ts >> shift_ of bins_[0]
  int shift_ = kFirstShift;
};

}  // namespace tunlat
