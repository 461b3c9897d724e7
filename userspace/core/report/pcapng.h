// SPDX-License-Identifier: MIT
// --pcapng: the followed packets as a pcapng file, each with its stage times in a comment.
//
// Our own writer, a few blocks of the format (draft-ietf-opsawg-pcapng): no C or C++
// library in Debian writes pcapng with per-packet comments and flags (libpcap 1.10 writes
// pcap only; libwiretap is Wireshark's, GPL, without a stable ABI).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/analyse/analysis.h"
#include "core/model/journey.h"
#include "core/model/packet_bytes.h"
#include "core/model/trace_info.h"
#include "core/pipeline.h"

namespace tunlat {

// Link types (tcpdump.org/linktypes.html) of the devices tunlat traces.
inline constexpr uint16_t kLinktypeEthernet = 1;
inline constexpr uint16_t kLinktypeRaw = 101;  // IPv4 or IPv6, told by the first nibble

// epb_flags' direction (bits 0-1).
inline constexpr uint32_t kEpbInbound = 1;
inline constexpr uint32_t kEpbOutbound = 2;

inline constexpr uint32_t kDefaultSnaplen = 128;

struct PcapngInterface {
  std::string name;         // if_name
  std::string description;  // if_description
  uint16_t linktype = kLinktypeEthernet;
  uint32_t snaplen = kDefaultSnaplen;
};

// The blocks, little-endian, each padded to 32 bits: a Section Header Block when made,
// then Interface Description Blocks and Enhanced Packet Blocks as asked. Times in ns
// (if_tsresol 9).
class PcapngWriter {
 public:
  explicit PcapngWriter(std::ostream& out, std::string_view application);
  uint32_t add_interface(const PcapngInterface& i);  // its id, for packet()
  void packet(uint32_t iface, uint64_t ts_ns, const uint8_t* data, uint32_t caplen, uint32_t wirelen,
              uint32_t flags, uint64_t packet_id, std::string_view comment);

 private:
  std::ostream& out_;
  uint32_t interfaces_ = 0;
  std::vector<char> body_;  // the block being built
};

// The comment of a packet's EPB: "tunlat dir=tx qdisc=26.4us ring=5.70ms copy=535ns
// total=5.83ms reader=openvpn/13652 cpu=1", each span the packet has (3 significant
// digits, a unit), the VPN's reader (TX) or writer (RX) and its CPU, an RX packet's
// receiver, and a drop as drop=REASON@location. Names are made safe: no spaces, no '='.
using LocationName = std::function<std::string(uint64_t)>;
std::string pcapng_comment(const Journey& j, const TraceInfo& info, const LocationName& location_name);
// "26.4us", "5.70ms", "535ns", "1.20s": 3 significant digits.
std::string pcapng_duration(uint64_t ns);

// Fed by the pipeline (the packets' bytes, PacketBytesSink) and the analysis (every packet
// counted, AnalysisObserver): one EPB per packet counted, so the frames of a direction are
// its packets in the report. Its bytes, kept from when they came until its journey ends
// (bounded: kMaxPending packets, the oldest forgotten first), or none if they never came
// (a recording without bytes). The packet's first point is its timestamp.
class PcapngOutput : public AnalysisObserver, public PacketBytesSink {
 public:
  PcapngOutput(std::ostream& out, const TraceInfo& info, uint32_t snaplen, LocationName location_name);

  void on_bytes(const PacketBytes& b) override;
  void on_pass(const PointPass&) override {}
  void on_packet(const Journey& j) override;

  uint64_t packets() const { return packets_; }
  uint64_t with_bytes() const { return with_bytes_; }
  size_t pending() const { return pending_.size(); }  // packets whose bytes wait for their journey

  static constexpr size_t kMaxPending = size_t{1} << 16;

 private:
  struct Key {
    uint64_t skb;
    uint32_t gen;
    uint8_t dir;
    bool operator==(const Key& o) const { return skb == o.skb && gen == o.gen && dir == o.dir; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return (k.skb >> 6) * 0x9E3779B97F4A7C15ull ^ (uint64_t{k.gen} << 1 | k.dir);
    }
  };
  struct Bytes {
    std::array<uint8_t, kMaxPacketBytes> data{};
    uint32_t caplen = 0, wirelen = 0, have = 0;  // have: bytes arrived, in order
  };

  PcapngWriter writer_;
  const TraceInfo& info_;
  uint32_t snaplen_;
  LocationName location_name_;
  uint32_t iface_ = 0;
  std::unordered_map<Key, Bytes, KeyHash> pending_;
  std::deque<Key> order_;  // pending_'s keys, oldest first (some maybe gone already)
  uint64_t packets_ = 0, with_bytes_ = 0;
};

}  // namespace tunlat
