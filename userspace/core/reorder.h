// Restores timestamp order across CPUs within a bounded window before correlation.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "event.h"

namespace tunlat {

// The kernel sends a packet's points together when its path ends, so events reach
// userspace out of order; but packets pass a device in order, so the events of one point
// arrive nearly in order. Each point gets a FIFO (an event out of order within it is
// inserted from the back, a short walk); events are released by merging the FIFOs' heads
// once no earlier event can still arrive (window). Memory: event rate times the window.
class Reorderer {
 public:
  explicit Reorderer(uint64_t window_ns) : window_ns_(window_ns) {}

  // Buffers e and calls out(ev) for every event that is now safe to release.
  template <class Out>
  void push(const Event& e, Out&& out) {
    if (released_any_ && e.ts_ns < last_released_) {
      late_++;  // arrived after its window closed: passed on as is, counted
      out(e);
      return;
    }
    size_t lane = e.point < kLanes ? e.point : kLanes - 1;
    if (fifos_.empty()) fifos_.resize(kLanes);
    std::deque<Event>& q = fifos_[lane];
    if (q.empty() || q.back().ts_ns <= e.ts_ns) {
      q.push_back(e);
    } else {
      auto it = q.end();
      while (it != q.begin() && std::prev(it)->ts_ns > e.ts_ns) --it;
      q.insert(it, e);
    }
    buffered_++;
    if (e.ts_ns > newest_) newest_ = e.ts_ns;
    release(newest_ >= window_ns_ ? newest_ - window_ns_ : 0, out);
  }

  // Releases everything (end of input).
  template <class Out>
  void flush(Out&& out) {
    release(UINT64_MAX, out);
  }

  uint64_t late() const { return late_; }
  size_t buffered() const { return buffered_; }

 private:
  // Releases, oldest first, every buffered event with ts <= until.
  template <class Out>
  void release(uint64_t until, Out& out) {
    while (buffered_) {
      std::deque<Event>* min = nullptr;
      for (auto& q : fifos_)
        if (!q.empty() && (!min || q.front().ts_ns < min->front().ts_ns)) min = &q;
      if (min->front().ts_ns > until) return;
      Event e = min->front();
      min->pop_front();
      buffered_--;
      last_released_ = e.ts_ns;
      released_any_ = true;
      out(e);
    }
  }

  static constexpr size_t kLanes = kPoints + 1;  // every point, and one for the rest
  uint64_t window_ns_;
  std::vector<std::deque<Event>> fifos_;  // by point
  size_t buffered_ = 0;
  uint64_t newest_ = 0, last_released_ = 0, late_ = 0;
  bool released_any_ = false;
};

}  // namespace tunlat
