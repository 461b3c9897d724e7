// SPDX-License-Identifier: MIT
// Gives the packets' summaries their flows: ids assigned by ingest, defined once each.
#include "core/ingest/flow_ids.h"

#include <cstring>

namespace tunlat {

void FlowIds::learn(const tl_addr6& a) {
  for (int i = 0; i < 2; i++) {
    // Bounded: a host sees few addresses; a scan of many is forgotten wholesale.
    if (addr6_.size() >= kMaxAddr6 && !addr6_.count(a.hash[i])) addr6_.clear();
    std::memcpy(addr6_[a.hash[i]].data(), a.addr[i], 16);
  }
}

void FlowIds::address(std::array<uint8_t, 16>& out, uint32_t v, uint8_t family) {
  out.fill(0);
  if (family == 4) {
    std::memcpy(out.data(), &v, 4);  // network order already
    return;
  }
  auto it = addr6_.find(v);
  if (it != addr6_.end()) {
    out = it->second;
    return;
  }
  // Its addresses' record was lost: the hash stands for it (fd00:ffff::HASH) rather than
  // merging every such flow into one.
  stats_.unknown_addr6++;
  out[0] = 0xfd;
  out[2] = out[3] = 0xff;
  std::memcpy(out.data() + 12, &v, 4);
}

uint32_t FlowIds::flow_of(const tl_sum& s, uint8_t dir, uint64_t ts_ns, std::vector<Event>& out) {
  FlowKey k;
  k.ethertype = s.ethertype;
  k.family = s.ethertype == 0x0800 ? 4 : s.ethertype == 0x86dd ? 6 : 0;
  const bool rx = dir == TL_RX;  // the host's side: a TX packet's source, an RX one's destination
  if (k.family) {
    k.proto = s.proto;
    address(k.a, rx ? s.daddr : s.saddr, k.family);
    address(k.b, rx ? s.saddr : s.daddr, k.family);
    if (s.proto == 6 || s.proto == 17) {
      k.pa = rx ? s.dport : s.sport;
      k.pb = rx ? s.sport : s.dport;
    } else if (s.proto == 1 || s.proto == 58) {
      const uint8_t type = s.sport >> 8;
      // Echo request/reply (v4 8/0, v6 128/129): one flow per id, both ways.
      if (type == 8 || type == 0 || type == 128 || type == 129) k.pb = s.dport;
    }
  }
  auto it = ids_.find(k);
  if (it != ids_.end()) return it->second;
  if (ids_.size() >= kMaxFlowIds) {
    stats_.others++;
    return kOtherFlow;
  }
  const uint32_t id = static_cast<uint32_t>(ids_.size()) + 1;
  ids_.emplace(k, id);
  stats_.flows++;
  out.push_back(flow_event(k, id, ts_ns));
  return id;
}

}  // namespace tunlat
