// SPDX-License-Identifier: MIT
// Correlates packet passes into per-packet journeys (skb address + generation).
#pragma once

#include <array>
#include <cstdint>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/correlate/journey_table.h"
#include "core/model/journey.h"
#include "core/model/records.h"

namespace tunlat {

class JourneySink {
 public:
  virtual ~JourneySink() = default;
  virtual void on_journey(const Journey& j, End how) = 0;
};

struct CorrelatorStats {
  uint64_t journeys = 0;
  uint64_t evicted = 0;           // ended without their free: by the TTL or by the limit
  uint64_t segments = 0;          // GSO segments joined to their parent
  uint64_t orphan_segments = 0;   // segments whose parent was not found
  uint64_t max_live = 0;          // high-water mark of packets waiting for more records
  uint64_t evicted_by_limit = 0;  // ended early: max_live packets were waiting already
};

// Memory bounds whatever the input (a recording is untrusted): the tables below are keyed
// by values a file controls, so each has a cap; beyond it the oldest entry goes, counted.
inline constexpr size_t kDefaultMaxLive = size_t{1} << 18;  // ~60 MiB of waiting packets
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

  // Passes in arrival order. The kernel sends a packet's points in path order, in one
  // record when its path ends (RX: a second record for delivery, a third for the free),
  // and the tracer passes records on in the order they were sent: a packet's records
  // arrive in the order of its path, other packets' passes in between.
  void push(const PacketPass& p);
  // A thread's comm, for the journeys it moves.
  void on_comm(const CommRecord& c);
  // Time has reached ts_ns (another record's): packets silent too long are evicted.
  void advance(uint64_t ts_ns);
  void flush();  // ends every journey still in flight

  const CorrelatorStats& stats() const { return stats_; }
  size_t live() const { return live_.size() + (open_ ? 1 : 0); }

 private:
  Journey& journey_of(const PacketPass& p);
  void park_open();
  void end(Journey& j, End how);  // reports j and forgets it

  std::array<char, TL_COMM_LEN> comm_of_tid(uint32_t tid) const;

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
  // The kernel sends a thread's comm only when it changes on a CPU: remember it by tid.
  std::unordered_map<uint32_t, std::array<char, TL_COMM_LEN>> comm_by_tid_;
  CorrelatorStats stats_;
  uint64_t next_sweep_ = 0;
  uint64_t now_ = 0;  // the newest event time seen
};

}  // namespace tunlat
