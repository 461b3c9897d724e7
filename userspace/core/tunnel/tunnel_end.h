// SPDX-License-Identifier: MIT
// One end of a tunnel as its device's trace sees it: each packet's times at the device and
// at its VPN, named by its inner headers, for matching with the other end's (tunnel.h).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/analyse/flows.h"
#include "core/analyse/vpn.h"
#include "core/correlate/correlator.h"
#include "core/model/device_model.h"

namespace tunlat {

// What both ends see of one inner packet: its addresses and ports in the direction it
// went, its protocol, IPv4 id and TCP (or ICMP) fields. Not its length: a tap's TX skb
// holds the Ethernet header, the same frame received does not.
uint64_t inner_id(const FlowKey& k, Dir d, const Journey& j);

// A packet at one end, its times on that end's clock.
struct EndPacket {
  uint64_t id = 0;                    // inner_id
  uint64_t from_ns = 0, to_ns = 0;    // at the device: TX its `total` (queue -> read), RX
                                      // inject -> a TCP socket took it, else delivered; 0: not seen
  uint64_t vpn_ns = 0;                // TX: its VPN's underlay send, RX: the underlay read it came from,
                                      // as the VPN's pairing says (0: not paired)
  uint32_t vpn_pid = 0, vpn_tid = 0;  // TX its reader, RX its writer
  uint32_t app_pid = 0;               // RX: the application that read it (0: none seen)
};

// Collects an end's packets from its pipeline's journeys and VPN pairs (both hooks set by
// Pipeline::set_tunnel_end). Bounded: the first kMaxPackets packets per direction.
class TunnelEnd : public JourneySink, public VpnPairSink {
 public:
  static constexpr size_t kMaxPackets = size_t{1} << 20;  // ~110 MB per end and direction

  TunnelEnd(const FlowTable& flows, DeviceKind kind) : flows_(flows), kind_(kind) {}
  void on_journey(const Journey& j, End how) override;
  void on_pair(const VpnPair& p) override;
  // Joins packets with their pairs, the way the VPN's analysis chose (per thread or per
  // process, by direction: PairStats::by_thread). Call once, after the pipeline's flush.
  void finish(const VpnAnalysis& vpn);

  const std::vector<EndPacket>& packets(Dir d) const { return done_[static_cast<int>(d)]; }
  uint64_t not_kept() const { return not_kept_; }  // past kMaxPackets

 private:
  struct Staged {
    uint64_t skb;
    uint32_t gen;
    EndPacket p;
  };
  struct Pair {
    uint64_t skb;
    uint32_t gen;
    uint64_t vpn_ns;
  };
  const FlowTable& flows_;
  DeviceKind kind_;
  std::array<std::vector<Staged>, 2> staged_;              // by Dir
  std::array<std::array<std::vector<Pair>, 2>, 2> pairs_;  // by Dir, way
  std::array<std::vector<EndPacket>, 2> done_;
  uint64_t not_kept_ = 0;
};

}  // namespace tunlat
