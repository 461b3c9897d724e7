// SPDX-License-Identifier: MIT
// An idle stall's phases: what the peer did while a TCP flow's data waited for its ACK.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/flow.h"

namespace tunlat {

// What the peer (the flow's other direction at the device) did in a part of an idle
// stall. Silent: nothing came from it. Hole: it acknowledged again and again the first
// byte still unacknowledged (duplicate ACKs: it holds data above a hole; a receiver
// that SACKs sends them too, with the blocks, which the record does not carry).
// Answering: it sent packets that acknowledged nothing new and were no duplicate ACKs
// (its own data, window updates).
enum class PhaseKind : uint8_t { Silent, Hole, Answering };
inline const char* phase_kind_name(PhaseKind k) {
  return k == PhaseKind::Silent ? "silent" : k == PhaseKind::Hole ? "hole" : "answering";
}

// What ended a phase: a packet from the peer (a silence's end), a silence (the peer's
// packets stopped), the stall's own end (its IdleEnd: an ACK, a FIN, a reset), or the
// trace's end (the stall was still going on).
enum class PhaseEnd : uint8_t { Peer, Silence, Stall, Trace };
inline const char* phase_end_name(PhaseEnd e) {
  return e == PhaseEnd::Peer      ? "peer"
         : e == PhaseEnd::Silence ? "silence"
         : e == PhaseEnd::Stall   ? "stall_end"
                                  : "trace_end";
}

// A packet as the device passed it, for a phase's end.
struct PeerPacket {
  uint64_t ts_ns = 0;
  PacketSummary sum{};  // sum.flow 0: none
  uint32_t payload = 0;
};

struct StallPhase {
  PhaseKind kind = PhaseKind::Silent;
  uint64_t start_ns = 0, end_ns = 0;
  PhaseEnd end = PhaseEnd::Stall;
  uint64_t peer_packets = 0, dup_acks = 0;  // the peer's packets in it, of them duplicate ACKs
  uint64_t resent = 0;                      // the hole sent again in it
  PeerPacket ended_by;                      // the packet that ended it (Peer, Stall), else none
};

// Follows one wait (a direction's data outstanding, nothing new acknowledged) from its
// start: the peer's packets and the retransmissions of the first unacknowledged byte (the
// hole), and cuts the wait into phases when it ends. A gap of silent_ns or more between
// the peer's packets (or the wait's start or end) is a silent phase; the packets between
// two silences are one phase, a hole if any was a duplicate ACK. A short run of packets
// at the very start, before a silence, is the tail of what the peer was answering before
// the wait (the ACKs of the last flight): the silent phase starts after it.
class PhaseWatch {
 public:
  static constexpr size_t kMaxPhases = 16;
  static constexpr size_t kMaxResent = 32;

  void start(uint64_t since_ns);
  void on_peer(const PeerPacket& p, bool dup_ack, uint64_t silent_ns);
  void on_hole_resent(uint64_t ts_ns);
  // The wait ended at end_ns (how: Stall or Trace; by: the packet that ended it, if any):
  // its phases, in order, and the times the hole was sent again.
  void finish(uint64_t end_ns, PhaseEnd how, const PeerPacket& by, uint64_t silent_ns,
              std::vector<StallPhase>& phases, std::vector<uint64_t>& resent) const;

 private:
  // The run of the peer's packets open since run_start_ ends at end_ns: a phase, unless
  // it is the wait's leading tail before a silence (see above).
  void close_run(uint64_t end_ns, PhaseEnd how, const PeerPacket& by, bool before_silence, uint64_t silent_ns,
                 std::vector<StallPhase>& out) const;

  uint64_t since_ = 0;
  uint64_t last_peer_ = 0;  // the peer's last packet in this wait, 0: none yet
  bool run_open_ = false;   // a run of the peer's packets since run_start_
  uint64_t run_start_ = 0, run_packets_ = 0, run_dups_ = 0;
  std::vector<StallPhase> phases_;  // closed so far, at most kMaxPhases
  std::vector<uint64_t> resent_;    // at most kMaxResent
};

}  // namespace tunlat
