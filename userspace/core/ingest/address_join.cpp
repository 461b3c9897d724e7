// SPDX-License-Identifier: MIT
#include "core/ingest/address_join.h"

namespace tunlat {

AddressJoin::AddressJoin(uint64_t hold_ns) : hold_ns_(hold_ns), table_(1u << kSetBits) {}

AddressJoin::Entry* AddressJoin::find(uint64_t skb) {
  for (Entry& x : set_of(skb))
    if (x.skb == skb) return &x;
  return nullptr;
}

uint32_t AddressJoin::take_held() {
  if (free_.empty()) {
    pool_.emplace_back();
    return static_cast<uint32_t>(pool_.size());
  }
  uint32_t h = free_.back();
  free_.pop_back();
  pool_[h - 1].n = 0;
  return h;
}

bool AddressJoin::join_later(Event& e, Entry*& en) {
  en = find(e.skb);
  if (e.flags & TL_F_BY_ADDRESS) {
    // A read from before the packet's first event is an earlier packet's at this address,
    // sent late: its VPN thread moved to another CPU between the read and the free.
    // A second read: the kernel's handoff of a later skb at the address (a kernel VPN's
    // packet freed unseen at the tunnel's far end, its address then another's there).
    if (!en || en->freed || e.ts_ns < en->first_ns || (e.point == TL_READ && en->read)) {
      stats_.unmatched++;
      return false;
    }
    if (e.point == TL_READ) en->read = 1;
    e.gen = en->gen;
    e.flags &= static_cast<uint16_t>(~TL_F_BY_ADDRESS);
    stats_.joined++;
  } else {
    if (!en) return true;  // pushed out of the table, or its first events were lost
    // A free looked up in a slot: the packet's own (a drop), or one left in a slot whose
    // packet was freed by address since; the kernel cannot tell them apart. A later
    // packet at the address means this one is gone: its slot is stale too. Nothing comes
    // after a packet's free but what its slot sends again.
    if (en->gen != e.gen || en->freed) {
      stats_.stale++;
      return false;
    }
  }
  return true;
}

}  // namespace tunlat
