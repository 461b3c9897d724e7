// SPDX-License-Identifier: MIT
// Typed records, one per kind: what an Event (the wire and file form) says, decoded once.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "core/model/event.h"
#include "core/model/flow.h"
#include "core/model/packet_bytes.h"

namespace tunlat {

// An Event's fields mean different things by point and flag (event.h, docs/recording.md).
// decode() reads them once, at the pipeline's door; what is downstream of it takes these
// records and never an Event. Plain values, built on the stack: no allocation per event.

// A packet of the device passing a point (point < TL_POINT_COUNT).
struct PacketPass {
  uint64_t ts_ns;
  uint64_t skb;  // with gen, the packet's identity
  uint32_t gen;
  uint32_t parent_gen;     // TL_F_SEGMENT: the GSO parent's generation
  uint32_t pid, tid;       // READ/INJECT: the VPN; DELIVER: the receiver; FREE: who freed it;
                           // QUEUE: the sender; else 0
  uint32_t len;            // skb->len
  int32_t code;            // FREE+TL_F_DROP: enum skb_drop_reason; XMIT_DONE: the driver's rc
  uint64_t drop_location;  // FREE+TL_F_DROP: where it was dropped; else 0
  uint16_t cpu;
  uint8_t point;   // enum tl_point
  uint8_t dir;     // enum tl_dir
  uint16_t flags;  // enum tl_flags and EventFlags
  // The packet's first pass: who it is (TL_F_SUMMARY), its TCP/UDP payload bytes.
  std::optional<PacketSummary> summary;
  uint32_t payload = 0;
  uint16_t ip_id = 0;  // with summary: the IPv4 header's identification (0: none)
  // TAKEN: the local TCP socket's state as it took the segment (TL_F_TCP_SAMPLE).
  std::optional<tl_tcp_sample> tcp;
};

// A thread's name (TL_COMM): sent when it changes on a CPU.
struct CommRecord {
  uint64_t ts_ns;
  uint32_t pid, tid;
  uint16_t cpu;
  std::array<char, TL_COMM_LEN> comm;
};

// A flow's definition (TL_FLOW), made by ingest before the flow's first packet.
struct FlowDefinition {
  uint64_t ts_ns;
  uint32_t id;
  FlowKey key;
};

// A drop of an skb not the device's that hurts its tunnel (TL_DROP_ELSEWHERE).
struct DropElsewhere {
  uint64_t ts_ns;
  uint16_t scope;  // enum tl_drop_scope
  int32_t reason;  // enum skb_drop_reason
  uint64_t location;
  uint64_t socket;  // the inode of the socket it was dropped on (an owner's: its underlay), or 0
  uint32_t len;
};

// The host sent data of one of its sockets again (TL_RETRANS).
struct HostRetransmit {
  uint64_t ts_ns;
  uint32_t flow;      // the socket's flow, as its packets name it; 0: unknown
  uint32_t segments;  // tcp_skb_pcount, at least 1
  uint32_t len;       // the skb's length
};

// An owner thread's scheduler state changed (TL_SCHED).
struct OwnerSched {
  uint64_t ts_ns;
  uint32_t pid, tid;
  uint16_t cpu;
  int32_t state;                             // enum tl_task_state (as recorded: may be out of range)
  uint16_t flags;                            // enum tl_sched_flags
  uint32_t other;                            // the other task of a switch (tid), or 0
  std::array<char, TL_COMM_LEN> other_comm;  // its comm ("" when not sent)
};

// An owner thread's packet on its underlay: a send on another device (TL_SEND, UnderlaySend)
// or a read of an skb not the device's (TL_UREAD, UnderlayRead).
struct UnderlayIo {
  uint64_t ts_ns;
  uint32_t pid, tid;
  uint16_t cpu;
  uint64_t bytes;
  // The socket's inode (0: it has none); unset when the kernel did not say.
  std::optional<uint64_t> socket;
};
struct UnderlaySend : UnderlayIo {};
struct UnderlayRead : UnderlayIo {};

inline PacketPass packet_pass_of(const Event& e) {
  PacketPass p{e.ts_ns,
               e.skb,
               e.gen,
               e.parent_gen,
               e.pid,
               e.tid,
               e.len,
               e.code,
               e.point == TL_FREE && (e.flags & TL_F_DROP) ? e.aux : 0,
               e.cpu,
               e.point,
               e.dir,
               static_cast<uint16_t>(e.flags & ~TL_F_UPGRADE),
               std::nullopt,
               0,
               0,
               std::nullopt};
  if (e.flags & TL_F_SUMMARY) {
    p.summary = summary_of(e);
    p.payload = static_cast<uint32_t>(e.aux);
    p.ip_id = e.ip_id;
  }
  if (e.flags & TL_F_TCP_SAMPLE) p.tcp = tcp_sample_of(e);
  return p;
}

inline std::array<char, TL_COMM_LEN> comm_of(const Event& e) {
  std::array<char, TL_COMM_LEN> c;
  std::memcpy(c.data(), e.comm, TL_COMM_LEN);
  return c;
}

// Calls to(record) with e's record; kinds this tunlat does not know are passed over.
template <class To>
inline void decode(const Event& e, To&& to) {
  if (e.point < kPoints) {
    to(packet_pass_of(e));
    return;
  }
  switch (e.point) {
    case TL_COMM:
      to(CommRecord{e.ts_ns, e.pid, e.tid, e.cpu, comm_of(e)});
      return;
    case TL_FLOW:
      to(FlowDefinition{e.ts_ns, e.pid, flow_key_of(e)});
      return;
    case TL_DROP_ELSEWHERE:  // the socket's inode travels in skb
      to(DropElsewhere{e.ts_ns, e.flags, e.code, e.aux, e.skb, e.len});
      return;
    case TL_RETRANS:  // its flow travels as a summary's
      to(HostRetransmit{e.ts_ns, (e.flags & TL_F_SUMMARY) ? summary_of(e).flow : 0,
                        e.code > 0 ? static_cast<uint32_t>(e.code) : 1, e.len});
      return;
    case TL_SCHED:
      to(OwnerSched{e.ts_ns, e.pid, e.tid, e.cpu, e.code, e.flags, static_cast<uint32_t>(e.aux), comm_of(e)});
      return;
    case TL_SEND:
    case TL_UREAD: {  // the socket's inode travels in skb
      UnderlayIo io{e.ts_ns, e.pid, e.tid, e.cpu, e.aux, std::nullopt};
      if (e.flags & TL_IO_SOCK) io.socket = e.skb;
      if (e.point == TL_SEND)
        to(UnderlaySend{io});
      else
        to(UnderlayRead{io});
      return;
    }
    case TL_BYTES: {  // a piece of a packet's first bytes (--pcapng)
      PacketBytes b;
      if (packet_bytes_of(e, b)) to(b);
      return;
    }
    default:
      return;
  }
}

}  // namespace tunlat
