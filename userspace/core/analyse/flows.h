// SPDX-License-Identifier: MIT
// Per-flow statistics: packets, bytes, latency, drops and TCP retransmissions per direction.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/analyse/histogram.h"
#include "core/analyse/nagle.h"
#include "core/analyse/stalls.h"
#include "core/correlate/reorder.h"
#include "core/model/flow.h"
#include "core/model/journey.h"
#include "core/model/records.h"

namespace tunlat {

// The host's own socket sending a flow's data, as tcp:tcp_probe saw it each time an ACK
// without data came back through the device (before TCP processed it).
struct LocalSocket {
  uint64_t samples = 0;
  uint32_t cwnd_last = 0, cwnd_max = 0;  // segments
  uint64_t cwnd_sum = 0;
  Histogram srtt;                                      // ns
  uint32_t in_flight_max = 0;                          // segments sent, not yet acknowledged
  uint32_t peer_window_min = 0, peer_window_last = 0;  // bytes, once samples > 0

  void add(const tl_tcp_sample& t);
  double cwnd_mean() const { return samples ? static_cast<double>(cwnd_sum) / samples : 0; }
};

struct FlowDirStats {
  uint64_t packets = 0, bytes = 0;     // bytes: skb->len, as the direction's
  uint64_t first_ts = 0, last_ts = 0;  // first point of the first / last packet counted
  Histogram total;                     // the direction's `total` span
  uint64_t drops = 0;
  uint64_t segments = 0;     // TCP segments with data
  uint64_t retransmits = 0;  // TCP data whose sequence range had already passed the device
  uint32_t high_seq = 0;     // the highest sequence end seen (TCP), once seq_valid
  bool seq_valid = false;
  uint32_t mss = 0;  // the largest TCP payload of one segment seen
  // Acknowledgement of this direction's data by ACKs the other way, for idle stalls.
  uint32_t acked = 0;  // the highest ACK seen, once ack_valid
  bool ack_valid = false;
  uint64_t waiting_since = 0;      // data outstanding, nothing new acknowledged since: 0 none
  bool closed = false;             // the other side closed (FIN) or either reset: no more waits
  uint64_t retransmits_since = 0;  // retransmits when waiting began
  // TCP's retransmission timer: the current wait's retransmissions of its first unacked
  // byte and when the last segment was sent again; the waits that ended as soon as a
  // retransmission was answered (a loss repaired, no stall), and the longest of them.
  uint32_t head_resent = 0;
  uint64_t last_resent_ts = 0;
  uint64_t timeout_waits = 0, timeout_wait_max_ns = 0;
  // The current wait's phases: the peer's packets meanwhile and the hole's retransmissions.
  PhaseWatch phases;
  // The round trip the device sees for this direction's data: from a segment passing it
  // to the first ACK, the other way, that covers it (Karn: not for data sent again).
  Histogram rtt;
  std::deque<std::pair<uint32_t, uint64_t>> unacked;  // (sequence end, passed at), <= kMaxUnacked
  // TX only: the local socket behind this direction's data, and the segments it sent
  // again as the host counts them (tcp:tcp_retransmit_skb), beside the device's count.
  LocalSocket local;
  uint64_t host_retransmits = 0;
  // Small segments held until a delayed ACK (seed 003).
  NagleStats nagle;

  // The Mathis bound on a TCP flow's rate, MSS / RTT * 1.22 / sqrt(p), p the share of
  // data segments sent again: bit/s, or 0 when there is no loss or no RTT.
  double mathis_bits_per_s() const;

  // Bytes per second over the flow's own span of time in this direction.
  double bits_per_s() const {
    return last_ts > first_ts ? bytes * 8e9 / static_cast<double>(last_ts - first_ts) : 0;
  }
};

struct FlowStat {
  FlowKey key;
  bool defined = false;  // its TL_FLOW event came (else its key is unknown)
  std::array<FlowDirStats, 2> dirs;
  uint64_t live_mark = 0;  // packets at the last live block

  uint64_t packets() const { return dirs[0].packets + dirs[1].packets; }
  uint64_t bytes() const { return dirs[0].bytes + dirs[1].bytes; }
};

// A TCP segment as the device passed it (TX: handed to the driver, RX: taken by the
// stack), for retransmissions: they must be seen in the device's order.
struct SeqPass {
  uint64_t ts_ns;
  uint32_t flow, seq, ack, payload;
  uint8_t dir, tcp_flags;
  uint16_t win;
};
inline constexpr size_t kMaxUnacked = 256;  // RTT samples waiting for their ACK, per direction
inline bool reorder_before(const SeqPass& a, const SeqPass& b) { return a.ts_ns < b.ts_ns; }

// The flows of a trace, by the ids ingest gave them (in order of first sight). Bounded:
// a hostile recording may name 2^32 flows; beyond kMaxFlows they are counted together
// under kOtherFlow (and their definitions ignored).
class FlowTable {
 public:
  static constexpr size_t kMaxFlows = 1024;

  // stall_ns: a TCP flow's data unacknowledged this long, with nothing new acknowledged,
  // is an idle stall.
  explicit FlowTable(uint64_t stall_ns = 200'000'000)
      : stall_ns_(stall_ns), seq_order_(kSeqWindowNs, kMaxSeqBuffered) {}
  void define(const FlowDefinition& f);
  // A packet that ended: total_ns is its `total` span, or -1 if it has none.
  void count(const Journey& j, int64_t total_ns);
  // Every pass, in arrival order: a packet's summary and the point where the device
  // passed it (TX xmit, RX receive), which come in one record, for retransmissions. Its
  // journey may end seconds later (evicted): too late to tell the device's order.
  void on_pass(const PacketPass& p);
  // The host sent a segment of its socket's flow again.
  void on_host_retransmit(const HostRetransmit& r);
  // The trace ended at end_ns: the segments still waiting for their turn, then data
  // still unacknowledged that long is an ongoing idle stall.
  void finish(uint64_t end_ns);

  const std::map<uint32_t, FlowStat>& flows() const { return flows_; }
  const std::vector<Stall>& idle_stalls() const { return idle_; }  // at most kMaxStalls
  uint64_t retransmits() const { return retransmits_; }
  uint64_t host_retransmits() const { return host_retransmits_; }
  bool any() const { return !flows_.empty(); }
  // The flow with the most packets since the last call (nullptr: none), for live blocks.
  std::pair<const FlowStat*, uint64_t> busiest_since_last();

 private:
  FlowStat& get(uint32_t id);
  void on_segment(const SeqPass& p);
  void on_ack(uint32_t flow, FlowDirStats& data, const SeqPass& ack, Dir data_dir);
  // data's wait ends at end_ns: an idle stall if it lasted stall_ns_, unless it was TCP
  // repairing a loss by its retransmission timer (timeout_waits).
  // by: the packet that ended it (nullptr: the trace's end).
  void end_wait(uint32_t flow, FlowDirStats& data, Dir data_dir, uint64_t end_ns, int end_point, IdleEnd how,
                const SeqPass* by);
  static void start_wait(FlowDirStats& d, uint64_t since);
  // A packet of the peer of data's direction that acknowledged nothing new, in its wait.
  void on_peer(FlowDirStats& data, const SeqPass& p);

  uint64_t stall_ns_;
  std::vector<Stall> idle_;
  // The least time a retransmission's answer is given to come back (the device's RTT p90
  // doubled, when longer).
  static constexpr uint64_t kMinAnswerNs = 10'000'000;

  // Records arrive nearly in the order sent (a TX packet's waits for its read, 200 ms at
  // most: core/ingest/address_join.h): 500 ms puts them back in the device's order.
  static constexpr uint64_t kSeqWindowNs = 500'000'000;
  static constexpr size_t kMaxSeqBuffered = size_t{1} << 18;  // 6 MiB
  Reorderer<SeqPass> seq_order_;
  struct Waiting {
    uint64_t skb = 0;
    uint32_t gen = 0;
    SeqPass pass{};  // pass.flow 0: none
  } waiting_;        // the summary whose passing point comes next

  std::map<uint32_t, FlowStat> flows_;
  uint64_t retransmits_ = 0;
  uint64_t host_retransmits_ = 0;
};

}  // namespace tunlat
