// SPDX-License-Identifier: MIT
// Stalls: intervals in which a stage holds packets and none leaves it.
#include "core/analyse/stalls.h"

#include <algorithm>

namespace tunlat {

namespace {

StagePass pass_of(const Journey& j, uint64_t enter, uint64_t leave) {
  return StagePass{enter, leave, j.pid, j.tid, j.len, j.comm};
}

}  // namespace

void StageWatch::on_journey(const Journey& j, End how) {
  if (j.segmented_parent() || j.dir != dir_) return;  // its segments are the packets
  const uint64_t enter = j.ts[enter_], leave = j.ts[leave_];
  if (!enter) return;
  if (!leave) {
    // Still in the stage when the trace ended: the stage may be stuck for good. Not if a
    // packet that came after it left (the stage is FIFO): then this one's leaving was not
    // seen (its events lost), which says nothing of the stage.
    if (how == End::Flushed && !(j.flags & TL_F_DROP) && enter >= last_enter_left_) {
      waiting_since_ = waiting_since_ ? std::min(waiting_since_, enter) : enter;
      waiting_++;
    }
    return;
  }
  // The stage is FIFO (a qdisc's band, the tun ring): the packets it held when the last
  // stall ended leave right after the one that ended it, all entered before that.
  if (counting_ >= 0) {
    if (enter <= stalls_[counting_].end_ns)
      stalls_[counting_].queued++;
    else
      counting_ = -1;
  }
  if (leave < last_leave_ || leave < enter) return;  // another CPU's, a moment late; clock skew
  // Nothing left the stage since last_leave_ (or since this packet came, if later), and
  // this packet was in it all the while.
  const uint64_t since = std::max(last_leave_, enter);
  if (leave - since >= threshold_ns_) {
    Stall s;
    s.dir = dir_;
    s.stage = stage_;
    s.start_ns = since;
    s.end_ns = leave;
    s.queued = 1;
    s.end_point = leave_;
    s.ended_by = pass_of(j, enter, leave);
    s.before.assign(recent_.begin(), recent_.end());
    add(std::move(s));
  }
  last_enter_left_ = std::max(last_enter_left_, enter);
  recent_.push_back(pass_of(j, enter, leave));
  if (recent_.size() > kFlightRecorder) recent_.pop_front();
  last_leave_ = leave;
}

void StageWatch::finish(uint64_t end_ns) {
  if (!waiting_) return;
  const uint64_t since = std::max(last_leave_, waiting_since_);
  if (end_ns <= since || end_ns - since < threshold_ns_) return;
  Stall s;
  s.dir = dir_;
  s.stage = stage_;
  s.start_ns = since;
  s.end_ns = end_ns;
  s.ongoing = true;
  s.queued = waiting_;
  s.before.assign(recent_.begin(), recent_.end());
  waiting_ = 0;  // said once, however often the pipeline is flushed
  add(std::move(s));
}

void StageWatch::add(Stall s) {
  counting_ = -1;
  if (stalls_.size() >= kMaxStalls) {
    dropped_++;
    return;
  }
  stalls_.push_back(std::move(s));
  counting_ = static_cast<int>(stalls_.size()) - 1;
}

}  // namespace tunlat
