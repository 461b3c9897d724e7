// Restores timestamp order across CPUs within a bounded window before correlation.
#pragma once

#include <cstdint>
#include <deque>

#include "event.h"

namespace tunlat {

// Events from different CPUs reach userspace slightly out of order. The buffer holds
// them until no earlier event can still arrive (window), then releases them sorted.
// Memory is bounded by the event rate times the window.
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
    // Mostly in order already: insertion from the back is O(1) in the common case.
    auto it = buf_.end();
    while (it != buf_.begin() && std::prev(it)->ts_ns > e.ts_ns) --it;
    buf_.insert(it, e);
    if (e.ts_ns > newest_) newest_ = e.ts_ns;
    while (!buf_.empty() && buf_.front().ts_ns + window_ns_ <= newest_) release_front(out);
  }

  // Releases everything (end of input).
  template <class Out>
  void flush(Out&& out) {
    while (!buf_.empty()) release_front(out);
  }

  uint64_t late() const { return late_; }
  size_t buffered() const { return buf_.size(); }

 private:
  template <class Out>
  void release_front(Out& out) {
    Event e = buf_.front();
    buf_.pop_front();
    last_released_ = e.ts_ns;
    released_any_ = true;
    out(e);
  }

  uint64_t window_ns_;
  std::deque<Event> buf_;
  uint64_t newest_ = 0, last_released_ = 0, late_ = 0;
  bool released_any_ = false;
};

}  // namespace tunlat
