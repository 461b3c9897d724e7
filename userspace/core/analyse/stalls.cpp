// SPDX-License-Identifier: MIT
// Stalls: intervals in which a stage holds packets and none leaves it.
#include "core/analyse/stalls.h"

#include <algorithm>

namespace tunlat {

namespace {

StagePass pass_of(const Journey& j, uint64_t enter, uint64_t leave) {
  return StagePass{enter, leave, j.pid, j.tid, j.len, j.comm, j.sum, j.payload};
}

// When a packet reached the device: its direction's first point (TX: queue), else its
// entry into the stage. A reader woken by a packet may be woken before the packet enters
// its stage (a packet socket sees a TX packet just before the driver does).
uint64_t arrival_of(const Journey& j, uint64_t enter, int enter_point, int& point) {
  for (int p : points_of(j.dir)) {
    if (!j.ts[p]) continue;
    if (j.ts[p] > enter) break;
    point = p;
    return j.ts[p];
  }
  point = enter_point;
  return enter;
}

bool known_flow(uint32_t flow) { return flow && flow != kOtherFlow; }

}  // namespace

// A packet counted as one that waited through the last stall (or the first to come after
// it): was its arrival what woke the stage? Packets come here in the order they entered
// the stage.
void StageWatch::consider_trigger(const Journey& j, uint64_t enter, uint64_t leave) {
  Stall& s = stalls_[counting_];
  int point = enter_;
  const uint64_t arrive = arrival_of(j, enter, enter_, point);
  const uint32_t flow = j.sum.flow;
  bool new_flow = false;
  if (known_flow(flow) && !waiting_flows_full_ &&
      std::find(waiting_flows_.begin(), waiting_flows_.end(), flow) == waiting_flows_.end()) {
    new_flow = true;
    if (waiting_flows_.size() < kMaxWaitingFlows)
      waiting_flows_.push_back(flow);
    else
      waiting_flows_full_ = true;  // too many to tell a new one: none is from now on
  }
  // How far apart packets like it came before it (stalls.h, kTriggerQuietOverLead).
  const uint64_t last = new_flow ? prev_new_flow_ : prev_arrival_;
  const uint64_t like_before = new_flow ? new_flows_ + 1 : std::max<uint64_t>(arrivals_, 1);
  const uint64_t since_start = arrive > s.start_ns ? arrive - s.start_ns : 0;
  const uint64_t quiet = std::min(arrive > last ? arrive - last : 0, since_start / like_before);
  prev_arrival_ = std::max(prev_arrival_, arrive);
  arrivals_++;
  if (new_flow) {
    prev_new_flow_ = std::max(prev_new_flow_, arrive);
    new_flows_++;
  }
  if (s.ongoing || arrive <= s.start_ns || arrive > s.end_ns) return;
  const uint64_t lead = s.end_ns - arrive;
  if (lead > kTriggerWindowNs) return;
  // Queued by the very task that then read: it was running already (e.g. a VPN whose
  // write of an ACK made TCP send more data, in its own system call), not woken by it.
  if (j.sender_pid && j.sender_pid == s.ended_by.pid) return;
  const uint64_t lead1 = std::max<uint64_t>(lead, 1);
  if (quiet < kTriggerQuietOverLead * lead1) return;
  const double score = static_cast<double>(quiet) / static_cast<double>(lead1);
  if (s.triggered && score < trigger_score_) return;  // a likelier coincidence than the one taken
  trigger_score_ = score;
  StallTrigger& t = s.trigger;
  s.triggered = true;
  t.arrive_ns = arrive;
  t.arrive_point = point;
  t.enter_ns = enter;
  t.leave_ns = leave;
  t.pid = j.sender_pid;
  t.tid = j.sender_tid;
  t.comm = j.sender_comm;
  t.len = j.len;
  t.payload = j.payload;
  t.sum = j.sum;
  t.new_flow = new_flow;
  t.quiet_ns = quiet;
}

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
    const bool waited = enter <= stalls_[counting_].end_ns;
    if (waited) stalls_[counting_].queued++;
    consider_trigger(j, enter, leave);
    if (!waited) counting_ = -1;
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
    if (counting_ >= 0) {  // the packets that waited with this one follow it: see consider_trigger
      int point = enter_;
      prev_arrival_ = arrival_of(j, enter, enter_, point);
      prev_new_flow_ = stalls_[counting_].start_ns;
      arrivals_ = 1;  // this one
      new_flows_ = 0;
      trigger_score_ = 0;
      waiting_flows_.clear();
      waiting_flows_full_ = false;
      if (known_flow(j.sum.flow)) waiting_flows_.push_back(j.sum.flow);
    }
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
