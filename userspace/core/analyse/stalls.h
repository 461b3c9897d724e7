// SPDX-License-Identifier: MIT
// Stalls: intervals in which a stage holds packets and none leaves it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/analyse/span.h"
#include "core/analyse/stall_phases.h"
#include "core/model/journey.h"

namespace tunlat {

// A stall lasts at least this many times the stage's usual (p50) gap between packets
// leaving it: shorter ones are the stage's pace.
inline constexpr uint64_t kStallOverGap = 4;

// A stuck stage's resumption is put down to a packet's arrival only if that packet came
// at most this long before the stage released its first packet (its lead): a reader woken
// by it reads within microseconds on an idle machine, later on a loaded one (measured: 13
// ms from a ping's queue to the woken tapreader's read, 2 vCPUs busy with 4 compilers).
inline constexpr uint64_t kTriggerWindowNs = 50'000'000;
// ... and only if packets like it came at least this many times its lead apart before
// it (its quiet: the gap since the last one, and their mean gap since the stall began,
// whichever is shorter). A packet of a steady stream just before the reader came back is
// no evidence that it woke the reader (one fell that close by coincidence at most 1 time
// in this many), a lone arrival after a long quiet is. Like it: any packet, for one of a
// flow the waiting packets were of; for one of a new flow, those of new flows, so that a
// ping amid a stream stands out. Of several that qualify, the least likely coincidence
// (the largest quiet over lead) is taken.
inline constexpr uint64_t kTriggerQuietOverLead = 20;

// A packet that passed through a stage: the flight recorder keeps the last few.
struct StagePass {
  uint64_t enter_ns = 0, leave_ns = 0;
  uint32_t pid = 0, tid = 0, len = 0;
  std::array<char, TL_COMM_LEN> comm{};
  PacketSummary sum{};  // who the packet is (sum.flow 0: unknown)
  uint32_t payload = 0;
};

// The packet whose arrival at the device came last before a stuck stage released its
// first packet, close enough before it to be what woke the reader (seed 004: a transfer
// stuck until a ping went through): kTriggerWindowNs, kTriggerQuietOverLead.
struct StallTrigger {
  uint64_t arrive_ns = 0;  // its first point on the device (TX: queue)
  int arrive_point = -1;
  uint64_t enter_ns = 0, leave_ns = 0;  // into and out of the stage; leave 0: not seen
  uint32_t pid = 0, tid = 0;            // the task that sent it (TX queue), 0: unknown
  std::array<char, TL_COMM_LEN> comm{};
  uint32_t len = 0, payload = 0;
  PacketSummary sum{};
  bool new_flow = false;  // of a flow none of the packets waiting before it was of
  uint64_t quiet_ns = 0;  // how long nothing like it had arrived before it (see above)
};

// How an idle stall ended: an ACK covering new data, the other side closing (its FIN)
// or either side resetting with the data still unacknowledged.
enum class IdleEnd : uint8_t { Ack, PeerFin, Reset };
inline const char* idle_end_name(IdleEnd e) {
  return e == IdleEnd::Ack ? "ack" : e == IdleEnd::PeerFin ? "fin" : "reset";
}
// What ended it, as a report's sentence ends: "... until <phrase>".
inline const char* idle_end_phrase(IdleEnd e) {
  return e == IdleEnd::Ack       ? "an ACK covering new data came back"
         : e == IdleEnd::PeerFin ? "the other side closed the connection (FIN) without acknowledging it"
                                 : "the connection was reset (RST)";
}

// `Stuck`: packets waited in `stage` from start_ns to end_ns and none left it. `Idle`: a
// TCP flow's data in direction dir had passed the device and nothing new of it was
// acknowledged (core/analyse/flows), from start_ns until end_ns (see idle_end; ongoing:
// still waiting when the trace ended).
enum class StallKind : uint8_t { Stuck, Idle };
inline const char* stall_kind_name(StallKind k) { return k == StallKind::Idle ? "idle" : "stuck"; }

struct Stall {
  StallKind kind = StallKind::Stuck;
  uint32_t flow = 0;         // idle: the flow's id
  uint64_t retransmits = 0;  // idle: its data sent again meanwhile (not progress)
  IdleEnd idle_end = IdleEnd::Ack;
  uint64_t unacked = 0;  // idle: bytes outstanding when it ended
  Dir dir = Dir::Tx;
  Span stage = Span::Ring;  // stuck: the queue span that held the packets (TX qdisc, ring)
  uint64_t start_ns = 0, end_ns = 0;
  bool ongoing = false;           // still stuck when the trace ended: end_ns is the trace's end
  uint64_t queued = 0;            // packets in the stage when it ended (they left right after, in order)
  int end_point = -1;             // the point whose pass ended it (-1: ongoing)
  StagePass ended_by;             // the first packet out, which ended it: it had waited longest
  bool triggered = false;         // a packet's arrival came just before the stage resumed:
  StallTrigger trigger;           // what woke the reader, as far as timing tells
  std::vector<StagePass> before;  // the last packets through the stage before it, oldest first
  // Idle: what the peer did meanwhile, in order (stall_phases.h), and when the first
  // unacknowledged byte (the hole) was sent again: TCP's retransmission timer, backing off.
  // ended_by.sum and ended_by.payload: the packet that ended it (sum.flow 0: none).
  std::vector<StallPhase> phases;
  std::vector<uint64_t> hole_resent;
};

// What ended a stuck stall, as the summary's ended_by.cause says: the arrival that woke the
// stage (triggered), else the first packet out leaving it.
inline const char* stuck_end_name(bool triggered) { return triggered ? "arrival" : "leave"; }

// Watches one stage of one direction (enter point -> leave point) in the order packets
// leave it, which is the order their journeys end in: TX packets end at the VPN's read and
// free, and ingest passes records on in the order they were sent.
class StageWatch {
 public:
  StageWatch(Dir dir, Span stage, uint64_t threshold_ns)
      : dir_(dir),
        stage_(stage),
        enter_(span_def(dir, stage).from),
        leave_(span_def(dir, stage).to),
        threshold_ns_(threshold_ns) {}

  void on_journey(const Journey& j, End how);
  // The trace ended at end_ns: a stage still holding a packet that long is an ongoing stall.
  void finish(uint64_t end_ns);

  const std::vector<Stall>& stalls() const { return stalls_; }
  Dir dir() const { return dir_; }
  int exit_point() const { return leave_; }
  uint64_t dropped_stalls() const { return dropped_; }  // beyond kMaxStalls, counted only

  static constexpr size_t kMaxStalls = 64;
  static constexpr size_t kFlightRecorder = 8;

 private:
  void add(Stall s);
  void consider_trigger(const Journey& j, uint64_t enter, uint64_t leave);

  Dir dir_;
  Span stage_;
  int enter_, leave_;
  uint64_t threshold_ns_;
  uint64_t last_leave_ = 0;
  uint64_t last_enter_left_ = 0;  // the latest entry of a packet that left
  std::deque<StagePass> recent_;  // the flight recorder
  int counting_ = -1;             // the last stall, while the packets queued through it leave
  // While counting_: the arrival of the last packet counted, and the flows of those that
  // waited so far (at most kMaxWaitingFlows; beyond, no flow counts as new).
  uint64_t prev_arrival_ = 0;
  uint64_t prev_new_flow_ = 0;             // the last arrival of a new flow, or the stall's start
  uint64_t arrivals_ = 0, new_flows_ = 0;  // since the stall began: packets, new flows
  double trigger_score_ = 0;               // the taken trigger's quiet over lead
  std::vector<uint32_t> waiting_flows_;
  bool waiting_flows_full_ = false;
  static constexpr size_t kMaxWaitingFlows = 64;
  uint64_t waiting_since_ = 0;  // the oldest packet that never left (flushed), 0: none
  uint64_t waiting_ = 0;        // how many never left
  std::vector<Stall> stalls_;
  uint64_t dropped_ = 0;
};

}  // namespace tunlat
