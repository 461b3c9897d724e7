// SPDX-License-Identifier: MIT
#include "core/ingest/record_unpack.h"

#include <cstring>

#include "cbpf.h"
#include "core/model/flow.h"
#include "core/model/packet_bytes.h"

namespace tunlat {

// The event at a record's end point: when, where, who and what, as the end holds them.
static Event end_event(const tl_end& end) {
  Event e{};
  e.ts_ns = end.ts_ns;
  e.pid = end.pid;
  e.tid = end.tid;
  e.cpu = end.cpu;
  e.point = end.point;
  e.code = end.code;
  e.aux = end.aux;
  e.flags = end.flags;
  return e;
}

void unpack_record(const tl_record& r, std::vector<Event>& out, FlowIds* flows) {
  const tl_slot& s = r.slot;
  const tl_end& end = r.end;
  if (end.point == TL_ADDR6) {
    if (flows) flows->learn(r.addr6);
    return;
  }
  if (end.point == TL_BYTES) {  // a packet's first bytes: pieces of events (packet_bytes.h)
    static_assert(kMaxPacketBytes == TL_SNAP && TL_BYTES_PER_RECORD <= TL_SNAP);
    const auto code = static_cast<uint32_t>(end.code);
    const uint32_t caplen = code & 0xffff, offset = code >> 16;
    if (caplen > kMaxPacketBytes || offset >= caplen) return;
    Event who{};
    who.ts_ns = end.ts_ns;
    who.skb = end.aux;
    who.gen = end.pid;
    who.len = end.tid;
    who.cpu = end.cpu;
    who.dir = end.flags == TL_RX ? TL_RX : TL_TX;
    append_bytes_events(who, caplen, offset, r.bytes.data,
                        std::min(caplen - offset, uint32_t{TL_BYTES_PER_RECORD}), out);
    return;
  }
  if (tl_lone_kind(end.point)) {           // a comm, or an owner's doings: one event, no packet
    Event e = end_event(end);              // the kernel zeroes what a lone record does not fill
    if (end.point == TL_DROP_ELSEWHERE) {  // no comm: the socket's inode and the length
      e.skb = s.skb;
      e.len = s.len;
    } else if (end.point == TL_RETRANS) {  // the socket's flow, as its packets name it
      if (!flows || end.summary != TL_X_SUM) return;
      e.dir = TL_TX;
      PacketSummary ps;
      ps.flow = flows->flow_of(end.sum, TL_TX, e.ts_ns, out);
      set_summary(e, ps, 0);
      e.len = static_cast<uint32_t>(end.aux);
      e.aux = 0;
      e.code = end.code > 0 ? end.code : 1;  // segments sent again
    } else {
      if ((end.point == TL_SEND || end.point == TL_UREAD) && (end.flags & TL_IO_SOCK))
        e.skb = s.skb;  // its socket's inode
      std::memcpy(e.comm, end.comm, sizeof(e.comm));
      e.comm[TL_COMM_LEN - 1] = 0;
    }
    out.push_back(e);
    return;
  }
  const uint8_t dir = tl_slot_dir(s.state);
  // A record named by address: AddressJoin finds its packet's gen.
  const uint16_t by_address = (s.state & TL_ST_BY_ADDRESS) ? TL_F_BY_ADDRESS : 0;
  bool first = true;
  // A slot's pid is its reader's where the slot holds the read too (the kernel sends a TX
  // read by address, in a record of its own), else a TX slot's is its sender's (queue).
  const bool reads = s.unsent & (1u << TL_STAGE_READ);
  const bool summary = end.summary == TL_X_SUM && flows && s.unsent;
  for (int st = 0; st < TL_STAGES; st++) {
    if (!(s.unsent & (1u << st))) continue;
    Event e{};
    e.ts_ns = s.t0 + s.dt[st];
    e.skb = s.skb;
    e.gen = s.gen;
    e.cpu = s.cpu[st];
    e.point = tl_stage_point(s.state, st);
    e.dir = dir;
    e.flags = by_address;
    if (e.point == TL_READ || e.point == TL_INJECT || (e.point == TL_QUEUE && !reads)) {
      e.pid = s.pid;  // the VPN reading or writing the device; TX queue: the sender
      e.tid = s.tid;
    }
    if ((s.state & TL_ST_INHERITED) && dir == TL_TX && st < TL_INHERITED_STAGES) e.flags |= TL_F_INHERITED;
    if (first) {  // the packet's first event carries what is known of it from the start
      e.len = s.len;
      e.flags |= s.start_flags;
      e.parent_gen = s.parent_gen;
      first = false;
      if (summary) {
        const tl_sum& sum = end.sum;
        PacketSummary ps;
        ps.flow = flows->flow_of(sum, dir, e.ts_ns, out);
        ps.seq = sum.seq;
        ps.ack = sum.ack;
        ps.win = (sum.proto == 1 || sum.proto == 58) ? sum.sport : sum.win;
        ps.tcp_flags = sum.tcp_flags;
        set_summary(e, ps, sum.payload);
        e.ip_id = end.ip_id;
      }
    }
    out.push_back(e);
  }
  if (end.point < TL_POINT_COUNT) {
    Event e = end_event(end);
    e.skb = s.skb;
    e.gen = s.gen;
    e.dir = dir;
    e.flags |= by_address;
    if (end.point == TL_TAKEN && end.summary == TL_X_TCP) {
      static_assert(sizeof(end.tcp) <= sizeof(e.comm));
      std::memcpy(e.comm, &end.tcp, sizeof(end.tcp));
      e.flags |= TL_F_TCP_SAMPLE;
    }
    out.push_back(e);
  }
}

}  // namespace tunlat
