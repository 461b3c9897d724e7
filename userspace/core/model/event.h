// SPDX-License-Identifier: MIT
// The event model: point events from the kernel (or a recording) and their vocabulary.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>

extern "C" {
#include "tunlat.h"
}

namespace tunlat {

// The wire and file form of every record (docs/recording.md), as ingest makes it from
// the kernel's records and as a recording holds it: 80 bytes, naturally aligned, no
// pointers. Its fields mean different things by point and flag: the pipeline decodes
// each event once into the typed record of its kind (core/model/records.h), and reads
// no Event field past that.
struct Event {
  uint64_t ts_ns;       // bpf_ktime_get_ns(): CLOCK_MONOTONIC
  uint64_t skb;         // skb address; with gen, the packet's identity. TL_DROP_ELSEWHERE,
                        // TL_SEND/TL_UREAD with TL_IO_SOCK: a socket's inode
  uint64_t parent_skb;  // version 1 files only (a segment's parent's address), which the
                        // reader's upgrade uses up (core/record/upgrade.h); now 0
  uint64_t aux;         // TL_FREE+TL_F_DROP: drop location; TL_DELIVER forwarded: ifindex;
                        // TL_TAKEN: payload bytes (0 with TL_F_CONSUMED); TL_F_SUMMARY:
                        // payload bytes; TL_SCHED: the other task's tid; TL_SEND/TL_UREAD:
                        // length
  uint32_t gen;         // generation, assigned at first sighting
  uint32_t parent_gen;  // TL_F_SEGMENT: the parent's generation
  uint32_t pid;         // tgid: at READ/INJECT (the VPN), DELIVER (the receiver), FREE+DROP,
                        // TX QUEUE (the task that queued it: its sender); else 0.
                        // TL_FLOW: the flow's id
  uint32_t tid;
  uint32_t len;  // skb->len
  int32_t code;  // TL_FREE+TL_F_DROP: enum skb_drop_reason; TL_XMIT_DONE: rc
  uint16_t cpu;
  uint8_t point;           // enum tl_point
  uint8_t dir;             // enum tl_dir
  uint16_t flags;          // enum tl_flags and EventFlags
  uint16_t ip_id;          // TL_F_SUMMARY: the IPv4 header's identification; 0: none, or a file
                           // written before it was recorded (the field was padding, always 0)
  char comm[TL_COMM_LEN];  // TL_COMM, TL_SCHED: a comm; TL_F_SUMMARY: a PacketSummary;
                           // TL_F_TCP_SAMPLE: a tl_tcp_sample
};
static_assert(sizeof(Event) == 80, "Event is the on-disk record: its layout is fixed");

// Flags the core adds to the kernel's (enum tl_flags, bpf/tunlat.h), in the same bits.
enum EventFlags : uint16_t {
  TL_F_INHERITED = 1 << 6,    // a GSO segment's copy of its parent's point: not a passage
  TL_F_BY_ADDRESS = 1 << 8,   // ingest only, never recorded: gen unknown, the packet at this
                              // address (and dir) is meant; AddressJoin fills gen in
  TL_F_SUMMARY = 1 << 11,     // a packet's first event: comm holds its PacketSummary (flow id,
                              // TCP fields) and aux its payload bytes (core/model/flow.h);
                              // also a TL_RETRANS event: the flow the host sent again
  TL_F_TCP_SAMPLE = 1 << 12,  // a TL_TAKEN event: comm holds the local socket's tl_tcp_sample
  TL_F_UPGRADE = 1 << 13,     // replay only, never recorded: an event the reader's upgrade of
                              // an older file added (core/record/upgrade.h), not one it holds
};
static_assert(((TL_F_GSO | TL_F_SEGMENT | TL_F_DROP | TL_F_FORWARDED | TL_F_LATE_START | TL_F_FIRST |
                TL_F_LAST | TL_F_CONSUMED) &
               (TL_F_INHERITED | TL_F_BY_ADDRESS | TL_F_SUMMARY | TL_F_TCP_SAMPLE | TL_F_UPGRADE)) == 0,
              "the core's flags use bits the kernel's do not");

static_assert(sizeof(tl_tcp_sample) <= TL_COMM_LEN, "a TCP sample travels in an event's comm");
// A TL_TAKEN event's sample of the local socket (TL_F_TCP_SAMPLE).
inline tl_tcp_sample tcp_sample_of(const Event& e) {
  tl_tcp_sample t{};
  std::memcpy(&t, e.comm, sizeof(t));
  return t;
}
// What consumes events: the pipeline, a recording writer. Ingest (live) and a recording's
// reader (replay) both produce them.
using EventSink = std::function<void(const Event&)>;

enum class Dir : uint8_t { Tx = TL_TX, Rx = TL_RX };
inline constexpr std::array<Dir, 2> kDirs{Dir::Tx, Dir::Rx};
inline constexpr int kPoints = TL_POINT_COUNT;

// Public names (CLI, JSON, reports): see docs/design.md "Points and spans".
inline std::string_view point_name(int p) {
  if (p == TL_COMM) return "comm";
  if (p == TL_FLOW) return "flow";
  static constexpr std::array<std::string_view, kPoints> names{"queue",     "enqueue", "dequeue", "xmit",
                                                               "xmit_done", "read",    "inject",  "receive",
                                                               "deliver",   "free",    "taken"};
  return p >= 0 && p < kPoints ? names[p] : "?";
}
inline std::string_view dir_name(Dir d) { return d == Dir::Tx ? "tx" : "rx"; }

// The points each direction passes, in path order.
inline constexpr std::array<int, 6> kTxPoints{TL_QUEUE, TL_ENQUEUE, TL_DEQUEUE, TL_XMIT, TL_READ, TL_FREE};
inline constexpr std::array<int, 5> kRxPoints{TL_INJECT, TL_RECEIVE, TL_TAKEN, TL_DELIVER, TL_FREE};

// A span: the time between two points of the same packet. A queue is a stage that can
// hold packets waiting for something downstream (a qdisc, the tun ring, a socket): where
// stalls and standing queues are looked for. A packet that does not pass `to` ends the
// span at `to_else` if it passed that (-1: none); with else_if_consumed, only if TCP
// consumed it there (an ACK: nothing was left to read).
struct SpanDef {
  std::string_view name;
  int from;
  int to;
  bool queue;
  int to_else = -1;
  bool else_if_consumed = false;
};
inline constexpr std::array<SpanDef, 4> kTxSpans{{{"qdisc", TL_QUEUE, TL_XMIT, true},
                                                  {"ring", TL_XMIT, TL_READ, true},
                                                  {"copy", TL_READ, TL_FREE, false},
                                                  {"total", TL_QUEUE, TL_READ, false}}};
// RX: `stack` ends where a TCP socket takes the packet, else where it is delivered (read
// by a UDP or ICMP socket, or forwarded); `socket` is a TCP packet's wait in its socket
// for the application's read.
inline constexpr std::array<SpanDef, 4> kRxSpans{{{"backlog", TL_INJECT, TL_RECEIVE, true},
                                                  {"stack", TL_RECEIVE, TL_TAKEN, false, TL_DELIVER},
                                                  {"socket", TL_TAKEN, TL_DELIVER, true},
                                                  {"total", TL_INJECT, TL_DELIVER, false, TL_TAKEN, true}}};

inline constexpr size_t kMaxSpans = std::max(kTxSpans.size(), kRxSpans.size());

// The points a GSO segment inherits from its parent: its stages 0 .. TL_INHERITED_STAGES - 1.
inline constexpr std::array<int, TL_INHERITED_STAGES> kInheritedPoints{TL_QUEUE, TL_ENQUEUE, TL_DEQUEUE};

// A read-only run of a constant list, so that a direction's points or spans are one type.
template <class T>
struct ListView {
  const T* first;
  size_t n;
  const T* begin() const { return first; }
  const T* end() const { return first + n; }
  size_t size() const { return n; }
  const T& back() const { return first[n - 1]; }
  const T& operator[](size_t i) const { return first[i]; }
};
inline ListView<int> points_of(Dir d) {
  return d == Dir::Tx ? ListView<int>{kTxPoints.data(), kTxPoints.size()}
                      : ListView<int>{kRxPoints.data(), kRxPoints.size()};
}
inline ListView<SpanDef> spans_of(Dir d) {
  return d == Dir::Tx ? ListView<SpanDef>{kTxSpans.data(), kTxSpans.size()}
                      : ListView<SpanDef>{kRxSpans.data(), kRxSpans.size()};
}

}  // namespace tunlat
