// SPDX-License-Identifier: MIT
// Correlates point events into per-packet journeys (skb address + generation).
#pragma once

#include <array>
#include <cstdint>
#include <queue>
#include <tuple>
#include <vector>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/model/event.h"
#include "core/model/journey.h"
#include "core/correlate/journey_table.h"

namespace tunlat {

class JourneySink {
 public:
  virtual ~JourneySink() = default;
  virtual void on_journey(const Journey& j, End how) = 0;
};

struct CorrelatorStats {
  uint64_t journeys = 0;
  uint64_t evicted = 0;          // ended without their free: by the TTL or by the limit
  uint64_t segments = 0;         // GSO segments joined to their parent
  uint64_t orphan_segments = 0;  // segments whose parent was not found
  uint64_t max_live = 0;         // high-water mark of packets waiting for more records
  uint64_t evicted_by_limit = 0;  // ended early: max_live packets were waiting already
};

// Memory bounds whatever the input (a recording is untrusted): the tables below are keyed
// by values a file controls, so each has a cap; beyond it the oldest entry goes, counted.
inline constexpr size_t kDefaultMaxLive = size_t{1} << 18;  // ~60 MiB of waiting packets
inline constexpr size_t kMaxParents = size_t{1} << 16;      // GSO parents (old recordings)
inline constexpr size_t kMaxThreads = size_t{1} << 16;      // comm by tid

class Correlator {
 public:
  // ttl_ns: a packet silent that long is evicted (its free never came). settled_ttl_ns:
  // the same for RX packets already in protocol processing, whose free is often not
  // traced (TCP frees pure ACKs with __kfree_skb, which has no tracepoint).
  // max_live: packets waiting for more records at most; beyond it the one due soonest
  // for eviction is ended as evicted (as the TTL would) and counted in evicted_by_limit.
  Correlator(JourneySink& sink, uint64_t ttl_ns, uint64_t settled_ttl_ns, size_t max_live = kDefaultMaxLive)
      : sink_(sink), ttl_ns_(ttl_ns), settled_ttl_ns_(settled_ttl_ns), max_live_(max_live ? max_live : 1) {}

  // Events in arrival order. The kernel sends a packet's points in path order, in one
  // record when its path ends (RX: a second record for delivery, a third for the free),
  // and the tracer passes records on in the order they were sent: a packet's records
  // arrive in the order of its path, other packets' events in between.
  void push(const Event& e);
  void flush();  // ends every journey still in flight

  const CorrelatorStats& stats() const { return stats_; }
  size_t live() const { return live_.size() + (open_ ? 1 : 0); }

 private:
  struct Key {
    uint64_t skb;
    uint32_t gen;
    bool operator==(const Key& o) const { return skb == o.skb && gen == o.gen; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return (k.skb >> 6) * 0x9E3779B97F4A7C15ull ^ k.gen; }
  };
  // What a segment inherits from its parent: the points before segmentation.
  struct ParentStamps {
    std::array<uint64_t, TL_INHERITED_STAGES> ts{};  // as kInheritedPoints
    std::array<uint16_t, TL_INHERITED_STAGES> cpu{};
    uint64_t ended = 0;
  };

  Journey& journey_of(const Event& e);
  void park_open();
  void end(Journey& j, End how);  // reports j and forgets it
  void remember_comm(const Event& e);
  std::array<char, TL_COMM_LEN> comm_of_tid(uint32_t tid) const;
  void inherit(Journey& seg, const Event& e);
  void sweep(uint64_t now);
  void evict_for_room();

  JourneySink& sink_;
  uint64_t ttl_ns_, settled_ttl_ns_;
  size_t max_live_;
  JourneyTable live_;
  // When each packet parked in live_ is due for eviction, soonest on top: a sweep looks
  // at the top only. (due, skb, gen): a total order, so evictions are deterministic.
  using Due = std::tuple<uint64_t, uint64_t, uint32_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  uint64_t ttl_of(const Journey& j) const {
    return j.dir == Dir::Rx && j.seen(TL_RECEIVE) ? settled_ttl_ns_ : ttl_ns_;
  }
  // The packet of the record being read. Most records hold a whole path (TX ends at the
  // free): such a packet never enters live_, which holds the ones waiting for more.
  Journey open_journey_;
  bool open_ = false;
  // The packet of the last event, when it waits in live_: its next events skip the lookup.
  Journey* current_in_live_ = nullptr;
  // Recently segmented GSO parents, for recordings whose segments do not carry their
  // parent's times yet.
  std::unordered_map<Key, ParentStamps, KeyHash> parents_;
  bool kernel_sends_parent_times_ = false;
  // The kernel sends a thread's comm only when it changes on a CPU: remember it by tid.
  std::unordered_map<uint32_t, std::array<char, TL_COMM_LEN>> comm_by_tid_;
  CorrelatorStats stats_;
  uint64_t next_sweep_ = 0;
  uint64_t now_ = 0;  // the newest event time seen
};

}  // namespace tunlat
