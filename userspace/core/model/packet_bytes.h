// SPDX-License-Identifier: MIT
// A followed packet's first bytes (TL_BYTES, --pcapng) as events carry them: 44 an event.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/model/event.h"

namespace tunlat {

// An Event has no room for 128 bytes: a TL_BYTES event carries a piece of them in the
// fields its kind has no use for (parent_skb and aux, parent_gen to tid, comm), and says
// whose they are as a packet's events do: skb, gen and dir; len = the packet's length on
// the wire; code = bytes in the piece << 16 | its offset << 8 | bytes captured in all
// (each 255 at most). A packet's pieces follow one another, before its first record.
inline constexpr size_t kBytesPerEvent = 44;
struct BytesRegion {
  size_t at, n;
};
inline constexpr std::array<BytesRegion, 3> kBytesRegions{{{offsetof(Event, parent_skb), 16},
                                                           {offsetof(Event, parent_gen), 12},
                                                           {offsetof(Event, comm), TL_COMM_LEN}}};
static_assert(16 + 12 + TL_COMM_LEN == kBytesPerEvent);
static_assert(offsetof(Event, aux) == offsetof(Event, parent_skb) + 8 &&
              offsetof(Event, len) == offsetof(Event, parent_gen) + 12);

// The bytes captured of a packet are at most this many (the BPF side's TL_SNAP).
inline constexpr uint32_t kMaxPacketBytes = 128;  // = TL_SNAP (bpf/cbpf.h), checked in ingest; < 256

// A packet's bytes [offset, offset + n) as TL_BYTES events, appended to out.
inline void append_bytes_events(const Event& who, uint32_t caplen, uint32_t offset, const uint8_t* data,
                                size_t n, std::vector<Event>& out) {
  for (size_t done = 0; done < n;) {
    Event e = who;
    e.point = TL_BYTES;
    const size_t piece = std::min(kBytesPerEvent, n - done);
    e.code = static_cast<int32_t>(piece << 16 | (offset + done) << 8 | caplen);
    auto* raw = reinterpret_cast<unsigned char*>(&e);
    size_t in = 0;
    for (const BytesRegion& r : kBytesRegions) {
      const size_t k = std::min(r.n, piece - in);
      std::memcpy(raw + r.at, data + done + in, k);
      in += k;
      if (in == piece) break;
    }
    done += piece;
    out.push_back(e);
  }
}

// A piece of a packet's bytes (TL_BYTES), decoded.
struct PacketBytes {
  uint64_t ts_ns;
  uint64_t skb;
  uint32_t gen;
  uint8_t dir;
  uint32_t wirelen;  // the packet's length from its link-layer header
  uint32_t caplen;   // bytes captured in all (kMaxPacketBytes at most)
  uint32_t offset;   // of this piece
  uint32_t n;        // bytes in this piece
  std::array<uint8_t, kBytesPerEvent> data;
};

// false: not a piece this tunlat can place (a corrupt or foreign file).
inline bool packet_bytes_of(const Event& e, PacketBytes& b) {
  const auto code = static_cast<uint32_t>(e.code);
  b = PacketBytes{e.ts_ns, e.skb, e.gen, e.dir, e.len, code & 0xff, code >> 8 & 0xff, code >> 16 & 0xff, {}};
  if (b.caplen > kMaxPacketBytes || b.offset >= b.caplen || b.n == 0 || b.n > kBytesPerEvent ||
      b.offset + b.n > b.caplen)
    return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(&e);
  size_t done = 0;
  for (const BytesRegion& r : kBytesRegions) {
    const size_t k = std::min<size_t>(r.n, b.n - done);
    std::memcpy(b.data.data() + done, raw + r.at, k);
    done += k;
    if (done == b.n) break;
  }
  return true;
}

}  // namespace tunlat
