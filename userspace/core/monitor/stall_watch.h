// SPDX-License-Identifier: MIT
// A queue stage's stalls, told from polls of what the kernel counts for it: the packets
// it holds and when it last released one (bpf/monitor.h). A stall: packets held and none
// released for at least the threshold; its length runs from the last release before it
// to the first after it (or until the stage emptied otherwise: a purge, a drop).
#pragma once

#include <cstdint>

namespace tunlat {

class StallWatch {
 public:
  explicit StallWatch(uint64_t threshold_ns) : threshold_ns_(threshold_ns) {}

  // A poll at now (the kernel's monotonic clock, as last_release_ns): packets held in the
  // stage, and the time of its last release (0: none yet).
  void poll(uint64_t now, uint64_t held, uint64_t last_release_ns);

  uint64_t stalls() const { return stalls_; }  // begun, the one going on included
  // Their length in seconds, the one going on counted up to the last poll.
  double stall_seconds() const;
  bool stalled() const { return stalled_; }

 private:
  void end(uint64_t at);

  const uint64_t threshold_ns_;
  uint64_t quiet_since_ = 0;  // held without a release since then; 0: not waiting
  uint64_t last_release_ = 0, last_poll_ = 0;
  uint64_t stalls_ = 0, ended_ns_ = 0;
  bool stalled_ = false;
};

}  // namespace tunlat
