// Correlates point events into per-packet journeys (skb address + generation).
#include "correlator.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tunlat {

namespace {
constexpr uint64_t kSweepEveryNs = 500'000'000;  // eviction scan period (event time)
constexpr uint64_t kParentTtlNs = 1'000'000'000;  // segments follow parents within µs
constexpr std::array<int, 3> kInherited{TL_QUEUE, TL_ENQUEUE, TL_DEQUEUE};
}  // namespace

std::array<char, TL_COMM_LEN> Correlator::comm_of_tid(uint32_t tid) const {
  auto it = comm_by_tid_.find(tid);
  return it != comm_by_tid_.end() ? it->second : std::array<char, TL_COMM_LEN>{};
}

void Correlator::remember_comm(const Event& e) {
  std::memcpy(comm_by_tid_[e.tid].data(), e.comm, TL_COMM_LEN);
}

void Correlator::push(const Event& e) {
  sink_.on_event(e);
  if (e.ts_ns >= next_sweep_) {
    sweep(e.ts_ns);
    next_sweep_ = e.ts_ns + kSweepEveryNs;
  }
  if (e.comm[0]) remember_comm(e);  // TL_COMM records, and events of older recordings
  if (e.point >= kPoints) return;

  Key key{e.skb, e.gen};
  auto it = live_.find(key);
  if (it == live_.end()) {
    // The kernel assigns a generation at first sighting, so a new key is a new packet
    // even when the address was used a moment ago.
    it = live_.emplace(key, Journey{}).first;
    Journey& j = it->second;
    j.skb = e.skb;
    j.gen = e.gen;
    j.dir = event_dir(e);
    j.len = e.len;
    stats_.journeys++;
    stats_.max_live = std::max<uint64_t>(stats_.max_live, live_.size());
    if (e.flags & TL_F_SEGMENT) inherit(j, e);
  }
  Journey& j = it->second;
  if (!j.ts[e.point]) {
    j.ts[e.point] = e.ts_ns;
    j.cpu[e.point] = e.cpu;
  }
  j.last_ts = e.ts_ns;
  j.flags |= e.flags;
  switch (e.point) {
    case TL_READ:
    case TL_INJECT:
      j.pid = e.pid;
      j.tid = e.tid;
      break;
    case TL_XMIT_DONE:
      j.xmit_rc = e.code;
      break;
    case TL_FREE:
      if (e.flags & TL_F_DROP) {
        j.drop_reason = e.code;
        j.drop_location = e.aux;
      }
      j.free_pid = e.pid;
      j.free_tid = e.tid;
      finish(it, End::Freed);
      break;
    default:
      break;
  }
}

// A segment's queue/enqueue/dequeue times: sent by the kernel with the segment, or (in
// recordings made before it did) taken from the parent's journey.
void Correlator::inherit(Journey& seg, const Event& e) {
  if (e.flags & TL_F_INHERITED) {
    stats_.segments++;  // the kernel sent the parent's times with the segment
    return;
  }
  Key parent{e.parent_skb, e.parent_gen};
  ParentStamps stamps;
  if (auto live = live_.find(parent); live != live_.end()) {
    for (size_t i = 0; i < kInherited.size(); i++) {
      stamps.ts[i] = live->second.ts[kInherited[i]];
      stamps.cpu[i] = live->second.cpu[kInherited[i]];
    }
  } else if (auto done = parents_.find(parent); done != parents_.end()) {
    stamps = done->second;
  } else {
    stats_.orphan_segments++;
    return;
  }
  stats_.segments++;
  for (size_t i = 0; i < kInherited.size(); i++) {
    seg.ts[kInherited[i]] = stamps.ts[i];
    seg.cpu[kInherited[i]] = stamps.cpu[i];
  }
}

void Correlator::finish(LiveMap::iterator it, End how) {
  Journey& j = it->second;
  // comm by thread: the kernel sends it apart, once per thread and CPU.
  if (j.pid) j.comm = comm_of_tid(j.tid);
  if (j.free_pid) j.free_comm = comm_of_tid(j.free_tid);
  if (j.segmented_parent()) {
    ParentStamps& p = parents_[it->first];
    for (size_t i = 0; i < kInherited.size(); i++) {
      p.ts[i] = j.ts[kInherited[i]];
      p.cpu[i] = j.cpu[kInherited[i]];
    }
    p.ended = j.last_ts;
  }
  if (how == End::Evicted) stats_.evicted++;
  sink_.on_journey(j, how);
  live_.erase(it);
}

void Correlator::sweep(uint64_t now) {
  std::vector<Key> stale;
  for (auto& [key, j] : live_) {
    uint64_t ttl = j.dir == Dir::Rx && j.seen(TL_RECEIVE) ? settled_ttl_ns_ : ttl_ns_;
    if (j.last_ts + ttl < now) stale.push_back(key);
  }
  for (const Key& k : stale) finish(live_.find(k), End::Evicted);
  for (auto it = parents_.begin(); it != parents_.end();)
    it = it->second.ended + kParentTtlNs < now ? parents_.erase(it) : std::next(it);
}

void Correlator::flush() {
  // Oldest first, so reports built from the flush are deterministic.
  std::vector<Key> keys;
  keys.reserve(live_.size());
  for (auto& [key, j] : live_) keys.push_back(key);
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    const Journey &x = live_.at(a), &y = live_.at(b);
    return x.last_ts != y.last_ts ? x.last_ts < y.last_ts : a.skb < b.skb;
  });
  for (const Key& k : keys) finish(live_.find(k), End::Flushed);
  parents_.clear();
}

}  // namespace tunlat
