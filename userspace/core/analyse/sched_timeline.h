// SPDX-License-Identifier: MIT
// Per-thread scheduler state timelines of the device's owners, from TL_SCHED events.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>

#include "core/analyse/histogram.h"
#include "core/model/records.h"

namespace tunlat {

// The states a packet's wait is split by: tl_task_state, plus "unknown" (before the
// thread's first state change was seen).
inline constexpr int kTaskStates = TL_TS_COUNT + 1;
inline constexpr int kStateUnknown = TL_TS_COUNT;
std::string_view task_state_name(int s);  // running, runnable, sleeping, stopped, exited, unknown

// A thread's state from ts_ns on. other: the task that ran instead while it was runnable
// (preempted: the one that took its CPU; woken: the one it waited behind), else 0.
struct StateChange {
  uint64_t ts_ns = 0;
  uint32_t other = 0;
  uint16_t cpu = 0;
  uint8_t state = kStateUnknown;
  uint8_t flags = 0;  // TL_SF_*
  // Time in each state from the thread's first change to this one: a wait's split is
  // then two lookups, however often the thread switched meanwhile.
  std::array<uint64_t, kTaskStates> cum{};
};

struct ThreadSched {
  uint32_t pid = 0;                          // its process (tgid)
  std::deque<StateChange> changes;           // in time order, the last kKeepNs (and the one before)
  std::array<uint64_t, kTaskStates> time{};  // ns in each state over the trace
  std::map<uint16_t, uint64_t> running_on;   // ns running per CPU
  uint64_t switches = 0, preemptions = 0, wakeups = 0;
  Histogram sleeps;       // lengths of its interruptible sleeps (poll, epoll, a timer)
  uint64_t first_ts = 0;  // its first state change
  // Its state before that: running if the first change took it off a CPU, else unknown.
  uint8_t initial = kStateUnknown;
  bool finished = false;
  // Where the last split's wait ended in changes: waits come in nearly time order, so
  // the next search starts there instead of halving ~10 s of history (cache misses).
  mutable size_t hint = 0;
};

// Time in each state over an interval, and who ran instead while runnable (tid -> ns).
struct StateSplit {
  std::array<uint64_t, kTaskStates> ns{};
  std::map<uint32_t, uint64_t> ran_instead;
};

class SchedTimeline {
 public:
  // Keeps this much history per thread for splitting waits that ended since.
  static constexpr uint64_t kKeepNs = 10'000'000'000;
  static constexpr size_t kMaxChanges = size_t{1} << 20;  // per thread, whatever the input
  static constexpr size_t kMaxThreads = 4096;
  static constexpr size_t kAttributeWalk = 32;  // changes looked at per split for ran_instead

  void add(const OwnerSched& e);  // in arrival (nearly time) order
  // The thread's states over [from, to], and who ran instead.
  void split(uint32_t tid, uint64_t from, uint64_t to, StateSplit& out) const;
  // Closes every thread's last state at end_ns; states before a thread's first record
  // count from start_ns when that record says what it was doing (a switch out: running).
  void finish(uint64_t start_ns, uint64_t end_ns);

  const std::map<uint32_t, ThreadSched>& threads() const { return threads_; }
  // A task's comm as the owners' switches named it (the tasks that ran instead), or "".
  std::string comm_of(uint32_t tid) const;
  bool empty() const { return threads_.empty(); }

 private:
  // One wait's split, before it is added to a StateSplit: who ran instead in tid order,
  // already scaled to the runnable time.
  struct Piece {
    uint32_t tid = 0;
    uint64_t from = 0, to = 0;
    bool valid = false;
    std::array<uint64_t, kTaskStates> ns{};
    std::array<std::pair<uint32_t, uint64_t>, 2 * kAttributeWalk> seen{};
    size_t nseen = 0;
  };
  void compute(Piece& p) const;
  void account(ThreadSched& t, const StateChange& prev, uint64_t until);
  mutable Piece memo_;  // the last split: asked again for the same wait, it is not redone
  std::map<uint32_t, ThreadSched> threads_;
  std::map<uint32_t, std::array<char, TL_COMM_LEN>> comms_;
};

}  // namespace tunlat
