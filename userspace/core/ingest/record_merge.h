// SPDX-License-Identifier: MIT
// Merges the records of the kernel's event rings into the order they were sent.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <tuple>
#include <vector>

#include "core/model/event.h"

namespace tunlat {

// The kernel writes a packet's points as one record (a run of its events, or a lone comm
// record) into a ring of the CPU it runs on, each ring's records in the order sent. An
// RX packet sends up to three records, from different CPUs: passing records on in the
// order they were sent (a record's last event is the moment it was sent) keeps each
// packet's records in the order of its path, which the correlator relies on.
class RecordMerger {
 public:
  explicit RecordMerger(uint32_t rings) : pending_(rings) {}

  // Where the events read from one ring go, in the order read.
  std::vector<Event>& pending(uint32_t ring) { return pending_[ring].events; }

  // Passes on, in the order sent, every record sent before `watermark`; later ones wait
  // for the next call (a ring may still publish a record sent just before the watermark).
  template <class Out>
  void release(uint64_t watermark, Out&& out) {
    using Next = std::tuple<uint64_t, uint32_t, size_t>;  // (sent at, ring, end of record)
    std::priority_queue<Next, std::vector<Next>, std::greater<>> next;
    auto push_next = [&](uint32_t c) {
      const Pending& p = pending_[c];
      if (p.next >= p.events.size()) return;
      size_t end = record_end(p.events, p.next);
      next.emplace(p.events[end - 1].ts_ns, c, end);
    };
    for (uint32_t c = 0; c < pending_.size(); c++) push_next(c);
    while (!next.empty()) {
      auto [sent, c, end] = next.top();
      if (sent >= watermark) break;
      next.pop();
      Pending& p = pending_[c];
      for (size_t i = p.next; i < end; i++) out(p.events[i]);
      p.next = end;
      push_next(c);
    }
    // Events held back move to the front only once they are fewer than those passed on:
    // each event moves at most once on average, not once per release.
    for (Pending& p : pending_) {
      if (p.next < p.events.size() - p.next) continue;
      p.events.erase(p.events.begin(), p.events.begin() + static_cast<long>(p.next));
      p.next = 0;
    }
  }

  size_t waiting() const {
    size_t n = 0;
    for (const Pending& p : pending_) n += p.events.size() - p.next;
    return n;
  }

 private:
  struct Pending {
    std::vector<Event> events;
    size_t next = 0;  // the first not passed on
  };

  static size_t record_end(const std::vector<Event>& ev, size_t i) {
    size_t j = i + 1;
    if (tl_lone_kind(ev[i].point)) return j;
    while (j < ev.size() && ev[j].skb == ev[i].skb && ev[j].gen == ev[i].gen && !tl_lone_kind(ev[j].point))
      j++;
    return j;
  }

  std::vector<Pending> pending_;
};

}  // namespace tunlat
