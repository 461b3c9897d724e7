// SPDX-License-Identifier: MIT
// Correlates packet passes into per-packet journeys (skb address + generation).
#include "core/correlate/correlator.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tunlat {

namespace {
constexpr uint64_t kSweepEveryNs = 500'000'000;  // eviction scan period (event time)
}  // namespace

std::array<char, TL_COMM_LEN> Correlator::comm_of_tid(uint32_t tid) const {
  auto it = comm_by_tid_.find(tid);
  return it != comm_by_tid_.end() ? it->second : std::array<char, TL_COMM_LEN>{};
}

void Correlator::on_comm(const CommRecord& c) {
  advance(c.ts_ns);
  auto it = comm_by_tid_.find(c.tid);
  if (it == comm_by_tid_.end()) {
    // Bounded: a file may name 4 billion threads. Any one goes; its next comm record
    // brings its name back.
    if (comm_by_tid_.size() >= kMaxThreads) comm_by_tid_.erase(comm_by_tid_.begin());
    it = comm_by_tid_.emplace(c.tid, std::array<char, TL_COMM_LEN>{}).first;
  }
  it->second = c.comm;
}

void Correlator::advance(uint64_t ts_ns) {
  now_ = std::max<uint64_t>(now_, ts_ns);
  if (now_ >= next_sweep_) {
    sweep(now_);
    next_sweep_ = now_ + kSweepEveryNs;
  }
}

void Correlator::push(const PacketPass& e) {
  advance(e.ts_ns);
  Journey& j = journey_of(e);
  if (!j.ts[e.point]) {
    j.ts[e.point] = e.ts_ns;
    j.cpu[e.point] = e.cpu;
  }
  j.last_ts = std::max<uint64_t>(j.last_ts, e.ts_ns);
  j.flags |= e.flags;
  if (e.summary) {
    j.sum = *e.summary;
    j.payload = e.payload;
    j.ip_id = e.ip_id;
  }
  switch (e.point) {
    case TL_READ:
    case TL_INJECT:
      j.pid = e.pid;
      j.tid = e.tid;
      break;
    case TL_QUEUE:
      if (e.pid) {
        j.sender_pid = e.pid;
        j.sender_tid = e.tid;
      }
      break;
    case TL_XMIT_DONE:
      j.xmit_rc = e.code;
      break;
    case TL_TAKEN:
      if (e.tcp) {
        j.tcp = *e.tcp;
        j.has_tcp = true;
      }
      break;
    case TL_DELIVER:
      if (!(e.flags & TL_F_FORWARDED)) {
        j.recv_pid = e.pid;
        j.recv_tid = e.tid;
      }
      break;
    case TL_FREE:
      if (e.flags & TL_F_DROP) {
        j.drop_reason = e.code;
        j.drop_location = e.drop_location;
      }
      j.free_pid = e.pid;
      j.free_tid = e.tid;
      end(j, End::Freed);
      break;
    default:
      break;
  }
  // The kernel gave the packet's slot up: nothing more of it will come.
  if ((e.flags & TL_F_LAST) && e.point != TL_FREE) end(j, End::Freed);
}

// The packet e belongs to: the open one, the one waiting in live_, or a new one.
Journey& Correlator::journey_of(const PacketPass& e) {
  auto is_of = [&](const Journey& j) { return j.skb == e.skb && j.gen == e.gen; };
  if (open_ && is_of(open_journey_)) return open_journey_;
  if (current_in_live_ && is_of(*current_in_live_)) return *current_in_live_;
  park_open();
  // The kernel flags a packet's first event (recordings made before it did not).
  if (!(e.flags & TL_F_FIRST) && (current_in_live_ = live_.find(e.skb, e.gen))) return *current_in_live_;
  current_in_live_ = nullptr;
  // The kernel assigns a generation at first sighting, so a new key is a new packet
  // even when the address was used a moment ago.
  open_journey_ = Journey{};
  open_ = true;
  Journey& j = open_journey_;
  j.skb = e.skb;
  j.gen = e.gen;
  j.dir = e.dir == TL_RX ? Dir::Rx : Dir::Tx;
  j.len = e.len;
  stats_.journeys++;
  // A GSO segment comes with its parent's queue/enqueue/dequeue (TL_F_INHERITED), or
  // its parent was not found.
  if (e.flags & TL_F_SEGMENT) ++((e.flags & TL_F_INHERITED) ? stats_.segments : stats_.orphan_segments);
  return j;
}

// The open packet's record ended before its path did: it waits in live_ for the rest.
void Correlator::park_open() {
  if (!open_) return;
  if (live_.size() >= max_live_) evict_for_room();
  live_.insert(open_journey_);
  due_.emplace(open_journey_.last_ts + ttl_of(open_journey_), open_journey_.skb, open_journey_.gen);
  open_ = false;
  stats_.max_live = std::max<uint64_t>(stats_.max_live, live_.size());
  // Entries of packets that ended stay in due_ until their time; if time stands still (a
  // crafted file), rebuild it from the live ones so it cannot outgrow them.
  if (due_.size() > 2 * live_.size() + 1024) {
    std::vector<Due> keep;
    keep.reserve(live_.size());
    live_.for_each([&](Journey& j) { keep.emplace_back(j.last_ts + ttl_of(j), j.skb, j.gen); });
    due_ = decltype(due_)(std::greater<>(), std::move(keep));
  }
}

// live_ is full: the packet due soonest for eviction goes now, as the TTL would end it.
void Correlator::evict_for_room() {
  while (!due_.empty()) {
    auto [due, skb, gen] = due_.top();
    due_.pop();
    if (Journey* j = live_.find(skb, gen)) {
      stats_.evicted_by_limit++;
      end(*j, End::Evicted);
      return;
    }
  }
}

void Correlator::end(Journey& j, End how) {
  // comm by thread: the kernel sends it apart, once per thread and CPU.
  if (j.pid) j.comm = comm_of_tid(j.tid);
  if (j.free_pid) j.free_comm = comm_of_tid(j.free_tid);
  if (j.recv_pid) j.recv_comm = comm_of_tid(j.recv_tid);
  if (j.sender_pid) j.sender_comm = comm_of_tid(j.sender_tid);
  if (how == End::Evicted) stats_.evicted++;
  sink_.on_journey(j, how);
  if (&j == &open_journey_) {
    open_ = false;
    return;
  }
  if (&j == current_in_live_) current_in_live_ = nullptr;
  live_.erase(j.skb, j.gen);
}

// Evicts the packets silent for longer than their TTL. A packet that heard more since it
// was parked gets its new due time instead.
void Correlator::sweep(uint64_t now) {
  park_open();
  while (!due_.empty() && std::get<0>(due_.top()) < now) {
    auto [due, skb, gen] = due_.top();
    due_.pop();
    Journey* j = live_.find(skb, gen);
    if (!j) continue;  // ended already
    if (j->last_ts + ttl_of(*j) < now)
      end(*j, End::Evicted);
    else
      due_.emplace(j->last_ts + ttl_of(*j), skb, gen);
  }
}

void Correlator::flush() {
  park_open();
  // Oldest first, so reports built from the flush are deterministic.
  std::vector<Journey*> left;
  left.reserve(live_.size());
  live_.for_each([&](Journey& j) { left.push_back(&j); });
  std::sort(left.begin(), left.end(), [](const Journey* x, const Journey* y) {
    return x->last_ts != y->last_ts ? x->last_ts < y->last_ts : x->skb < y->skb;
  });
  for (Journey* j : left) end(*j, End::Flushed);  // the slab keeps j while we go on
  due_ = {};
}

}  // namespace tunlat
