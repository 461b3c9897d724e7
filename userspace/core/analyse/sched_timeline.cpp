// SPDX-License-Identifier: MIT
// Per-thread scheduler state timelines of the device's owners, from TL_SCHED events.
#include "core/analyse/sched_timeline.h"

#include <algorithm>
#include <cstring>

namespace tunlat {

std::string_view task_state_name(int s) {
  static constexpr std::array<std::string_view, kTaskStates> names{"running", "runnable", "sleeping",
                                                                   "stopped", "exited",   "unknown"};
  return s >= 0 && s < kTaskStates ? names[s] : "unknown";
}

void SchedTimeline::account(ThreadSched& t, const StateChange& prev, uint64_t until) {
  if (until <= prev.ts_ns) return;
  const uint64_t d = until - prev.ts_ns;
  t.time[prev.state] += d;
  if (prev.state == TL_TS_RUNNING && t.running_on.size() < 1024) t.running_on[prev.cpu] += d;
  if (prev.state == TL_TS_SLEEPING && !(prev.flags & TL_SF_UNINTERRUPTIBLE)) t.sleeps.add(d);
}

void SchedTimeline::add(const Event& e) {
  auto it = threads_.find(e.tid);
  if (it == threads_.end()) {
    if (threads_.size() >= kMaxThreads) return;  // a hostile file: bounded
    it = threads_.emplace(e.tid, ThreadSched{}).first;
    it->second.pid = e.pid;
  }
  ThreadSched& t = it->second;
  if (e.comm[0] && e.aux && (comms_.size() < kMaxThreads || comms_.count(static_cast<uint32_t>(e.aux)))) {
    auto& c = comms_[static_cast<uint32_t>(e.aux)];
    std::memcpy(c.data(), e.comm, TL_COMM_LEN);
    c[TL_COMM_LEN - 1] = 0;
  }
  StateChange c;
  c.ts_ns = e.ts_ns;
  c.cpu = e.cpu;
  c.state = e.code >= 0 && e.code < TL_TS_COUNT ? static_cast<uint8_t>(e.code) : kStateUnknown;
  c.flags = static_cast<uint8_t>(e.flags);
  c.other = c.state == TL_TS_RUNNABLE ? static_cast<uint32_t>(e.aux) : 0;
  if (t.changes.empty()) {
    t.first_ts = c.ts_ns;
    // A first record that takes it off a CPU says it was running until then.
    if (c.state != TL_TS_RUNNING && !(c.flags & TL_SF_WOKEN)) t.initial = TL_TS_RUNNING;
  } else {
    StateChange& last = t.changes.back();
    // A wakeup of a thread that is running, or already waits for a CPU, changes nothing
    // (ttwu of a task that had not gone to sleep yet).
    if ((c.flags & TL_SF_WOKEN) && (last.state == TL_TS_RUNNING || last.state == TL_TS_RUNNABLE)) return;
    // Woken, it waited behind whatever ran on its CPU last: the task it was switched in after.
    if (c.state == TL_TS_RUNNING && last.state == TL_TS_RUNNABLE && !last.other) last.other = static_cast<uint32_t>(e.aux);
    // Records of one thread come from several CPUs (a wakeup from the waker's): a moment
    // out of order is taken as simultaneous.
    c.ts_ns = std::max(c.ts_ns, last.ts_ns);
    account(t, last, c.ts_ns);
    if (last.state == TL_TS_RUNNING && c.state != TL_TS_RUNNING) t.switches++;
  }
  if (c.flags & TL_SF_PREEMPTED) t.preemptions++;
  if (c.flags & TL_SF_WOKEN) t.wakeups++;
  t.changes.push_back(c);
  while (t.changes.size() > 2 && t.changes[1].ts_ns + kKeepNs < c.ts_ns) t.changes.pop_front();
  while (t.changes.size() > kMaxChanges) t.changes.pop_front();
}

void SchedTimeline::split(uint32_t tid, uint64_t from, uint64_t to, StateSplit& out) const {
  if (to <= from) return;
  auto it = threads_.find(tid);
  if (it == threads_.end() || it->second.changes.empty()) {
    out.ns[kStateUnknown] += to - from;
    return;
  }
  const ThreadSched& t = it->second;
  auto add = [&](uint8_t state, uint32_t other, uint64_t a, uint64_t b) {
    if (b <= a) return;
    out.ns[state] += b - a;
    if (state == TL_TS_RUNNABLE && other && out.ran_instead.size() < 256) out.ran_instead[other] += b - a;
  };
  auto first = std::upper_bound(t.changes.begin(), t.changes.end(), from,
                                [](uint64_t ts, const StateChange& c) { return ts < c.ts_ns; });
  uint8_t state = t.initial;
  uint32_t other = 0;
  if (first != t.changes.begin()) {
    state = std::prev(first)->state;
    other = std::prev(first)->other;
  }
  uint64_t at = from;
  for (auto c = first; c != t.changes.end() && c->ts_ns < to; ++c) {
    add(state, other, at, c->ts_ns);
    state = c->state;
    other = c->other;
    at = c->ts_ns;
  }
  add(state, other, at, to);
}

void SchedTimeline::finish(uint64_t start_ns, uint64_t end_ns) {
  for (auto& [tid, t] : threads_) {
    if (t.finished || t.changes.empty()) continue;
    t.finished = true;
    if (t.initial == TL_TS_RUNNING && start_ns && start_ns < t.first_ts) {
      StateChange before;
      before.ts_ns = start_ns;
      before.state = TL_TS_RUNNING;
      before.cpu = t.changes.front().cpu;
      account(t, before, t.first_ts);
    }
    const StateChange& last = t.changes.back();
    if (last.state != TL_TS_EXITED) account(t, last, end_ns);
  }
}

std::string SchedTimeline::comm_of(uint32_t tid) const {
  auto it = comms_.find(tid);
  return it == comms_.end() ? std::string() : std::string(it->second.data());
}

}  // namespace tunlat
