// SPDX-License-Identifier: MIT
// The whole tunnel: the same inner packets found at both ends (two devices of one trace,
// or two recordings), each one's transit cut into the segments of its path.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/analyse/histogram.h"
#include "core/tunnel/tunnel_end.h"

namespace tunlat {

// The segments of a packet's path from end A's device to end B's, in path order. They add
// up to its transit: from_device + from_vpn + underlay + to_vpn + to_device.
enum class Segment : uint8_t {
  FromDevice,  // A's spans: its `total` (queue -> the VPN's read)
  FromVpn,     // A's VPN: its read -> its underlay send
  Underlay,    // the underlay and B's socket queue: A's send -> B's VPN reads it
  ToVpn,       // B's VPN: that read -> its write into B's device
  ToDevice,    // B's spans: inject -> a TCP socket took it (else delivered)
};
inline constexpr size_t kSegments = 5;
std::string_view segment_name(Segment s);  // "from_device" ... (JSON)

// One end as the matching takes it.
struct TunnelSide {
  std::string name;  // as given: "accA/tap0"
  const TunnelEnd* end = nullptr;
  const VpnAnalysis* vpn = nullptr;  // its owners' scheduling, for findings; may be null
  int64_t to_common_ns = 0;          // added to its times: the common clock (wall clock)
};

// The packet that waited longest in a segment, on its holder's clock.
struct SegmentWorst {
  uint64_t ns = 0;
  uint64_t from_ns = 0;       // when its wait began, on the holder's end's clock
  uint32_t pid = 0, tid = 0;  // the process whose turn it was (0: the host's stack)
};

struct TunnelPath {
  const TunnelSide* from = nullptr;
  const TunnelSide* to = nullptr;
  uint64_t packets = 0;  // that left `from`'s device (its TX, read by its VPN)
  uint64_t matched = 0;  // found at `to` (its RX)
  uint64_t timed = 0;    // matched, every segment's ends seen: what the histograms hold
  Histogram transit;
  std::array<Histogram, kSegments> segments;
  std::array<SegmentWorst, kSegments> worst;
  std::array<uint64_t, kSegments> over_stall{};  // packets that waited stall_ns or more
};

struct TunnelResult {
  std::array<TunnelPath, 2> paths;  // A -> B, B -> A
  bool one_clock = true;            // both ends on one host's clock: no offset to estimate
  // B's clock minus A's beyond what their wall clocks said, from the least one-way delays
  // both ways (as NTP does); error: half their sum. Unknown without packets both ways.
  std::optional<int64_t> clock_offset_ns;
  std::optional<uint64_t> clock_error_ns;
};

// Matches a's TX with b's RX and b's TX with a's RX. one_clock: the ends' times are on one
// clock already (one trace); else b's offset is estimated from the packets.
TunnelResult match_tunnel(const TunnelSide& a, const TunnelSide& b, bool one_clock, uint64_t stall_ns);

}  // namespace tunlat
