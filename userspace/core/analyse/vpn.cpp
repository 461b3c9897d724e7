// SPDX-License-Identifier: MIT
// The VPN process: its state while packets wait for it, its own time per packet, its CPUs.
#include "core/analyse/vpn.h"

#include <cstring>

namespace tunlat {

void VpnAnalysis::on_comm(const CommRecord& c) {
  if (c.tid && (comms_.size() < SchedTimeline::kMaxThreads || comms_.count(c.tid))) comms_[c.tid] = c.comm;
}

void VpnAnalysis::on_sched(const OwnerSched& s) {
  note_owner(s.pid);
  timeline_.add(s);
}

void VpnAnalysis::on_send(const UnderlaySend& s) {
  note_owner(s.pid);
  if (!of_underlay(s)) {
    stats_.cost[static_cast<int>(Dir::Tx)].other_sockets++;
    return;
  }
  pass_on(Dir::Tx, Move{s.ts_ns, s.pid, s.tid});
}

void VpnAnalysis::on_read(const UnderlayRead& r) {
  note_owner(r.pid);
  if (!of_underlay(r)) {
    stats_.cost[static_cast<int>(Dir::Rx)].other_sockets++;
    return;
  }
  take_in(Dir::Rx, Move{r.ts_ns, r.pid, r.tid});
}

void VpnAnalysis::on_pass(const PacketPass& p) {
  if (!is_owner(p.pid)) return;
  if (p.point == TL_READ) take_in(Dir::Tx, Move{p.ts_ns, p.pid, p.tid, p.skb, p.gen});
  if (p.point == TL_INJECT) pass_on(Dir::Rx, Move{p.ts_ns, p.pid, p.tid, p.skb, p.gen});
}

void VpnAnalysis::set_underlay_sockets(const std::vector<uint64_t>& inodes) {
  underlay_.clear();
  for (uint64_t ino : inodes)
    if (ino && underlay_.size() < 4096) underlay_.insert(ino);
}

bool PairStats::by_thread() const {
  const Pairing& t = by[1];
  if (!t.paired || t.paired < 0.9 * static_cast<double>(ins) || t.paired < 0.9 * static_cast<double>(outs))
    return false;
  // Timestamps cannot tell the two apart where both pair everything (in-order pairing per
  // process always spreads least): a per-thread pairing that is wrong pairs a thread's
  // sends with stale reads it happened to make, and its typical time balloons.
  return t.cost.quantile(0.5) <= 2 * by[0].cost.quantile(0.5);
}

void VpnAnalysis::queue_in(Queues& qs, std::pair<uint32_t, int> key, const Move& e, Pairing& p) {
  auto it = qs.find(key);
  if (it == qs.end()) {
    if (qs.size() >= kMaxQueues) {
      p.unpaired_ins++;
      return;
    }
    it = qs.emplace(key, std::deque<In>{}).first;
  }
  auto& q = it->second;
  if (q.size() >= kMaxWaiting) {  // never passed on: a VPN that drops, or sends elsewhere
    q.pop_front();
    p.unpaired_ins++;
  }
  q.push_back({e.ts_ns, e.skb, e.tid, e.gen});
}

// The oldest packet waiting in the queue pairs with this one passed on.
void VpnAnalysis::pair_out(Queues& qs, int way, std::pair<uint32_t, int> key, const Move& e, Pairing& p) {
  auto it = qs.find(key);
  if (it == qs.end() || it->second.empty() || it->second.front().ts_ns > e.ts_ns) {
    p.unpaired_outs++;
    return;
  }
  auto& q = it->second;
  if (q.size() > 1 && q[1].ts_ns <= e.ts_ns) p.batched++;
  p.paired++;
  if (q.front().tid == e.tid) p.same_thread++;
  p.cost.add(e.ts_ns - q.front().ts_ns);
  if (!timeline_.empty()) timeline_.split(e.tid, q.front().ts_ns, e.ts_ns, p.passer);
  if (pair_sink_) {
    const In& in = q.front();
    const bool tx = key.second == static_cast<int>(Dir::Tx);
    pair_sink_->on_pair(
        VpnPair{tx ? Dir::Tx : Dir::Rx, way, tx ? in.skb : e.skb, tx ? in.gen : e.gen, in.ts_ns, e.ts_ns});
  }
  q.pop_front();
}

void VpnAnalysis::take_in(Dir d, const Move& e) {
  PairStats& p = stats_.cost[static_cast<int>(d)];
  p.ins++;
  if (d == Dir::Tx) stats_.moved++;
  queue_in(waiting_[0], {e.pid, static_cast<int>(d)}, e, p.by[0]);
  queue_in(waiting_[1], {e.tid, static_cast<int>(d)}, e, p.by[1]);
}

void VpnAnalysis::pass_on(Dir d, const Move& e) {
  PairStats& p = stats_.cost[static_cast<int>(d)];
  p.outs++;
  if (d == Dir::Rx) stats_.moved++;
  pair_out(waiting_[0], 0, {e.pid, static_cast<int>(d)}, e, p.by[0]);
  pair_out(waiting_[1], 1, {e.tid, static_cast<int>(d)}, e, p.by[1]);
}

void VpnAnalysis::on_journey(const Journey& j, End) {
  if (j.dir == Dir::Tx) {
    if (j.seen(TL_QUEUE) && j.seen(TL_READ)) {
      stats_.tx_both++;
      if (j.cpu[TL_QUEUE] != j.cpu[TL_READ]) stats_.tx_crossed++;
    }
    if (j.seen(TL_READ) && stats_.tx_read_cpus.size() < 1024) stats_.tx_read_cpus[j.cpu[TL_READ]]++;
    if (timeline_.empty() || !j.seen(TL_XMIT) || !j.seen(TL_READ) || !j.tid || j.ts[TL_READ] < j.ts[TL_XMIT])
      return;
    stats_.ring_packets++;
    timeline_.split(j.tid, j.ts[TL_XMIT], j.ts[TL_READ], stats_.ring);
  } else {
    if (j.seen(TL_INJECT) && j.seen(TL_RECEIVE)) {
      stats_.rx_both++;
      if (j.cpu[TL_INJECT] != j.cpu[TL_RECEIVE]) stats_.rx_crossed++;
    }
    if (j.seen(TL_RECEIVE) && stats_.rx_receive_cpus.size() < 1024)
      stats_.rx_receive_cpus[j.cpu[TL_RECEIVE]]++;
  }
}

void VpnAnalysis::finish(uint64_t start_ns, uint64_t end_ns) {
  timeline_.finish(start_ns, end_ns);
  for (int way = 0; way < 2; way++)
    for (auto& [key, q] : waiting_[way]) {
      stats_.cost[key.second].by[way].unpaired_ins += q.size();
      q.clear();
    }
}

VpnFigures VpnAnalysis::figures(uint64_t duration_ns, double mbit_s) const {
  VpnFigures f;
  std::map<uint16_t, uint64_t> by_cpu;
  uint64_t busiest = 0;
  for (auto& [tid, t] : timeline_.threads()) {
    const uint64_t run = t.time[TL_TS_RUNNING];
    f.running_ns += run;
    if (run > busiest) busiest = run, f.busiest_tid = tid, f.busiest_pid = t.pid;
    for (auto& [cpu, ns] : t.running_on) by_cpu[cpu] += ns;
  }
  if (duration_ns) {
    f.cores = static_cast<double>(f.running_ns) / static_cast<double>(duration_ns);
    f.busiest_share = static_cast<double>(busiest) / static_cast<double>(duration_ns);
  }
  for (auto& [cpu, ns] : by_cpu)
    if (f.running_ns && static_cast<double>(ns) / f.running_ns > f.busiest_cpu_share)
      f.busiest_cpu = cpu, f.busiest_cpu_share = static_cast<double>(ns) / f.running_ns;
  f.moved = stats_.moved;
  if (f.moved && f.running_ns) {
    f.cpu_per_packet_ns = static_cast<double>(f.running_ns) / static_cast<double>(f.moved);
    f.capacity_pps = 1e9 / f.cpu_per_packet_ns;
    // The same mix of packets at the rate one core would carry.
    if (f.cores > 0) f.capacity_mbit_s = mbit_s / f.cores;
  }
  for (uint64_t ns : stats_.ring.ns) f.ring_ns += ns;
  if (f.ring_ns) {
    for (int s = 0; s < kTaskStates; s++) {
      f.ring_share[s] = static_cast<double>(stats_.ring.ns[s]) / f.ring_ns;
      if (f.ring_state == kStateUnknown || f.ring_share[s] > f.ring_share[f.ring_state]) f.ring_state = s;
    }
    // A multi-threaded VPN's reader waits behind its own threads too (wireguard-go's
    // goroutines on as many threads as CPUs): that is the VPN's own load, not contention.
    for (auto& [tid, ns] : stats_.ring.ran_instead) {
      const double share = static_cast<double>(ns) / f.ring_ns;
      if (timeline_.threads().count(tid))
        f.own_threads_share += share;
      else if (share > f.top_other_share)
        f.top_other = tid, f.top_other_share = share;
    }
  }
  return f;
}

std::string VpnAnalysis::thread_comm(uint32_t tid) const {
  auto it = comms_.find(tid);
  if (it == comms_.end()) return "";
  return std::string(it->second.data(), strnlen(it->second.data(), TL_COMM_LEN));
}

}  // namespace tunlat
