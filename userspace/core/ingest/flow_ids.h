// SPDX-License-Identifier: MIT
// Gives the packets' summaries their flows: ids assigned by ingest, defined once each.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/model/flow.h"

namespace tunlat {

struct FlowIdStats {
  uint64_t flows = 0;          // flows named
  uint64_t others = 0;         // packets of flows beyond kMaxFlowIds (flow kOtherFlow)
  uint64_t unknown_addr6 = 0;  // IPv6 packets whose addresses' record was lost: named by hash
};

// The kernel summarises a packet's headers (bpf/tunlat.h tl_sum) in its first record;
// this names its flow. A new flow's definition (a TL_FLOW event) goes out before the
// packet's first event, so a recording holds each flow's addresses once. IPv6 addresses
// come as hashes, the addresses behind them in TL_ADDR6 records sent before.
// Memory: kMaxFlowIds flows, kMaxAddr6 IPv6 addresses, whatever the traffic.
class FlowIds {
 public:
  static constexpr size_t kMaxFlowIds = 1 << 16;
  static constexpr size_t kMaxAddr6 = 1 << 12;

  // A TL_ADDR6 record's addresses.
  void learn(const tl_addr6& a);
  // The flow of a summary seen in direction dir; appends its definition to out if new.
  uint32_t flow_of(const tl_sum& s, uint8_t dir, uint64_t ts_ns, std::vector<Event>& out);

  const FlowIdStats& stats() const { return stats_; }

 private:
  void address(std::array<uint8_t, 16>& out, uint32_t v4_or_hash, uint8_t family);

  std::unordered_map<FlowKey, uint32_t, FlowKeyHash> ids_;
  std::unordered_map<uint32_t, std::array<uint8_t, 16>> addr6_;
  FlowIdStats stats_;
};

}  // namespace tunlat
