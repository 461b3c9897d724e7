// SPDX-License-Identifier: MIT
// An idle stall's phases: what the peer did while a TCP flow's data waited for its ACK.
#include "core/analyse/stall_phases.h"

#include <algorithm>

namespace tunlat {

void PhaseWatch::start(uint64_t since_ns) {
  since_ = since_ns;
  last_peer_ = 0;
  run_open_ = false;
  run_start_ = run_packets_ = run_dups_ = 0;
  phases_.clear();
  resent_.clear();
}

void PhaseWatch::close_run(uint64_t end_ns, PhaseEnd how, const PeerPacket& by, bool before_silence,
                           uint64_t silent_ns, std::vector<StallPhase>& out) const {
  if (!run_open_) return;
  // The ACKs of the last flight, trickling in as the wait starts: not a phase of it.
  if (before_silence && out.empty() && run_start_ == since_ && end_ns - run_start_ < silent_ns) return;
  if (out.size() >= kMaxPhases) return;
  StallPhase ph;
  ph.kind = run_dups_ ? PhaseKind::Hole : PhaseKind::Answering;
  ph.start_ns = run_start_;
  ph.end_ns = end_ns;
  ph.end = how;
  ph.peer_packets = run_packets_;
  ph.dup_acks = run_dups_;
  if (how != PhaseEnd::Silence) ph.ended_by = by;
  out.push_back(ph);
}

void PhaseWatch::on_peer(const PeerPacket& p, bool dup_ack, uint64_t silent_ns) {
  if (!since_ || p.ts_ns < since_) return;
  const uint64_t from = last_peer_ ? last_peer_ : since_;
  if (p.ts_ns >= from && p.ts_ns - from >= silent_ns) {
    close_run(last_peer_, PhaseEnd::Silence, PeerPacket{}, true, silent_ns, phases_);
    if (phases_.size() < kMaxPhases) {
      StallPhase s;
      s.kind = PhaseKind::Silent;
      s.start_ns = from;
      s.end_ns = p.ts_ns;
      s.end = PhaseEnd::Peer;
      s.ended_by = p;
      phases_.push_back(s);
    }
    run_open_ = true;
    run_start_ = p.ts_ns;
    run_packets_ = run_dups_ = 0;
  } else if (!run_open_) {
    run_open_ = true;  // the peer answers from the wait's start
    run_start_ = since_;
    run_packets_ = run_dups_ = 0;
  }
  run_packets_++;
  if (dup_ack) run_dups_++;
  last_peer_ = std::max(last_peer_, p.ts_ns);
}

void PhaseWatch::on_hole_resent(uint64_t ts_ns) {
  if (since_ && resent_.size() < kMaxResent) resent_.push_back(ts_ns);
}

void PhaseWatch::finish(uint64_t end_ns, PhaseEnd how, const PeerPacket& by, uint64_t silent_ns,
                        std::vector<StallPhase>& phases, std::vector<uint64_t>& resent) const {
  phases = phases_;
  resent = resent_;
  if (!since_ || end_ns < since_) return;
  const uint64_t from = last_peer_ ? last_peer_ : since_;
  if (end_ns >= from && (end_ns - from >= silent_ns || !run_open_)) {
    close_run(last_peer_, PhaseEnd::Silence, PeerPacket{}, true, silent_ns, phases);
    StallPhase s;
    s.kind = PhaseKind::Silent;
    s.start_ns = from;
    s.end_ns = end_ns;
    s.end = how;
    s.ended_by = by;
    phases.push_back(s);  // the last phase, always told (beyond kMaxPhases if need be)
  } else {
    close_run(end_ns, how, by, false, silent_ns, phases);
    if (phases.size() >= kMaxPhases && phases.back().end_ns != end_ns) {
      StallPhase last;  // the run could not be kept: its end still is
      last.kind = run_dups_ ? PhaseKind::Hole : PhaseKind::Answering;
      last.start_ns = run_start_;
      last.end_ns = end_ns;
      last.end = how;
      last.ended_by = by;
      phases.push_back(last);
    }
  }
  // Each retransmission of the hole, in the phase it went out in.
  for (uint64_t t : resent)
    for (StallPhase& ph : phases)
      if (t >= ph.start_ns && t < ph.end_ns) {
        ph.resent++;
        break;
      }
}

}  // namespace tunlat
