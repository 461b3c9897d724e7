// SPDX-License-Identifier: MIT
// Nagle meeting delayed ACKs (seed 003): small segments held until an ACK the peer delays.
#include "core/analyse/nagle.h"

namespace tunlat {

void NagleStats::on_data(uint64_t ts_ns, bool small, bool resent, uint64_t gate_ns) {
  if (small) small_segments++;
  if (ack_ts_ && acked_counts_ && small && !resent && ts_ns >= ack_ts_ && ts_ns - ack_ts_ <= gate_ns &&
      ack_ts_ - acked_ts_ >= kMinAckDelayNs) {
    exchanges++;
    wait.add(ts_ns - acked_ts_);
    ack_delay.add(ack_ts_ - acked_ts_);
  }
  ack_ts_ = 0;
  last_ts_ = ts_ns;
  last_counts_ = small && !resent;
}

void NagleStats::on_ack_of_all(uint64_t ts_ns) {
  if (!last_ts_ || ts_ns < last_ts_) return;
  ack_ts_ = ts_ns;
  acked_ts_ = last_ts_;
  acked_counts_ = last_counts_;
}

}  // namespace tunlat
