// SPDX-License-Identifier: MIT
// Builders for synthetic event streams in unit tests.
#pragma once

#include <cstring>
#include <type_traits>
#include <vector>

#include "core/model/event.h"
#include "core/model/records.h"
#include "core/pipeline.h"
#include "core/record/upgrade.h"

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
  operator PacketPass() const { return packet_pass_of(Event(*this)); }
};

// The record of kind R an event decodes into (value-initialized if it is of another kind).
template <class R>
R decoded(const Event& e) {
  R out{};
  decode(e, [&](const auto& r) {
    if constexpr (std::is_same_v<std::decay_t<decltype(r)>, R>) out = r;
  });
  return out;
}

// A thread's comm record (TL_COMM), as the kernel sends it before the thread's events.
inline Event comm_event(uint64_t ts_us, uint32_t pid, const char* comm, uint16_t cpu = 0) {
  Event e{};
  e.ts_ns = ts_us * kUs;
  e.point = TL_COMM;
  e.pid = e.tid = pid;
  e.cpu = cpu;
  std::strncpy(e.comm, comm, sizeof e.comm - 1);
  return e;
}

// A TX packet: queue at t, xmit after qdisc_us, read after ring_us, free 2 us later. The
// reader's comm in its events, as version 1 recordings held it: push it through V1Feed.
inline std::vector<Event> tx_packet(uint64_t t_us, uint64_t skb, uint32_t gen, uint64_t qdisc_us,
                                    uint64_t ring_us, uint32_t reader = 4252, const char* comm = "openvpn") {
  uint64_t x = t_us + qdisc_us, r = x + ring_us;
  return {Ev{t_us, skb, gen, TL_QUEUE}, Ev{x, skb, gen, TL_XMIT},
          Ev{r, skb, gen, TL_READ, Dir::Tx, 1, reader, comm},
          Ev{r + 2, skb, gen, TL_FREE, Dir::Tx, 1, reader, comm}};
}

// A pipeline fed events written as version 1 recordings held them (a thread's comm in its
// point events, a GSO segment naming its parent by Ev's parent_skb), upgraded on their way
// in as the reader upgrades such a file (core/record/upgrade.h).
class V1Pipeline : public Pipeline {
 public:
  explicit V1Pipeline(const PipelineOptions& o = {}) : Pipeline(o) {}
  void push(const Event& e) { up_.entry()(e); }

 private:
  Upgrade up_{1, [this](const Event& e) { Pipeline::push(e); }};
};

}  // namespace tunlat::test
