// SPDX-License-Identifier: MIT
// Names the packet of records the kernel sends by address alone, and keeps each TX
// packet's events together.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "core/model/event.h"

namespace tunlat {

struct AddressJoinStats {
  uint64_t joined = 0;          // events by address given their packet
  uint64_t unmatched = 0;       // events by address of no packet followed (begun before the trace,
                                // or passed over by --sample): dropped
  uint64_t stale = 0;           // events of a packet already freed (a slot reused): dropped
  uint64_t released_early = 0;  // packets passed on before their read: held too long, or
                                // pushed out of the table
  uint64_t pushed_out = 0;      // packets still waiting for their read whose entry a new
                                // packet took: their read will come unmatched
  uint64_t duplicates = 0;      // a packet's first record sent again after it ended: dropped
};

// A TX packet's read and free happen on the VPN's CPU, which sends them without reading
// the packet's slot (bpf/tunlat.bpf.c note_read): TL_F_BY_ADDRESS, gen unknown. The
// packet meant is the last TX packet seen at that address, whose record came first
// (events arrive in the order they were sent). AddressJoin gives such events its gen.
//
// Until then it holds the packet's earlier events, so that a packet's events still come
// out together, as one run: the correlator then sees a whole path at once and parks
// nothing. A packet held longer than hold_ns (the VPN stopped reading) is passed on as
// far as it got; its read and free, if they come, follow on their own. What comes out is
// what a recording holds: RX and comm events pass straight through.
class AddressJoin {
 public:
  explicit AddressJoin(uint64_t hold_ns = 200'000'000);

  template <class Out>
  void push(const Event& e, Out&& out) {
    if (e.ts_ns >= next_check_) {
      release_old(e.ts_ns, out);
      next_check_ = e.ts_ns + hold_ns_ / 4;
    }
    if (e.point >= kPoints || (e.dir != TL_TX && !(e.flags & TL_F_BY_ADDRESS))) {
      out(e);  // comm, RX
      return;
    }
    Event ev = e;
    Entry* en = nullptr;
    if (!join(ev, en, out)) return;
    if (!en || !en->held) {
      out(ev);
      return;
    }
    // Held until the packet's path on this side ends: a free, or its read by address.
    Held& h = pool_[en->held - 1];
    if (ev.point == TL_FREE || ev.point == TL_READ || h.n == kMaxHeld) {
      release(*en, out);
      out(ev);
      return;
    }
    h.events[h.n++] = ev;
  }

  // Passes on everything held (the end of the trace), oldest first.
  template <class Out>
  void flush(Out&& out) {
    while (!order_.empty()) release_oldest(out);
  }

  const AddressJoinStats& stats() const { return stats_; }

 private:
  static constexpr uint8_t kMaxHeld = 6;  // a TX path has at most 5 points before its read
  // The last TX packet at an address. 4-way sets, one per cache line, indexed by address
  // bits as the kernel's slots are (skbs are slab objects >= 256 bytes apart); 16 Ki
  // entries in 384 KiB, a few times the packets in flight.
  struct Entry {
    uint64_t skb;
    uint64_t first_ns;  // its first event: a read by address from before is another's
    uint32_t gen;
    uint32_t held : 30;  // 1 + its events' index in pool_, or 0
    uint32_t read : 1;   // its read came: another is a later skb's at its address, dropped
    uint32_t freed : 1;  // its free came: another one is a stale slot's, dropped
  };                     // value-initialized: zero
  static constexpr int kWays = 4;
  static constexpr int kSetBits = 12;
  struct Held {
    uint8_t n = 0;
    std::array<Event, kMaxHeld> events;
  };
  struct Order {
    uint64_t since;
    uint64_t skb;
    uint32_t gen;
  };

  // Finds the entry of e's packet (nullptr: none to hold or check) and fills in e's gen if
  // it came by address. False: drop e.
  template <class Out>
  bool join(Event& e, Entry*& en, Out& out) {
    if (e.flags & TL_F_FIRST) {
      // The kernel sent a slot's stages once more, long after the packet was read and
      // freed (about 1 packet in 100,000 under load): the packet would come back as one
      // that never left the ring.
      if (const Entry* old = find(e.skb); old && old->gen == e.gen && old->freed) {
        stats_.duplicates++;
        return false;
      }
      en = claim(e.skb, out);
      *en = Entry{e.skb, e.ts_ns, e.gen, take_held(), 0, 0};
      order_.push_back(Order{e.ts_ns, e.skb, e.gen});
    } else if (!join_later(e, en)) {
      return false;
    }
    if (en && e.point == TL_FREE) en->freed = 1;
    return true;
  }
  bool join_later(Event& e, Entry*& en);
  Entry* find(uint64_t skb);
  std::array<Entry, kWays>& set_of(uint64_t skb) { return table_[(skb >> 8) & ((1u << kSetBits) - 1)]; }
  // The entry for a new packet at skb: its own, else one whose packet is done (freed) or
  // that was never used, else the oldest. A packet released early (its reader stalled) is
  // not done: its read may still come, seconds later, and must find it.
  template <class Out>
  Entry* claim(uint64_t skb, Out& out) {
    auto done = [](const Entry& x) { return x.skb == 0 || x.freed; };
    auto& set = set_of(skb);
    Entry* pick = &set[0];
    for (Entry& x : set) {
      if (x.skb == skb) {
        pick = &x;
        break;
      }
      if (done(x) != done(*pick) ? done(x) : x.first_ns < pick->first_ns) pick = &x;
    }
    if (pick->skb != skb && !done(*pick)) stats_.pushed_out++;
    if (pick->held) release(*pick, out);
    return pick;
  }

  uint32_t take_held();

  template <class Out>
  void release(Entry& en, Out& out) {
    Held& h = pool_[en.held - 1];
    for (uint8_t i = 0; i < h.n; i++) out(h.events[i]);
    free_.push_back(en.held);
    en.held = 0;
  }
  // Passes on the packets held since before now - hold_ns, oldest first.
  template <class Out>
  void release_old(uint64_t now, Out& out) {
    while (!order_.empty() && order_.front().since + hold_ns_ < now)
      if (release_oldest(out)) stats_.released_early++;
  }
  // Forgets the oldest packet in order_, passing on its events if they are still held.
  template <class Out>
  bool release_oldest(Out& out) {
    Order o = order_.front();
    order_.pop_front();
    Entry* en = find(o.skb);
    if (!en || en->gen != o.gen || !en->held) return false;
    release(*en, out);
    return true;
  }

  uint64_t hold_ns_;
  std::vector<std::array<Entry, kWays>> table_;
  std::vector<Held> pool_;      // the events held, per packet
  std::vector<uint32_t> free_;  // pool_ indexes (+1) not in use
  std::deque<Order> order_;     // packets held, in the order they came
  uint64_t next_check_ = 0;
  AddressJoinStats stats_;
};

}  // namespace tunlat
