// SPDX-License-Identifier: MIT
// The one analysis path, live or from a recording: correlate -> analyse, and pacing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/vpn.h"
#include "core/correlate/correlator.h"
#include "core/correlate/reorder.h"
#include "core/model/records.h"
#include "core/tunnel/tunnel_end.h"

namespace tunlat {

// What takes packets' first bytes (TL_BYTES): the pcapng output (core/report/pcapng.h).
class PacketBytesSink {
 public:
  virtual ~PacketBytesSink() = default;
  virtual void on_bytes(const PacketBytes& b) = 0;
};

struct PipelineOptions {
  uint64_t reorder_window_ns = 100'000'000;  // a packet's points arrive when its path ends
  uint64_t ttl_ns = 10'000'000'000;          // evict packets silent this long
  uint64_t settled_ttl_ns = 1'000'000'000;   // ... once RX protocol processing started
  uint64_t stall_ns = 200'000'000;           // a queue stage releasing nothing this long is stuck
  DeviceKind kind = DeviceKind::Tap;         // the device's model (core/model/device_model.h)
  // Memory is bounded whatever the input (docs/recording.md): packets waiting for more
  // records, and points waiting in each pacing stream's reorder window.
  size_t max_in_flight = kDefaultMaxLive;
  size_t max_reordered = size_t{1} << 16;  // per stream (20 of them): 1 MiB each
};

class Pipeline {
  // Where the reorder streams release their points.
  struct ToAnalysis {
    Analysis* analysis;
    void operator()(const PointPass& p) const { analysis->on_pass(p); }
  };
  // Journeys go to the packet analysis, to the VPN's, and to a tunnel's end if any.
  struct Fanout : JourneySink {
    Analysis* analysis;
    VpnAnalysis* vpn;
    JourneySink* tunnel = nullptr;
    Fanout(Analysis* a, VpnAnalysis* v) : analysis(a), vpn(v) {}
    void on_journey(const Journey& j, End how) override {
      analysis->on_journey(j, how);
      vpn->on_journey(j, how);
      if (tunnel) tunnel->on_journey(j, how);
    }
  };

 public:
  explicit Pipeline(const PipelineOptions& o = {})
      : analysis_(o.stall_ns, o.kind),
        fanout_(&analysis_, &vpn_),
        pacing_(2 * kPoints, Reorderer<PointPass>(o.reorder_window_ns, o.max_reordered)),
        correlator_(fanout_, o.ttl_ns, o.settled_ttl_ns, o.max_in_flight) {}

  // Events in arrival order, decoded here into their records (core/model/records.h).
  // Packets are correlated as their records come; pacing needs each point's passes in
  // time order across packets, so only those are reordered, one stream per direction and
  // point: packets arrive in the order their paths end, which is nearly the order in
  // which they passed any one point.
  void push(const Event& e) {
    if (!(e.flags & TL_F_UPGRADE)) seen_++;  // what the trace saw, not what an upgrade added
    newest_ = std::max(newest_, e.ts_ns);
    decode(e, [this](const auto& record) { route(record); });
  }
  // The end of the trace, at end_ns (CLOCK_MONOTONIC; 0: the newest event's time), which
  // started at start_ns (0: unknown).
  void flush(uint64_t end_ns = 0, uint64_t start_ns = 0) {
    for (auto& stream : pacing_) stream.flush(ToAnalysis{&analysis_});
    correlator_.flush();
    analysis_.finish(std::max(end_ns, newest_));
    vpn_.finish(start_ns, std::max(end_ns, newest_));
  }

  // Where packets' first bytes go (--pcapng): nowhere unless set. Before the first event.
  void set_bytes_sink(PacketBytesSink* sink) { bytes_sink_ = sink; }

  // The owners' sockets when the trace started (TraceInfo's owners): the VPN's underlay.
  // Before the first event.
  void set_underlay_sockets(const std::vector<uint64_t>& inodes) { vpn_.set_underlay_sockets(inodes); }

  // Where the packets and the VPN's pairs go when this device is one end of a traced
  // tunnel (core/tunnel/): nowhere unless set. Before the first event.
  void set_tunnel_end(TunnelEnd* end) {
    fanout_.tunnel = end;
    vpn_.set_pair_sink(end);
  }

  uint64_t seen() const { return seen_; }
  uint64_t late() const {
    uint64_t n = 0;
    for (const auto& stream : pacing_) n += stream.late();
    return n;
  }
  Analysis& analysis() { return analysis_; }
  const Analysis& analysis() const { return analysis_; }
  const VpnAnalysis& vpn() const { return vpn_; }
  const CorrelatorStats& correlation() const { return correlator_.stats(); }

 private:
  // The routing table: each kind of record and its consumers, in the order they get it.
  // analyse/ takes three inputs: records as they come (drops elsewhere, host
  // retransmissions, flows, the owners' doings), passes reordered per point (pacing), and
  // journeys (the correlator's, fanned out to Analysis and VpnAnalysis): docs/design.md.
  //
  //   record            consumers
  //   PacketPass        vpn (read, inject) | pacing -> analysis.on_pass | flows.on_pass |
  //                     correlator -> journeys -> analysis, vpn
  //   CommRecord        vpn | correlator (comm by tid)
  //   FlowDefinition    flows.define | correlator (its clock only)
  //   DropElsewhere     analysis
  //   HostRetransmit    flows
  //   OwnerSched        vpn
  //   UnderlaySend      vpn
  //   UnderlayRead      vpn
  //   PacketBytes       the bytes sink (--pcapng), if any
  void route(const PacketPass& p) {
    if (p.point == TL_READ || p.point == TL_INJECT) vpn_.on_pass(p);
    pace(p);
    analysis_.flows().on_pass(p);
    correlator_.push(p);
  }
  void route(const CommRecord& c) {
    vpn_.on_comm(c);
    correlator_.on_comm(c);
  }
  void route(const FlowDefinition& f) {
    analysis_.flows().define(f);
    correlator_.advance(f.ts_ns);
  }
  void route(const DropElsewhere& d) { analysis_.on_drop_elsewhere(d); }
  void route(const HostRetransmit& r) { analysis_.flows().on_host_retransmit(r); }
  void route(const OwnerSched& s) { vpn_.on_sched(s); }
  void route(const UnderlaySend& s) { vpn_.on_send(s); }
  void route(const UnderlayRead& r) { vpn_.on_read(r); }
  void route(const PacketBytes& b) {
    if (bytes_sink_) bytes_sink_->on_bytes(b);
  }

  // A pass into its stream; a quiet stream (a rare point) is released as time moves on
  // in the others.
  void pace(const PacketPass& p) {
    PointPass pass;
    if (!PointPass::of(p, pass)) return;
    pacing_[stream_of(pass)].push(pass, ToAnalysis{&analysis_});
    if (pass.ts_ns >= next_advance_) {
      for (auto& stream : pacing_) stream.advance(pass.ts_ns, ToAnalysis{&analysis_});
      next_advance_ = pass.ts_ns + kAdvanceEveryNs;
    }
  }

  static size_t stream_of(const PointPass& p) { return (p.dir == TL_RX ? kPoints : 0) + p.point; }
  static constexpr uint64_t kAdvanceEveryNs = 10'000'000;

  Analysis analysis_;
  VpnAnalysis vpn_;
  Fanout fanout_;
  std::vector<Reorderer<PointPass>> pacing_;  // per direction and point
  Correlator correlator_;
  PacketBytesSink* bytes_sink_ = nullptr;
  uint64_t seen_ = 0;
  uint64_t newest_ = 0;        // the newest event time seen
  uint64_t next_advance_ = 0;  // event time at which every stream is next moved on
};

}  // namespace tunlat
