// SPDX-License-Identifier: MIT
// Per-thread scheduler state timelines of the device's owners, from TL_SCHED events.
#include "core/analyse/sched_timeline.h"

#include <algorithm>
#include <cstddef>
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

void SchedTimeline::add(const OwnerSched& e) {
  memo_.valid = false;
  auto it = threads_.find(e.tid);
  if (it == threads_.end()) {
    if (threads_.size() >= kMaxThreads) return;  // a hostile file: bounded
    it = threads_.emplace(e.tid, ThreadSched{}).first;
    it->second.pid = e.pid;
  }
  ThreadSched& t = it->second;
  if (e.other_comm[0] && e.other && (comms_.size() < kMaxThreads || comms_.count(e.other))) {
    auto& c = comms_[e.other];
    c = e.other_comm;
    c[TL_COMM_LEN - 1] = 0;
  }
  StateChange c;
  c.ts_ns = e.ts_ns;
  c.cpu = e.cpu;
  c.state = e.state >= 0 && e.state < TL_TS_COUNT ? static_cast<uint8_t>(e.state) : kStateUnknown;
  c.flags = static_cast<uint8_t>(e.flags);
  c.other = c.state == TL_TS_RUNNABLE ? e.other : 0;
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
    if (c.state == TL_TS_RUNNING && last.state == TL_TS_RUNNABLE && !last.other) last.other = e.other;
    // Records of one thread come from several CPUs (a wakeup from the waker's): a moment
    // out of order is taken as simultaneous.
    c.ts_ns = std::max(c.ts_ns, last.ts_ns);
    c.cum = last.cum;
    c.cum[last.state] += c.ts_ns - last.ts_ns;
    account(t, last, c.ts_ns);
    if (last.state == TL_TS_RUNNING && c.state != TL_TS_RUNNING) t.switches++;
  }
  if (c.flags & TL_SF_PREEMPTED) t.preemptions++;
  if (c.flags & TL_SF_WOKEN) t.wakeups++;
  t.changes.push_back(c);
  while (t.changes.size() > 2 && t.changes[1].ts_ns + kKeepNs < c.ts_ns) t.changes.pop_front();
  while (t.changes.size() > kMaxChanges) t.changes.pop_front();
}

// The states of a thread over a wait: the difference of two cumulative sums (the
// thread may switch thousands of times while a packet waits in the ring). Who ran
// instead while it was runnable takes a walk over the changes: about kAttributeWalk of
// them, evenly spaced over the wait, the runnable time shared out as in those.
void SchedTimeline::split(uint32_t tid, uint64_t from, uint64_t to, StateSplit& out) const {
  if (to <= from) return;
  // The VPN analysis asks twice for most waits (paired by process and by thread).
  if (!memo_.valid || memo_.tid != tid || memo_.from != from || memo_.to != to) {
    memo_.ns = {};
    memo_.nseen = 0;
    memo_.tid = tid;
    memo_.from = from;
    memo_.to = to;
    compute(memo_);
    memo_.valid = true;
  }
  for (int s = 0; s < kTaskStates; s++) out.ns[s] += memo_.ns[s];
  if (out.ran_instead.size() >= 256) return;
  for (size_t k = 0; k < memo_.nseen; k++) {
    const auto& [other, d] = memo_.seen[k];
    if (other && (out.ran_instead.size() < 256 || out.ran_instead.count(other))) out.ran_instead[other] += d;
  }
}

void SchedTimeline::compute(Piece& p) const {
  uint64_t from = p.from;
  const uint64_t to = p.to;
  auto it = threads_.find(p.tid);
  if (it == threads_.end() || it->second.changes.empty()) {
    p.ns[kStateUnknown] += to - from;
    return;
  }
  const ThreadSched& t = it->second;
  const auto& ch = t.changes;
  // Before the oldest change kept: its initial state.
  if (from < ch.front().ts_ns) {
    const uint64_t end = std::min(to, ch.front().ts_ns);
    p.ns[t.initial] += end - from;
    from = end;
    if (from >= to) return;
  }
  // The change in force at x (x >= the first's time), searched from the hint outwards.
  auto last_at = [&](uint64_t x) {
    const size_t n = ch.size();
    size_t lo = std::min(t.hint, n - 1), hi = lo + 1, step = 1;
    if (ch[lo].ts_ns > x) {  // behind the hint: gallop back to a change at or before x
      while (lo > 0 && ch[lo].ts_ns > x) {
        hi = lo;
        lo = lo > step ? lo - step : 0;
        step *= 2;
      }
    } else {  // ahead: gallop forward to one after x
      while (hi < n && ch[hi].ts_ns <= x) {
        lo = hi;
        hi = std::min(n, hi + step);
        step *= 2;
      }
    }
    // ch[lo] <= x < ch[hi] (or hi == n): the last change at or before x lies in [lo, hi).
    auto it = std::upper_bound(ch.begin() + static_cast<std::ptrdiff_t>(lo),
                               ch.begin() + static_cast<std::ptrdiff_t>(hi), x,
                               [](uint64_t ts, const StateChange& c) { return ts < c.ts_ns; });
    return std::prev(it);
  };
  const auto a = last_at(from), b = last_at(to);
  t.hint = static_cast<size_t>(b - ch.begin());
  std::array<uint64_t, kTaskStates> ns{};
  for (int s = 0; s < kTaskStates; s++) ns[s] = b->cum[s] - a->cum[s];
  ns[b->state] += to - b->ts_ns;
  ns[a->state] -= from - a->ts_ns;
  for (int s = 0; s < kTaskStates; s++) p.ns[s] += ns[s];
  if (!ns[TL_TS_RUNNABLE]) return;
  // Who ran instead: the runnable stretches that name the task, fewer than
  // 2 * kAttributeWalk of them, in a flat array (a map per packet cost more than the walk).
  auto& seen = p.seen;
  size_t& nseen = p.nseen;
  uint64_t runnable_seen = 0;
  const std::ptrdiff_t n = b - a + 1;
  const std::ptrdiff_t stride = std::max<std::ptrdiff_t>(1, n / static_cast<std::ptrdiff_t>(kAttributeWalk));
  auto c = a;
  for (std::ptrdiff_t i = 0; i < n; i += stride) {
    const auto next = std::next(c);  // ++ where it can: deque arithmetic divides
    const uint64_t lo = std::max(from, c->ts_ns);
    const uint64_t hi = next != ch.end() ? std::min(to, next->ts_ns) : to;
    if (c->state == TL_TS_RUNNABLE && hi > lo) {
      runnable_seen += hi - lo;
      size_t k = 0;
      while (k < nseen && seen[k].first != c->other) k++;
      if (k == nseen) seen[nseen++] = {c->other, 0};
      seen[k].second += hi - lo;
    }
    if (i + stride < n) c = stride == 1 ? next : c + stride;
  }
  // In tid order, as the map this replaced gave them: split()'s cap keeps the same ones.
  std::sort(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(nseen));
  const double scale = runnable_seen ? static_cast<double>(ns[TL_TS_RUNNABLE]) / runnable_seen : 1.0;
  for (size_t k = 0; k < nseen; k++)
    seen[k].second = static_cast<uint64_t>(static_cast<double>(seen[k].second) * scale);
}

void SchedTimeline::finish(uint64_t start_ns, uint64_t end_ns) {
  memo_.valid = false;
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
