// SPDX-License-Identifier: MIT
// Builders for synthetic event streams in unit tests.
#pragma once

#include <cstring>
#include <vector>

#include "core/model/event.h"

namespace tunlat::test {

inline constexpr uint64_t kUs = 1000;

struct Ev {
  uint64_t ts_us;
  uint64_t skb;
  uint32_t gen;
  int point;
  Dir dir = Dir::Tx;
  uint16_t cpu = 0;
  uint32_t pid = 0;
  const char* comm = "";
  uint16_t flags = 0;
  int32_t code = 0;
  uint64_t parent_skb = 0;
  uint32_t parent_gen = 0;
  uint32_t len = 100;

  operator Event() const {
    Event e{};
    e.ts_ns = ts_us * kUs;
    e.skb = skb;
    e.gen = gen;
    e.point = static_cast<uint8_t>(point);
    e.dir = static_cast<uint8_t>(dir);
    e.cpu = cpu;
    e.pid = pid;
    e.tid = pid;
    std::strncpy(e.comm, comm, sizeof e.comm - 1);
    e.flags = flags;
    e.code = code;
    e.parent_skb = parent_skb;
    e.parent_gen = parent_gen;
    e.len = len;
    return e;
  }
};

// A TX packet: queue at t, xmit after qdisc_us, read after ring_us, free 2 us later.
inline std::vector<Event> tx_packet(uint64_t t_us, uint64_t skb, uint32_t gen, uint64_t qdisc_us,
                                    uint64_t ring_us, uint32_t reader = 4252,
                                    const char* comm = "openvpn") {
  uint64_t x = t_us + qdisc_us, r = x + ring_us;
  return {Ev{t_us, skb, gen, TL_QUEUE}, Ev{x, skb, gen, TL_XMIT},
          Ev{r, skb, gen, TL_READ, Dir::Tx, 1, reader, comm}, Ev{r + 2, skb, gen, TL_FREE, Dir::Tx, 1, reader, comm}};
}

}  // namespace tunlat::test
