// SPDX-License-Identifier: MIT
#include "core/monitor/stall_watch.h"

#include <algorithm>

namespace tunlat {

void StallWatch::end(uint64_t at) {
  if (stalled_ && at > quiet_since_) ended_ns_ += at - quiet_since_;
  stalled_ = false;
  quiet_since_ = 0;
}

void StallWatch::poll(uint64_t now, uint64_t held, uint64_t last_release_ns) {
  const bool released = last_release_ns > last_release_;
  if (released) end(last_release_ns);  // a release ends a stall where it happened
  if (!held) {
    end(now);  // emptied without a release: a purge or drops ended the wait
  } else if (!quiet_since_) {
    // Waiting since the release just seen, else since this poll first saw them: a stall
    // is never longer than it was, and at most a poll shorter.
    quiet_since_ = released ? last_release_ns : now;
  }
  // A release may be stamped after the moment the caller took as now (it read the
  // kernel's sums after its clock): such a wait has not begun yet.
  if (quiet_since_ && !stalled_ && now > quiet_since_ && now - quiet_since_ >= threshold_ns_) {
    stalled_ = true;
    stalls_++;
  }
  last_release_ = std::max(last_release_, last_release_ns);
  last_poll_ = now;
}

double StallWatch::stall_seconds() const {
  uint64_t ns = ended_ns_;
  if (stalled_ && last_poll_ > quiet_since_) ns += last_poll_ - quiet_since_;
  return static_cast<double>(ns) / 1e9;
}

}  // namespace tunlat
