// SPDX-License-Identifier: MIT
// Turns journeys and the event stream into per-direction latency, pacing and drop statistics.
#include "core/analyse/analysis.h"

#include <algorithm>
#include <cstring>

namespace tunlat {

namespace {

std::string comm_str(const std::array<char, TL_COMM_LEN>& c) {
  return std::string(c.data(), strnlen(c.data(), c.size()));
}

// Has the packet completed its path through the device? TX: the reader took it. RX: the
// stack took it (pure TCP ACKs end there, freed by __kfree_skb which has no tracepoint).
bool finished_path(const Journey& j) {
  return j.dir == Dir::Tx ? j.seen(TL_READ) : j.seen(TL_RECEIVE);
}

bool started_path(const Journey& j) {
  return j.dir == Dir::Tx ? j.seen(TL_QUEUE) || j.seen(TL_XMIT) || j.seen(TL_ENQUEUE)
                          : j.seen(TL_INJECT);
}

}  // namespace

uint64_t span_end(const Journey& j, int point) {
  // A UDP receiver copying with checksum never fires skb_copy_datagram_iovec: the
  // packet's (non-drop) free is then the best "delivered" time there is.
  if (point == TL_DELIVER && !j.seen(TL_DELIVER) && j.seen(TL_FREE) && !(j.flags & TL_F_DROP))
    return j.ts[TL_FREE];
  return j.ts[point];
}

void Analysis::on_pass(const PointPass& e) {
  int d = e.dir == TL_RX ? 1 : 0;
  DirStats& s = total_[d];
  uint64_t& last = last_at_[d][e.point];
  if (last && e.ts_ns >= last) s.gaps[e.point].add(e.ts_ns - last);
  last = std::max<uint64_t>(last, e.ts_ns);
  s.passed[e.point]++;
  std::vector<uint64_t>& cpus = s.cpus[e.point];
  if (e.cpu >= cpus.size()) cpus.resize(e.cpu + 1, 0);
  cpus[e.cpu]++;
  if (observer_) observer_->on_pass(e);
}

void Analysis::on_journey(const Journey& j, End how) {
  DirStats& s = total_[static_cast<int>(j.dir)];
  count(s, j);
  // A packet that completed its path is not "unfinished" just because its free is missing.
  if (how == End::Flushed && !finished_path(j)) s.unfinished++;
  if (how == End::Evicted) (finished_path(j) ? s.free_untraced : s.evicted)++;
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
  if (j.xmit_rc) s.xmit_errors++;

  const auto spans = spans_of(j.dir);
  for (size_t i = 0; i < spans.size(); i++) {
    const SpanDef& sd = spans[i];
    uint64_t from = j.ts[sd.from], to = span_end(j, sd.to);
    if (!from || !to) continue;
    if (to < from) {
      s.negative++;
      continue;
    }
    s.spans[i].add(to - from);
  }

  if (j.pid) {
    int d = static_cast<int>(j.dir);
    if (j.pid != last_pid_[d] || !last_proc_[d]) {
      last_proc_[d] = &s.procs[j.pid];  // std::map: the pointer stays valid
      last_pid_[d] = j.pid;
    }
    ProcStat& p = *last_proc_[d];
    if (p.comm.empty() && j.comm[0]) p.comm = comm_str(j.comm);
    p.packets++;
  }
  if (j.flags & TL_F_DROP) {
    s.dropped++;
    DropStat& d = s.drops[{j.drop_reason, j.drop_location}];
    d.count++;
    d.pid = j.free_pid;
    d.comm = comm_str(j.free_comm);
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
