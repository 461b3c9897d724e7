// SPDX-License-Identifier: MIT
// A packet's path through the points of its direction, as the correlator assembles it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/model/event.h"
#include "core/model/flow.h"

namespace tunlat {

// One packet's path through the points of its direction.
struct Journey {
  uint64_t skb = 0;
  uint32_t gen = 0;
  Dir dir = Dir::Tx;
  std::array<uint64_t, kPoints> ts{};  // 0 = point not seen
  std::array<uint16_t, kPoints> cpu{};
  uint64_t last_ts = 0;
  uint32_t len = 0;
  uint16_t flags = 0;       // union of the events' TL_F_* flags
  int32_t drop_reason = 0;  // valid with TL_F_DROP
  uint64_t drop_location = 0;
  int32_t xmit_rc = 0;
  // The process that moved it through the device: reader (TX read) or writer (RX inject).
  uint32_t pid = 0, tid = 0;
  std::array<char, TL_COMM_LEN> comm{};  // filled when the journey ends
  uint32_t free_pid = 0, free_tid = 0;   // who freed it (for drops)
  std::array<char, TL_COMM_LEN> free_comm{};
  uint32_t recv_pid = 0, recv_tid = 0;  // RX: the application that read it (deliver)
  std::array<char, TL_COMM_LEN> recv_comm{};
  // TX: the task that queued it (its sender, if it sent from its own system call); 0:
  // unknown (recordings made before the kernel said, a packet first seen after queue).
  uint32_t sender_pid = 0, sender_tid = 0;
  std::array<char, TL_COMM_LEN> sender_comm{};
  // Who the packet is (PacketPass::summary); sum.flow 0: its first pass said nothing.
  PacketSummary sum{};
  uint32_t payload = 0;  // TCP/UDP payload bytes
  uint16_t ip_id = 0;    // the IPv4 header's identification (0: none, or not known)
  // RX TCP: the local socket's state as it took the segment (TL_F_TCP_SAMPLE).
  tl_tcp_sample tcp{};
  bool has_tcp = false;

  bool seen(int p) const { return ts[p] != 0; }
  // A GSO skb split into segments before reaching the driver: its segments are the packets.
  bool segmented_parent() const { return (flags & TL_F_GSO) && !seen(TL_XMIT) && !(flags & TL_F_DROP); }
};

// A kernel comm as a string: up to its first NUL.
inline std::string comm_string(const std::array<char, TL_COMM_LEN>& c) {
  return std::string(c.data(), strnlen(c.data(), c.size()));
}

enum class End {
  Freed,    // consume_skb / kfree_skb seen, or its last point (TL_F_LAST)
  Evicted,  // no event for longer than the TTL: free never arrived
  Flushed,  // still in flight when the trace ended
};

}  // namespace tunlat
