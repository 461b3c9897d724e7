// SPDX-License-Identifier: MIT
// Per-flow statistics: packets, bytes, latency, drops and TCP retransmissions per direction.
#include "core/analyse/flows.h"

#include <algorithm>
#include <cmath>

namespace tunlat {

namespace {

// Sequence numbers wrap: a is after b if it is less than 2^31 ahead.
bool seq_after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

constexpr uint8_t kSyn = 0x02, kFin = 0x01, kRst = 0x04, kAck = 0x10;

// How soon after the ACK that releases it a held segment passes the device: at once when
// its sender is the host (the ACK's processing sends it, in the same call); when the
// sender is behind the device, after the round trip beyond it too, which the host's own
// data shows (its fastest RTT).
uint64_t nagle_gate_ns(const FlowStat& f, int dir) {
  const Histogram& far = f.dirs[static_cast<int>(Dir::Tx)].rtt;
  return NagleStats::kGateNs + (dir == static_cast<int>(Dir::Rx) && far.count() ? 2 * far.min() : 0);
}

}  // namespace

FlowStat& FlowTable::get(uint32_t id) {
  auto it = flows_.find(id);
  if (it != flows_.end()) return it->second;
  if (flows_.size() >= kMaxFlows) id = kOtherFlow;
  return flows_[id];
}

void FlowTable::define(const FlowDefinition& d) {
  const uint32_t id = d.id;
  if (id == 0 || (flows_.size() >= kMaxFlows && !flows_.count(id))) return;
  FlowStat& f = get(id);
  if (id == kOtherFlow) return;
  f.key = d.key;
  f.defined = true;
}

// Retransmissions as the device sees them: a TCP segment with data whose whole range lies
// at or before the highest sequence this direction already carried, in the order the
// device passed them (TX: handed to the driver, RX: taken by the stack).
void FlowTable::on_segment(const SeqPass& s) {
  FlowStat& f = get(s.flow);
  if (!f.defined || f.key.proto != 6 || (s.tcp_flags & kSyn)) {
    if (f.defined && f.key.proto == 6) {  // a new connection
      f.dirs[s.dir & 1].seq_valid = false;
      f.dirs[s.dir & 1].closed = false;
    }
    return;
  }
  FlowDirStats& d = f.dirs[s.dir & 1];
  const uint32_t payload = s.payload;
  const uint32_t end = s.seq + payload + ((s.tcp_flags & kFin) ? 1 : 0);
  // An ACK this way times the other way's data it covers.
  FlowDirStats& other = f.dirs[(s.dir & 1) ^ 1];
  // Nagle: a pure ACK this way that newly acknowledges all of the other way's data may
  // release a segment held there; data this way is an answer, not a bare ACK.
  if ((s.tcp_flags & (kAck | kFin | kRst)) == kAck && !payload && other.seq_valid &&
      s.ack == other.high_seq && (!other.ack_valid || seq_after(s.ack, other.acked)))
    other.nagle.on_ack_of_all(s.ts_ns);
  if (payload) other.nagle.on_answer();
  // The peer of the other way's data, acknowledging nothing new while it waits: a phase of
  // what may become an idle stall (core/analyse/stall_phases.h).
  if (other.waiting_since && !(s.tcp_flags & (kSyn | kFin | kRst)) &&
      (!(s.tcp_flags & kAck) || !other.ack_valid || !seq_after(s.ack, other.acked)))
    on_peer(other, s);
  if (s.tcp_flags & kAck) {
    uint64_t sent = 0;
    while (!other.unacked.empty() && !seq_after(other.unacked.front().first, s.ack)) {
      sent = other.unacked.front().second;
      other.unacked.pop_front();
    }
    if (sent && s.ts_ns > sent) other.rtt.add(s.ts_ns - sent);
    on_ack(s.flow, other, s, (s.dir & 1) ? Dir::Tx : Dir::Rx);
  }
  // This side closing ends the wait of the other way's data; a reset ends both: the
  // transfer stood still until the connection ended with that data unacknowledged.
  if (s.tcp_flags & (kFin | kRst)) {
    const IdleEnd how = (s.tcp_flags & kRst) ? IdleEnd::Reset : IdleEnd::PeerFin;
    const int point = s.dir == TL_RX ? TL_RECEIVE : TL_XMIT;
    end_wait(s.flow, other, (s.dir & 1) ? Dir::Tx : Dir::Rx, s.ts_ns, point, how, &s);
    other.closed = true;
    other.waiting_since = 0;
    if (how == IdleEnd::Reset) {
      end_wait(s.flow, d, (s.dir & 1) ? Dir::Rx : Dir::Tx, s.ts_ns, point, how, &s);
      d.closed = true;
      d.waiting_since = 0;
    }
  }
  if (payload) {
    const bool resent = d.seq_valid && !seq_after(end, d.high_seq);
    // Shorter than the largest segment either way (the MSS, as far as the flow shows it),
    // or than IPv4's default MSS when the flow only ever sent small ones.
    const bool small = payload < std::max({NagleStats::kMinMss, d.mss, other.mss});
    d.nagle.on_data(s.ts_ns, small, resent, nagle_gate_ns(f, s.dir & 1));
    d.segments++;
    d.mss = std::max(d.mss, std::min<uint32_t>(payload, 65535));
    if (resent) {
      d.retransmits++;
      retransmits_++;
      d.last_resent_ts = s.ts_ns;
      if (d.ack_valid && !seq_after(s.seq, d.acked) && seq_after(end, d.acked)) {
        d.head_resent++;
        if (d.waiting_since) d.phases.on_hole_resent(s.ts_ns);
      }
      d.unacked.clear();  // Karn: an ACK now may be for either copy
    } else if (d.unacked.size() < kMaxUnacked) {
      d.unacked.emplace_back(end, s.ts_ns);
    }
  }
  if (!d.seq_valid || seq_after(end, d.high_seq)) {
    d.high_seq = end;
    d.seq_valid = true;
  }
  // New data beyond what is acknowledged, where none was waiting: waiting starts.
  if (!d.waiting_since && !d.closed && d.ack_valid && seq_after(d.high_seq, d.acked)) start_wait(d, s.ts_ns);
}

void FlowTable::start_wait(FlowDirStats& d, uint64_t since) {
  d.waiting_since = since;
  d.retransmits_since = d.retransmits;
  d.head_resent = 0;
  d.phases.start(since);
}

// A duplicate ACK: the peer acknowledges again the first byte it lacks (no data, no SYN,
// FIN or RST, the same ACK), because data above it arrived. RFC 5681 also wants the same
// window; a receiver's window moves as it reads, so only a zero window (the peer full, not
// missing anything) is no duplicate ACK here.
void FlowTable::on_peer(FlowDirStats& data, const SeqPass& p) {
  const bool dup = (p.tcp_flags & (kAck | kSyn | kFin | kRst)) == kAck && !p.payload && data.ack_valid &&
                   p.ack == data.acked && p.win != 0;
  data.phases.on_peer(
      PeerPacket{p.ts_ns, PacketSummary{p.flow, p.seq, p.ack, p.win, p.tcp_flags, 0}, p.payload}, dup,
      stall_ns_);
}

// An ACK the other way for data's direction. An advance ends what was waiting: an idle
// stall if the wait was long. Retransmissions in between are not progress, only counted;
// silence with nothing outstanding (the transfer ended) starts no wait.
void FlowTable::on_ack(uint32_t flow, FlowDirStats& data, const SeqPass& ack, Dir data_dir) {
  if (!data.seq_valid) return;
  if (data.ack_valid && !seq_after(ack.ack, data.acked)) return;  // nothing new
  end_wait(flow, data, data_dir, ack.ts_ns, ack.dir == TL_RX ? TL_RECEIVE : TL_XMIT, IdleEnd::Ack, &ack);
  data.acked = ack.ack;
  data.ack_valid = true;
  const bool outstanding = !data.closed && seq_after(data.high_seq, data.acked);
  start_wait(data, outstanding ? ack.ts_ns : 0);
}

void FlowTable::end_wait(uint32_t flow, FlowDirStats& data, Dir data_dir, uint64_t end_ns, int end_point,
                         IdleEnd how, const SeqPass* by) {
  if (!data.waiting_since || end_ns < data.waiting_since || end_ns - data.waiting_since < stall_ns_) return;
  // A loss repaired by TCP's retransmission timer: the first unacked segment was sent
  // again once or twice (the tail probe, one timeout: no backoff) and the ACK came back
  // within a round trip of the last copy. The far side answered as soon as it had the
  // data: no stall, counted for the flow (seen: 220 ms for iperf3's last control message
  // on a lossy OpenVPN path). Unanswered copies, backoff, a later ACK: a stall.
  const uint64_t rtt_ns = data.rtt.count() ? data.rtt.quantile(0.9) : 0;
  const uint64_t answer_ns = std::min(std::max(kMinAnswerNs, 2 * rtt_ns), stall_ns_ / 2);
  if (how == IdleEnd::Ack && data.retransmits > data.retransmits_since && data.head_resent <= 2 &&
      end_ns >= data.last_resent_ts && end_ns - data.last_resent_ts <= answer_ns) {
    data.timeout_waits++;
    data.timeout_wait_max_ns = std::max(data.timeout_wait_max_ns, end_ns - data.waiting_since);
    return;
  }
  if (idle_.size() >= StageWatch::kMaxStalls) return;
  Stall st;
  st.kind = StallKind::Idle;
  st.flow = flow;
  st.dir = data_dir;
  st.start_ns = data.waiting_since;
  st.end_ns = end_ns;
  st.retransmits = data.retransmits - data.retransmits_since;
  st.idle_end = how;
  st.unacked = seq_after(data.high_seq, data.acked) ? data.high_seq - data.acked : 0;
  st.ongoing = end_point < 0;
  st.end_point = end_point;
  st.ended_by.enter_ns = data.waiting_since;
  st.ended_by.leave_ns = end_ns;
  PeerPacket end_packet;
  if (by) {
    end_packet = PeerPacket{by->ts_ns, PacketSummary{by->flow, by->seq, by->ack, by->win, by->tcp_flags, 0},
                            by->payload};
    st.ended_by.sum = end_packet.sum;
    st.ended_by.payload = by->payload;
  }
  data.phases.finish(end_ns, by ? PhaseEnd::Stall : PhaseEnd::Trace, end_packet, stall_ns_, st.phases,
                     st.hole_resent);
  idle_.push_back(std::move(st));
}

void LocalSocket::add(const tl_tcp_sample& t) {
  samples++;
  cwnd_last = t.snd_cwnd;
  cwnd_max = std::max(cwnd_max, t.snd_cwnd);
  cwnd_sum += t.snd_cwnd;
  if (t.srtt_us) srtt.add(uint64_t{t.srtt_us} * 1000);
  in_flight_max = std::max(in_flight_max, t.packets_out);
  peer_window_min = samples == 1 ? t.snd_wnd : std::min(peer_window_min, t.snd_wnd);
  peer_window_last = t.snd_wnd;
}

void FlowTable::on_host_retransmit(const HostRetransmit& r) {
  if (!r.flow) return;
  const uint64_t segments = r.segments;  // a GSO skb: several
  get(r.flow).dirs[static_cast<int>(Dir::Tx)].host_retransmits += segments;
  host_retransmits_ += segments;
}

void FlowTable::count(const Journey& j, int64_t total_ns) {
  if (!j.sum.flow) return;
  FlowStat& f = get(j.sum.flow);
  // An ACK without data taken by a local socket: that socket sends the data (TX).
  if (j.dir == Dir::Rx && j.has_tcp && j.payload == 0) f.dirs[static_cast<int>(Dir::Tx)].local.add(j.tcp);
  FlowDirStats& d = f.dirs[static_cast<int>(j.dir)];
  d.packets++;
  d.bytes += j.len;
  const uint64_t first =
      j.dir == Dir::Tx ? (j.ts[TL_QUEUE] ? j.ts[TL_QUEUE] : j.ts[TL_XMIT]) : j.ts[TL_INJECT];
  if (first && (!d.first_ts || first < d.first_ts)) d.first_ts = first;
  d.last_ts = std::max(d.last_ts, first);
  if (total_ns >= 0) d.total.add(static_cast<uint64_t>(total_ns));
  if (j.flags & TL_F_DROP) d.drops++;
}

void FlowTable::on_pass(const PacketPass& e) {
  if (e.summary) {
    const PacketSummary& s = *e.summary;
    waiting_ =
        s.flow ? Waiting{e.skb, e.gen, SeqPass{0, s.flow, s.seq, s.ack, e.payload, e.dir, s.tcp_flags, s.win}}
               : Waiting{};
  }
  if (!waiting_.pass.flow || e.skb != waiting_.skb || e.gen != waiting_.gen) return;
  if (e.point != (e.dir == TL_RX ? TL_RECEIVE : TL_XMIT)) return;
  waiting_.pass.ts_ns = e.ts_ns;
  seq_order_.push(waiting_.pass, [this](const SeqPass& p) { on_segment(p); });
  waiting_ = Waiting{};
}

void FlowTable::finish(uint64_t end_ns) {
  seq_order_.flush([this](const SeqPass& p) { on_segment(p); });
  for (auto& [id, f] : flows_)
    for (int d = 0; d < 2; d++) {
      FlowDirStats& data = f.dirs[d];
      if (data.ack_valid) end_wait(id, data, static_cast<Dir>(d), end_ns, -1, IdleEnd::Ack, nullptr);
    }
}

double FlowDirStats::mathis_bits_per_s() const {
  if (!segments || !retransmits || !mss || !rtt.count()) return 0;
  const double p = static_cast<double>(retransmits) / static_cast<double>(segments);
  const double rtt_s = static_cast<double>(rtt.quantile(0.5)) / 1e9;
  return rtt_s > 0 ? mss * 8.0 / rtt_s * 1.22 / std::sqrt(p) : 0;
}

std::pair<const FlowStat*, uint64_t> FlowTable::busiest_since_last() {
  const FlowStat* best = nullptr;
  uint64_t most = 0;
  for (auto& [id, f] : flows_) {
    const uint64_t n = f.packets() - f.live_mark;
    if (n > most && f.defined) {
      most = n;
      best = &f;
    }
    f.live_mark = f.packets();
  }
  return {best, most};
}

}  // namespace tunlat
