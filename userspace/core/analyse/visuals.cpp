// SPDX-License-Identifier: MIT
// What the visual reports need beyond the summary: timeline, flame data, a capped packet log.
#include "core/analyse/visuals.h"

#include <cstring>

namespace tunlat {

void Visuals::on_packet(const Journey& j) {
  const auto spans = spans_of(j.dir, kind_);
  for (size_t i = 0; i < spans.size(); i++) {
    const SpanDef& sd = spans[i];
    const uint64_t from = j.ts[sd.from], to = span_end(j, sd);
    if (!from || !to || to < from) continue;  // as Analysis: missing or negative (skew)
    timeline_.add_span(j.dir, i, from, to);
    // `total` (the last span) overlaps the others: a flame graph's widths must add up
    // to packet-time.
    if (i + 1 == spans.size()) continue;
    // The point that ended it: its own, its fallback, or (a UDP read with checksum) the free.
    const int end_point = j.seen(sd.to)                           ? sd.to
                          : sd.to_else >= 0 && j.seen(sd.to_else) ? sd.to_else
                                                                  : TL_FREE;
    flame_.add(j.dir, i, j.pid, j.comm.data(), j.cpu[end_point], to - from);
  }
  if (j.flags & TL_F_DROP) {
    timeline_.add_drop(j.dir, j.ts[TL_FREE]);
    if (drops_.size() < VisualOptions::kMaxDrops)
      drops_.push_back({j.ts[TL_FREE], j.dir, j.drop_reason, j.drop_location});
  }
  if (packets_.size() >= opts_.packet_limit) {
    packets_not_kept_++;
    return;
  }
  PacketTrace& p = packets_.emplace_back();
  p.ts = j.ts;
  // Each span's end as the analysis takes it, fallbacks applied (a UDP packet's deliver is
  // its free; an ACK TCP consumed ends at taken), so that the trace's slices are the spans'.
  for (size_t i = 0; i < spans.size(); i++) p.span_end[i] = span_end(j, spans[i]);
  p.drop_location = j.drop_location;
  p.pid = j.pid;
  p.tid = j.tid;
  p.len = j.len;
  p.drop_reason = j.drop_reason;
  p.flags = j.flags;
  p.dir = j.dir;
  if (j.tid && threads_.size() < VisualOptions::kMaxThreads && !threads_.count(j.tid))
    threads_[j.tid] = {j.pid, std::string(j.comm.data(), strnlen(j.comm.data(), j.comm.size()))};
}

}  // namespace tunlat
