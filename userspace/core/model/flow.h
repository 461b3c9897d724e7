// SPDX-License-Identifier: MIT
// Flows: who a packet is (its 5-tuple or protocol), as a recording names them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "core/model/event.h"

namespace tunlat {

// A flow's definition event (point TL_FLOW): ingest sends one before the first packet of
// each flow it names, so a recording holds each flow's addresses once and every packet
// only its flow's id. Packets of both directions of a connection share one flow.
//
// A flow, oriented from the host's side: `a` is the endpoint on this side of the device
// (a TX packet's source, an RX packet's destination), `b` the one behind the device.
struct FlowKey {
  uint16_t ethertype = 0;            // 0x0800, 0x86dd, 0x0806...; 0: unknown
  uint8_t proto = 0;                 // IP protocol; 0 for anything but IP
  uint8_t family = 0;                // 4, 6, or 0 (no IP addresses)
  std::array<uint8_t, 16> a{}, b{};  // IPv4 in the first 4 bytes, network order
  uint16_t pa = 0, pb = 0;           // TCP/UDP ports; ICMP echo: pb = id; else 0

  bool operator==(const FlowKey& o) const {
    return ethertype == o.ethertype && proto == o.proto && family == o.family && a == o.a && b == o.b &&
           pa == o.pa && pb == o.pb;
  }
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](const void* p, size_t n) {
      const auto* c = static_cast<const uint8_t*>(p);
      for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    };
    mix(&k.ethertype, 2);
    mix(&k.proto, 1);
    mix(k.a.data(), 16);
    mix(k.b.data(), 16);
    mix(&k.pa, 2);
    mix(&k.pb, 2);
    return h;
  }
};

// What a packet's first event says of it (TL_F_SUMMARY), in the event's comm bytes: its
// flow, and the TCP (or ICMP) fields. The payload's bytes are in the event's aux.
struct PacketSummary {
  uint32_t flow = 0;  // 0: none
  uint32_t seq = 0;   // TCP; ICMP echo: sequence
  uint32_t ack = 0;   // TCP
  uint16_t win = 0;   // TCP (unscaled); ICMP: type << 8 | code
  uint8_t tcp_flags = 0;
  uint8_t pad = 0;
};
static_assert(sizeof(PacketSummary) == TL_COMM_LEN, "a summary takes an event's comm bytes");

// Flows beyond ingest's table (kMaxFlowIds) are all this one.
inline constexpr uint32_t kOtherFlow = UINT32_MAX;

inline PacketSummary summary_of(const Event& e) {
  PacketSummary s;
  std::memcpy(&s, e.comm, sizeof(s));
  return s;
}
inline void set_summary(Event& e, const PacketSummary& s, uint32_t payload) {
  std::memcpy(e.comm, &s, sizeof(s));
  e.aux = payload;
  e.flags |= TL_F_SUMMARY;
}

// A TL_FLOW event: id in pid, a in skb/parent_skb, b in aux/gen/parent_gen, the ports in
// tid, ethertype/proto/family in len (docs/recording.md).
inline Event flow_event(const FlowKey& k, uint32_t id, uint64_t ts_ns) {
  Event e{};
  e.ts_ns = ts_ns;
  e.point = TL_FLOW;
  e.pid = id;
  std::memcpy(reinterpret_cast<char*>(&e) + offsetof(Event, skb), k.a.data(), 16);
  std::memcpy(reinterpret_cast<char*>(&e) + offsetof(Event, aux), k.b.data(), 16);
  e.tid = k.pa | static_cast<uint32_t>(k.pb) << 16;
  e.len = k.ethertype | static_cast<uint32_t>(k.proto) << 16 | static_cast<uint32_t>(k.family) << 24;
  return e;
}
inline FlowKey flow_key_of(const Event& e) {
  FlowKey k;
  std::memcpy(k.a.data(), reinterpret_cast<const char*>(&e) + offsetof(Event, skb), 16);
  std::memcpy(k.b.data(), reinterpret_cast<const char*>(&e) + offsetof(Event, aux), 16);
  k.pa = e.tid & 0xffff;
  k.pb = e.tid >> 16;
  k.ethertype = e.len & 0xffff;
  k.proto = (e.len >> 16) & 0xff;
  k.family = e.len >> 24;
  return k;
}

// "TCP 10.0.0.1:40112 <> 10.0.0.2:5201", "ICMP 10.0.0.1 <> 10.0.0.2 id 7", "ARP",
// "ethertype 0x88cc": the host's side first. Plain ASCII made from numbers.
std::string flow_name(const FlowKey& k);
// "TCP", "UDP", "ICMP", "ICMPv6", "ARP", "IPv4 proto 47", "ethertype 0x88cc".
std::string flow_protocol(const FlowKey& k);
// An endpoint: "10.0.0.1:5201", "[fd00::1]:5201", "10.0.0.1".
std::string flow_endpoint(const FlowKey& k, bool side_a);
// What a packet is, from its flow (nullptr: unknown) and its summary: "ICMP echo request",
// "TCP SYN", "TCP data", "TCP ACK", "UDP datagram", "ARP", "packet".
std::string packet_kind(const FlowKey* k, const PacketSummary& s, uint32_t payload);
// The packet in one line, its endpoints in the direction it went: "ICMP echo request
// 10.0.0.1 > 10.0.0.2 id 7 seq 1", "TCP data 10.0.0.1:40112 > 10.0.0.2:5201 seq 1 len 1448".
std::string packet_line(const FlowKey* k, const PacketSummary& s, uint32_t payload, Dir d);

}  // namespace tunlat
