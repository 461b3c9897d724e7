// SPDX-License-Identifier: MIT
// Stalls: intervals in which a stage holds packets and none leaves it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/model/journey.h"

namespace tunlat {

// A stall lasts at least this many times the stage's usual (p50) gap between packets
// leaving it: shorter ones are the stage's pace.
inline constexpr uint64_t kStallOverGap = 4;

// A packet that passed through a stage: the flight recorder keeps the last few.
struct StagePass {
  uint64_t enter_ns = 0, leave_ns = 0;
  uint32_t pid = 0, tid = 0, len = 0;
  std::array<char, TL_COMM_LEN> comm{};
};

// `stuck`: packets waited in `stage` from start_ns to end_ns and none left it. `idle`: a
// TCP flow's data in direction dir had passed the device and nothing new of it was
// acknowledged (core/analyse/flows), from start_ns until the ACK at end_ns.
struct Stall {
  std::string kind = "stuck";
  uint32_t flow = 0;          // idle: the flow's id
  uint64_t retransmits = 0;   // idle: its data sent again meanwhile (not progress)
  Dir dir = Dir::Tx;
  std::string stage;         // a span name: "qdisc", "ring"
  uint64_t start_ns = 0, end_ns = 0;
  bool ongoing = false;      // still stuck when the trace ended: end_ns is the trace's end
  uint64_t queued = 0;       // packets in the stage when it ended (they left right after, in order)
  int end_point = -1;        // the point whose pass ended it (-1: ongoing)
  StagePass ended_by;        // the packet that ended it: it had waited longest
  std::vector<StagePass> before;  // the last packets through the stage before it, oldest first
};

// Watches one stage of one direction (enter point -> leave point) in the order packets
// leave it, which is the order their journeys end in: TX packets end at the VPN's read and
// free, and ingest passes records on in the order they were sent.
class StageWatch {
 public:
  StageWatch(Dir dir, std::string stage, int enter, int leave, uint64_t threshold_ns)
      : dir_(dir), stage_(std::move(stage)), enter_(enter), leave_(leave), threshold_ns_(threshold_ns) {}

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

  Dir dir_;
  std::string stage_;
  int enter_, leave_;
  uint64_t threshold_ns_;
  uint64_t last_leave_ = 0;
  uint64_t last_enter_left_ = 0;  // the latest entry of a packet that left
  std::deque<StagePass> recent_;  // the flight recorder
  int counting_ = -1;             // the last stall, while the packets queued through it leave
  uint64_t waiting_since_ = 0;    // the oldest packet that never left (flushed), 0: none
  uint64_t waiting_ = 0;          // how many never left
  std::vector<Stall> stalls_;
  uint64_t dropped_ = 0;
};

}  // namespace tunlat
