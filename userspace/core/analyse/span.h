// SPDX-License-Identifier: MIT
// Spans as the core decides by them: an enum; their names only where they are written out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/model/device_model.h"
#include "core/model/event.h"

namespace tunlat {

// Every span of both directions, by its place in kTxSpans / kRxSpans (core/model/event.h),
// whose SpanDef names are the one table of their names: TX qdisc, ring, copy; RX backlog,
// stack, socket; and `total`, the last of each.
enum class Span : uint8_t { Qdisc, Ring, Copy, Backlog, Stack, Socket, Total };

inline constexpr size_t kTotalSpanIndex = 3;
static_assert(kTxSpans.size() == kTotalSpanIndex + 1 && kRxSpans.size() == kTotalSpanIndex + 1);

// The span at index i of spans_of(d), and back.
inline Span span_at(Dir d, size_t i) {
  if (i == kTotalSpanIndex) return Span::Total;
  return static_cast<Span>(d == Dir::Tx ? i : kTotalSpanIndex + i);
}
inline size_t span_index(Span s) {
  const size_t v = static_cast<size_t>(s);
  return s == Span::Total ? kTotalSpanIndex : v < kTotalSpanIndex ? v : v - kTotalSpanIndex;
}
// Its points in direction d (`total` is a span of both directions, between other points).
inline const SpanDef& span_def(Dir d, Span s) { return spans_of(d)[span_index(s)]; }
// Its public name (JSON, reports) on a device of kind k: "qdisc", "ring" (a tun's), "vpn"
// (WireGuard's) ... (`total`'s is the same in both directions).
inline std::string_view span_name(Span s, DeviceKind k) {
  const bool rx = s != Span::Total && static_cast<size_t>(s) >= kTotalSpanIndex;
  return spans_of(rx ? Dir::Rx : Dir::Tx, k)[span_index(s)].name;
}

}  // namespace tunlat
