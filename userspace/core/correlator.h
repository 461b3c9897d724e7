// Correlates point events into per-packet journeys (skb address + generation).
#pragma once

#include <array>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <unordered_map>

#include "event.h"

namespace tunlat {

// One packet's path through the points of its direction.
struct Journey {
  uint64_t skb = 0;
  uint32_t gen = 0;
  Dir dir = Dir::Tx;
  std::array<uint64_t, kPoints> ts{};   // 0 = point not seen
  std::array<uint16_t, kPoints> cpu{};
  uint64_t last_ts = 0;
  uint32_t len = 0;
  uint16_t flags = 0;        // union of the events' TL_F_* flags
  int32_t drop_reason = 0;   // valid with TL_F_DROP
  uint64_t drop_location = 0;
  int32_t xmit_rc = 0;
  // The process that moved it through the device: reader (TX read) or writer (RX inject).
  uint32_t pid = 0, tid = 0;
  std::array<char, TL_COMM_LEN> comm{};  // filled when the journey ends
  uint32_t free_pid = 0, free_tid = 0;   // who freed it (for drops)
  std::array<char, TL_COMM_LEN> free_comm{};

  bool seen(int p) const { return ts[p] != 0; }
  // A GSO skb split into segments before reaching the driver: its segments are the packets.
  bool segmented_parent() const { return (flags & TL_F_GSO) && !seen(TL_XMIT) && !(flags & TL_F_DROP); }
};

enum class End {
  Freed,    // consume_skb / kfree_skb seen
  Evicted,  // no event for longer than the TTL: free never arrived
  Flushed,  // still in flight when the trace ended
};

class JourneySink {
 public:
  virtual ~JourneySink() = default;
  virtual void on_event(const Event& e) = 0;  // every event, in timestamp order
  virtual void on_journey(const Journey& j, End how) = 0;
};

struct CorrelatorStats {
  uint64_t journeys = 0;
  uint64_t evicted = 0;
  uint64_t segments = 0;         // GSO segments joined to their parent
  uint64_t orphan_segments = 0;  // segments whose parent was not found
  uint64_t max_live = 0;         // high-water mark of packets in flight
};

class Correlator {
 public:
  // ttl_ns: a packet silent that long is evicted (its free never came). settled_ttl_ns:
  // the same for RX packets already in protocol processing, whose free is often not
  // traced (TCP frees pure ACKs with __kfree_skb, which has no tracepoint).
  Correlator(JourneySink& sink, uint64_t ttl_ns, uint64_t settled_ttl_ns)
      : sink_(sink), ttl_ns_(ttl_ns), settled_ttl_ns_(settled_ttl_ns) {}

  void push(const Event& e);  // events must arrive in timestamp order
  void flush();               // ends every journey still in flight

  const CorrelatorStats& stats() const { return stats_; }
  size_t live() const { return live_.size(); }

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
    std::array<uint64_t, 3> ts{};  // queue, enqueue, dequeue
    std::array<uint16_t, 3> cpu{};
    uint64_t ended = 0;
  };

  using LiveMap = std::pmr::unordered_map<Key, Journey, KeyHash>;
  void finish(LiveMap::iterator it, End how);
  void remember_comm(const Event& e);
  std::array<char, TL_COMM_LEN> comm_of_tid(uint32_t tid) const;
  void inherit(Journey& seg, const Event& e);
  void sweep(uint64_t now);

  JourneySink& sink_;
  uint64_t ttl_ns_, settled_ttl_ns_;
  // One node per packet in flight: a pool recycles them instead of malloc/free per packet.
  std::pmr::unsynchronized_pool_resource pool_;
  LiveMap live_{&pool_};
  std::pmr::unordered_map<Key, ParentStamps, KeyHash> parents_{&pool_};  // recently segmented GSO parents
  // The kernel sends a thread's comm only when it changes on a CPU: remember it by tid.
  std::unordered_map<uint32_t, std::array<char, TL_COMM_LEN>> comm_by_tid_;
  CorrelatorStats stats_;
  uint64_t next_sweep_ = 0;
};

}  // namespace tunlat
