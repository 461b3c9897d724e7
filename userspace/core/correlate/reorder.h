// SPDX-License-Identifier: MIT
// Restores timestamp order within a bounded window (pacing needs its points in order).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace tunlat {

// Events reach userspace out of order: the kernel sends a packet's points together when
// its path ends, and CPUs interleave. Items (anything with a ts_ns and a reorder_before)
// go into time buckets (a ring covering the window); a bucket is sorted and released once
// no earlier item can still arrive, i.e. when the newest item seen is a window past its
// end. O(1) per item plus the sort of small buckets: linear when a bucket is nearly
// sorted already, as a stream of one point's passes is. Memory: item rate times the window.
template <class Item>
class Reorderer {
 public:
  // max_buffered: items held at most; beyond it the oldest bucket is released early (a
  // rate above max_buffered per window, or a file whose time stands still), and what
  // then comes for it is passed on as late.
  explicit Reorderer(uint64_t window_ns, size_t max_buffered = SIZE_MAX)
      : window_ns_(window_ns),
        max_buffered_(std::max<size_t>(max_buffered, 1)),
        shift_(floor_log2(std::max<uint64_t>(window_ns / kBuckets, 1))),
        ring_(ceil_pow2((window_ns >> shift_) + 2)),
        mask_(ring_.size() - 1) {}

  // Buffers e and calls out(item) for every item that is now safe to release.
  template <class Out>
  void push(const Item& e, Out&& out) {
    uint64_t b = e.ts_ns >> shift_;
    if (!started_) base_ = b, started_ = true;
    if (e.ts_ns > newest_) {
      advance(e.ts_ns, out);
      // The ring is smaller than the jump ahead: release the buckets in the way.
      if (b >= base_ + ring_.size()) release(b - ring_.size() + 1, out);
    }
    if (b < base_) {
      late_++;  // its bucket was released already: passed on as is, counted
      out(e);
      return;
    }
    ring_[b & mask_].push_back(e);
    buffered_++;
    while (buffered_ > max_buffered_) release_bucket(out);
  }

  // Time has reached `now` elsewhere (another stream): releases what the window closed on.
  template <class Out>
  void advance(uint64_t now, Out&& out) {
    if (now <= newest_) return;
    newest_ = now;
    if (started_) release((now >= window_ns_ ? now - window_ns_ : 0) >> shift_, out);
  }

  // Releases everything (end of input).
  template <class Out>
  void flush(Out&& out) {
    while (buffered_) release_bucket(out);
  }

  uint64_t late() const { return late_; }
  size_t buffered() const { return buffered_; }

 private:
  // At least this many buckets per window; buckets are a power of two ns wide and the
  // ring a power of two long, so placing an item takes a shift and a mask.
  static constexpr uint64_t kBuckets = 64;
  static constexpr size_t kKeptCapacity = 256;
  static int floor_log2(uint64_t x) { return 63 - __builtin_clzll(x); }
  static size_t ceil_pow2(uint64_t x) { return size_t{1} << (64 - __builtin_clzll(x - 1)); }

  // Releases every bucket below index `end`.
  template <class Out>
  void release(uint64_t end, Out& out) {
    while (base_ < end) {
      if (!buffered_) {
        base_ = end;  // nothing buffered: skip the empty stretch at once
        return;
      }
      release_bucket(out);
    }
  }

  template <class Out>
  void release_bucket(Out& out) {
    std::vector<Item>& v = ring_[base_ & mask_];
    sort_nearly_sorted(v);
    for (const Item& e : v) out(e);
    buffered_ -= v.size();
    v.clear();
    // A bucket keeps its capacity for the next round, unless a burst made it large: then
    // every bucket of the ring could end up that large.
    if (v.capacity() > kKeptCapacity) std::vector<Item>().swap(v);
    base_++;
  }

  // Insertion sort, which is linear on a nearly sorted bucket; one found to be shuffled
  // after all (more than a few moves per item) goes to std::sort.
  static void sort_nearly_sorted(std::vector<Item>& v) {
    auto before = [](const Item& a, const Item& b) { return reorder_before(a, b); };
    size_t budget = 4 * v.size();
    for (size_t i = 1; i < v.size(); i++) {
      if (!before(v[i], v[i - 1])) continue;
      Item x = v[i];
      size_t j = i;
      for (; j > 0 && before(x, v[j - 1]); j--) v[j] = v[j - 1];
      v[j] = x;
      if ((budget -= std::min(budget, i - j)) == 0) {
        std::sort(v.begin(), v.end(), before);
        return;
      }
    }
  }

  uint64_t window_ns_;
  size_t max_buffered_;
  int shift_;                            // bucket of t: t >> shift_
  std::vector<std::vector<Item>> ring_;  // bucket b lives at ring_[b & mask_]
  size_t mask_;
  uint64_t base_ = 0;  // the oldest bucket not released
  bool started_ = false;
  size_t buffered_ = 0;
  uint64_t newest_ = 0, late_ = 0;
};

}  // namespace tunlat
