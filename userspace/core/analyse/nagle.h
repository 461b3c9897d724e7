// SPDX-License-Identifier: MIT
// Nagle meeting delayed ACKs (seed 003): small segments held until an ACK the peer delays.
#pragma once

#include <cstdint>

#include "core/analyse/histogram.h"

namespace tunlat {

// Nagle's algorithm (Linux: with Minshall's change) holds a small segment while an
// earlier small one is unacknowledged; a receiver with nothing to send delays its ACK
// (Linux: 40 ms at least). An application that writes a request in pieces and then
// waits for the answer (write-write-read) pays that delay on every exchange: its first
// piece leaves, the second waits in the socket until the ACK of the first, the ACK waits
// for the receiver's timer. What the device shows, per TCP direction of a flow:
//
//   D1  a small data segment, passing the device;
//   A   a pure ACK the other way (no data, no SYN/FIN/RST) acknowledging everything this
//       direction sent, tens of ms after D1 (>= kMinAckDelayNs);
//   D2  the next small data segment, right after A (within the gate: the sender's own
//       stack when it is on the host's side; plus the path's round trip beyond the
//       device when it is behind it), with no data the other way between A and D2.
//
// Each such D2 is an exchange; it waited D2 - D1 (the application wrote it with D1), of
// which A - D1 was the ACK's delay. Retransmitted segments never count (Karn).
struct NagleStats {
  static constexpr uint64_t kMinAckDelayNs = 10'000'000;  // "tens of ms": a delayed ACK
  static constexpr uint64_t kGateNs = 2'000'000;          // ACK -> data inside one host
  static constexpr uint32_t kMinMss = 536;                // IPv4's default MSS: below it, small

  uint64_t small_segments = 0;  // data segments smaller than the flow's MSS
  uint64_t exchanges = 0;       // of them, released by a delayed pure ACK
  Histogram wait;               // D2 - D1 per exchange
  Histogram ack_delay;          // A - D1 per exchange

  // A data segment of this direction passing the device. small: shorter than the MSS;
  // resent: its range had passed before; gate_ns: how soon after A it must come.
  void on_data(uint64_t ts_ns, bool small, bool resent, uint64_t gate_ns);
  // A pure ACK the other way that acknowledges all of this direction's data, newly.
  void on_ack_of_all(uint64_t ts_ns);
  // Data the other way: what this direction sends next answers it, not a bare ACK.
  void on_answer() { ack_ts_ = 0; }

 private:
  uint64_t last_ts_ = 0;      // the last data segment: when it passed (0: none yet)
  bool last_counts_ = false;  // small and sent once
  uint64_t ack_ts_ = 0;       // a pure ACK of everything, not yet followed by data (0: none)
  uint64_t acked_ts_ = 0;     // the data segment it acknowledged last: its D1
  bool acked_counts_ = false;
};

}  // namespace tunlat
