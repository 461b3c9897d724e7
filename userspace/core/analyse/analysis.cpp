// SPDX-License-Identifier: MIT
// Turns journeys and the event stream into per-direction latency, pacing and drop statistics.
#include "core/analyse/analysis.h"

#include <algorithm>
#include <cstring>

namespace tunlat {

namespace {

// Has the packet completed its path through the device? TX: the reader took it. RX: the
// stack took it (pure TCP ACKs end there, freed by __kfree_skb which has no tracepoint).
bool finished_path(const Journey& j) { return j.dir == Dir::Tx ? j.seen(TL_READ) : j.seen(TL_RECEIVE); }

// The entry that takes the processes beyond kMaxProcs, if there is one yet.
const ProcStat* others(const DirStats& s) {
  auto it = s.procs.find(kOtherPids);
  return it == s.procs.end() ? nullptr : &it->second;
}

bool started_path(const Journey& j) {
  return j.dir == Dir::Tx ? j.seen(TL_QUEUE) || j.seen(TL_XMIT) || j.seen(TL_ENQUEUE) : j.seen(TL_INJECT);
}

}  // namespace

namespace {

uint64_t point_time(const Journey& j, int point) {
  // A UDP receiver copying with checksum never fires skb_copy_datagram_iovec: the
  // packet's (non-drop) free is then the best "delivered" time there is.
  if (point == TL_DELIVER && !j.seen(TL_DELIVER) && j.seen(TL_FREE) && !(j.flags & TL_F_DROP))
    return j.ts[TL_FREE];
  return j.ts[point];
}

}  // namespace

uint64_t span_end(const Journey& j, const SpanDef& sd) {
  if (uint64_t t = point_time(j, sd.to)) return t;
  if (sd.to_else < 0 || (sd.else_if_consumed && !(j.flags & TL_F_CONSUMED))) return 0;
  return point_time(j, sd.to_else);
}

// A thread's entry, or past kMaxThreadsPerProc the one of all others (tid 0: no thread's).
static ThreadStat& thread_of(std::map<uint32_t, ThreadStat>& threads, uint32_t tid) {
  auto it = threads.find(tid);
  if (it == threads.end())
    it = threads.emplace(threads.size() < kMaxThreadsPerProc ? tid : 0, ThreadStat{}).first;
  return it->second;
}

void ProcStat::add(uint32_t pid, uint32_t tid, const std::string& thread_comm) {
  packets++;
  ThreadStat& t = thread_of(threads, tid);
  t.packets++;
  if (t.comm.empty()) t.comm = thread_comm;
  if (comm.empty() || (tid == pid && !thread_comm.empty())) comm = thread_comm;
}

Analysis::Analysis(uint64_t stall_ns, DeviceKind kind) : stall_ns_(stall_ns), flows_(stall_ns) {
  set_device_kind(kind);
}

void Analysis::set_device_kind(DeviceKind k) {
  kind_ = k;
  watches_.clear();
  const auto tx = spans(Dir::Tx);
  for (size_t i = 0; i < tx.size(); i++)
    if (tx[i].queue) watches_.emplace_back(Dir::Tx, span_at(Dir::Tx, i), stall_ns_);
  if (observer_) observer_->on_device_kind(k);
}

void Analysis::finish(uint64_t end_ns) {
  for (StageWatch& w : watches_) w.finish(end_ns);
  flows_.finish(end_ns);
}

std::vector<Stall> Analysis::stalls() const {
  std::vector<Stall> all;
  for (const StageWatch& w : watches_) {
    // A reader that reads every 200 ms leaves the ring "stuck" 200 ms at a time: that is
    // its pace, not a stall. A stall is far longer than the stage's usual gap.
    const uint64_t usual = total_[static_cast<int>(w.dir())].gaps[w.exit_point()].quantile(0.5);
    for (const Stall& s : w.stalls())
      if (s.end_ns - s.start_ns >= kStallOverGap * usual) all.push_back(s);
  }
  // A flow's data waiting for its ACK while a stage held it is that stage's stall, seen
  // from TCP: only an idle stall no stuck one explains stands on its own.
  const size_t stuck = all.size();
  for (const Stall& idle : flows_.idle_stalls()) {
    bool explained = false;
    for (size_t i = 0; i < stuck && !explained; i++) {
      const Stall& s = all[i];
      const uint64_t lo = std::max(s.start_ns, idle.start_ns), hi = std::min(s.end_ns, idle.end_ns);
      explained = s.dir == idle.dir && hi > lo && 2 * (hi - lo) >= idle.end_ns - idle.start_ns;
    }
    if (!explained) all.push_back(idle);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Stall& a, const Stall& b) { return a.start_ns < b.start_ns; });
  return all;
}

LiveStall Analysis::stuck_now(uint64_t now_ns, uint64_t lag_ns) const {
  const DirStats& tx = total_[0];
  const auto spans = this->spans(Dir::Tx);
  for (size_t i = 0; i < spans.size(); i++) {
    const SpanDef& sd = spans[i];
    if (!sd.queue) continue;
    const uint64_t in = tx.passed[sd.from], out = tx.passed[sd.to];
    const uint64_t last_out = last_at_[0][sd.to] ? last_at_[0][sd.to] : last_at_[0][sd.from];
    if (in > out && last_out && now_ns > last_out + stall_ns_ + lag_ns)
      return LiveStall{span_at(Dir::Tx, i), in - out, last_out, (now_ns - last_out) / 1e9};
  }
  return LiveStall{};
}

void Analysis::on_drop_elsewhere(const DropElsewhere& e) {
  ElsewhereKey key{e.scope, e.reason, e.location, e.scope == TL_DS_UNDERLAY ? e.socket : 0};
  auto it = elsewhere_.find(key);
  if (it == elsewhere_.end()) {
    if (elsewhere_.size() >= kMaxDropKeys)
      key = ElsewhereKey{e.scope, kOtherDrops.first, kOtherDrops.second, 0};
    it = elsewhere_.emplace(key, ElsewhereDrops{}).first;
  }
  it->second.count++;
  it->second.bytes += e.len;
}

void Analysis::on_pass(const PointPass& e) {
  int d = e.dir == TL_RX ? 1 : 0;
  DirStats& s = total_[d];
  uint64_t& last = last_at_[d][e.point];
  if (last && e.ts_ns >= last) s.gaps[e.point].add(e.ts_ns - last);
  last = std::max<uint64_t>(last, e.ts_ns);
  s.passed[e.point]++;
  std::vector<uint64_t>& cpus = s.cpus[e.point];
  const size_t cpu = std::min<size_t>(e.cpu, kMaxCpus - 1);
  if (cpu >= cpus.size()) cpus.resize(cpu + 1, 0);
  cpus[cpu]++;
  if (observer_) observer_->on_pass(e);
}

void Analysis::on_journey(const Journey& j, End how) {
  for (StageWatch& w : watches_) w.on_journey(j, how);
  DirStats& s = total_[static_cast<int>(j.dir)];
  count(s, j);
  // A packet that completed its path is not "unfinished" just because its free is missing.
  if (how == End::Flushed && !finished_path(j)) s.unfinished++;
  if (how == End::Evicted) {
    if (!finished_path(j))
      s.evicted++;
    else if (j.seen(TL_TAKEN) && !j.seen(TL_DELIVER) && !(j.flags & TL_F_CONSUMED))
      s.unread++;
    else
      s.free_untraced++;
  }
}

void Analysis::count(DirStats& s, const Journey& j) {
  if (j.segmented_parent()) {
    s.gso_parents++;
    return;
  }
  if (!started_path(j)) {
    s.stray++;
    return;
  }
  s.packets++;
  s.bytes += j.len;
  uint64_t first = j.dir == Dir::Tx ? (j.ts[TL_QUEUE] ? j.ts[TL_QUEUE] : j.ts[TL_XMIT]) : j.ts[TL_INJECT];
  if (!s.first_ts || first < s.first_ts) s.first_ts = first;
  s.last_ts = std::max(s.last_ts, first);
  if (j.flags & TL_F_SEGMENT) s.segments++;
  if ((j.flags & TL_F_GSO) && j.seen(TL_XMIT)) s.gso_whole++;
  // Unless the device's model starts TX at xmit (a macvtap: a frame arriving for its VM).
  if (j.dir == Dir::Tx && !j.seen(TL_QUEUE) && j.seen(TL_XMIT) && spans(Dir::Tx).back().from == TL_QUEUE)
    s.no_queue++;
  if (j.xmit_rc) s.xmit_errors++;

  const auto spans = this->spans(j.dir);
  // A kernel VPN's RX packet whose arrival on the underlay was not seen: its inject is the
  // device's receive, which starts no span of its model.
  const bool no_start =
      j.dir == Dir::Rx && (j.flags & TL_F_LATE_START) && handoff_of(kind_) == Handoff::KernelVpn;
  int64_t total_ns = -1;  // the last span is the total
  for (size_t i = 0; i < spans.size(); i++) {
    const SpanDef& sd = spans[i];
    uint64_t from = no_start && sd.from == TL_INJECT ? 0 : j.ts[sd.from], to = span_end(j, sd);
    // A packet that left without a known entry (a segment a tbf made, first seen at xmit)
    // still ends the interval before the next one's service: it counts as not waiting.
    if (to) s.exits[i].add(from && from <= to ? from : to, to, j.len);
    if (!from || !to) continue;
    if (to < from) {
      s.negative++;
      continue;
    }
    s.spans[i].add(to - from);
    if (i + 1 == spans.size()) total_ns = static_cast<int64_t>(to - from);
  }
  flows_.count(j, total_ns);

  if (j.pid) {
    int d = static_cast<int>(j.dir);
    if (j.pid != last_pid_[d] || !last_proc_[d]) {
      auto it = s.procs.find(j.pid);
      if (it == s.procs.end())
        it = s.procs.emplace(s.procs.size() < kMaxProcs ? j.pid : kOtherPids, ProcStat{}).first;
      last_proc_[d] = &it->second;  // std::map: the pointer stays valid
      last_pid_[d] = j.pid;
    }
    ProcStat& p = *last_proc_[d];
    if (last_proc_[d] == others(s)) {
      if (p.comm.empty()) p.comm = "(other processes)";
      p.packets++;
    } else {
      p.add(j.pid, j.tid, comm_string(j.comm));
    }
  }
  if (j.recv_pid) {
    auto it = s.receivers.find(j.recv_pid);
    if (it == s.receivers.end())
      it = s.receivers.emplace(s.receivers.size() < kMaxProcs ? j.recv_pid : kOtherPids, ProcStat{}).first;
    it->second.add(j.recv_pid, j.recv_tid, comm_string(j.recv_comm));
  }
  if (j.flags & TL_F_DROP) {
    s.dropped++;
    std::pair<int32_t, uint64_t> key{j.drop_reason, j.drop_location};
    auto it = s.drops.find(key);
    if (it == s.drops.end())
      it = s.drops.emplace(s.drops.size() < kMaxDropKeys ? key : kOtherDrops, DropStat{}).first;
    DropStat& d = it->second;
    d.count++;
    d.pid = j.free_pid;
    d.comm = comm_string(j.free_comm);
    if (j.free_pid) {
      ThreadStat& t = thread_of(d.threads, j.free_tid);
      t.packets++;
      if (t.comm.empty()) t.comm = d.comm;
    }
  }
  if (observer_) observer_->on_packet(j);
}

DirStats since(const DirStats& now, const DirStats& before) {
  DirStats d;
  d.packets = now.packets - before.packets;
  d.bytes = now.bytes - before.bytes;
  d.dropped = now.dropped - before.dropped;
  for (size_t i = 0; i < d.spans.size(); i++) d.spans[i] = now.spans[i].minus(before.spans[i]);
  return d;
}

}  // namespace tunlat
