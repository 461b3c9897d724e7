// SPDX-License-Identifier: MIT
// Per direction: the span that holds the packets longest, and where the pacing comes from.
#include "core/analyse/bottleneck.h"

#include <algorithm>

namespace tunlat {

namespace {

uint64_t p50(const Histogram& h) { return std::max<uint64_t>(h.quantile(0.5), 1); }

// One packet per p50 gap, when the gaps hardly vary and are long enough to be a period
// rather than back-to-back packets.
uint64_t period_of(const Histogram& gaps) {
  const uint64_t mid = gaps.quantile(0.5), hi = gaps.quantile(0.9);
  constexpr uint64_t kMinPeriodNs = 50'000;
  return mid >= kMinPeriodNs && hi <= kRegularSpread * mid ? mid : 0;
}

}  // namespace

std::array<int, 3> path_points(Dir d) {
  return d == Dir::Tx ? std::array<int, 3>{TL_QUEUE, TL_XMIT, TL_READ}
                      : std::array<int, 3>{TL_INJECT, TL_RECEIVE, TL_DELIVER};
}

int dominant_span(Dir d, const DirStats& s) {
  int best = -1;
  uint64_t best_sum = 0;
  const auto spans = spans_of(d);
  for (size_t i = 0; i < spans.size(); i++) {
    if (span_at(d, i) == Span::Total) continue;
    if (s.spans[i].sum() > best_sum) best_sum = s.spans[i].sum(), best = static_cast<int>(i);
  }
  return best;
}

std::optional<Pacing> pacing_of(Dir d, const DirStats& s, DeviceKind k) {
  const auto pts = path_points(d);
  for (int p : pts)
    if (s.gaps[p].count() < kMinPacketsForVerdict) return std::nullopt;
  Pacing out;
  out.gap_in_p50_ns = p50(s.gaps[pts[0]]);

  // The queue stage holding the most packets, if any holds a standing queue.
  const auto spans = spans_of(d, k);
  int best = -1;
  for (size_t i = 0; i < spans.size(); i++) {
    const SpanDef& sd = spans[i];
    if (!sd.queue || s.spans[i].count() < kMinPacketsForVerdict ||
        s.gaps[sd.to].count() < kMinPacketsForVerdict)
      continue;
    // Little's law: packets in the stage = mean wait x exit rate. Means, not medians: GSO
    // segments leave a qdisc back to back, so the median gap at xmit says nothing of the rate.
    const double queued = s.spans[i].mean() / std::max(s.gaps[sd.to].mean(), 1.0);
    const double standing = period_of(s.gaps[sd.to]) ? kStandingQueuePeriodic : kStandingQueue;
    if (queued >= standing && queued > out.queued) out.queued = queued, best = static_cast<int>(i);
  }
  if (best >= 0) {
    const SpanDef& sd = spans[best];
    out.origin = span_at(d, best);
    out.rule = PacingRule::StandingQueue;
    out.exit_point = sd.to;
    out.exit_mbit_s = s.exits[best].mbit_s();
    out.exit_pps = s.exits[best].pps();
  } else {
    // Nothing queues: the pacing is what arrives, or what a stage adds as packets pass.
    const std::array<double, 3> gap{static_cast<double>(p50(s.gaps[pts[0]])),
                                    static_cast<double>(p50(s.gaps[pts[1]])),
                                    static_cast<double>(p50(s.gaps[pts[2]]))};
    if (gap[2] <= 1.5 * gap[0]) {
      out.origin = std::nullopt;  // upstream
      out.rule = PacingRule::NoQueue;
      out.exit_point = pts[0];
    } else {
      const int worst = gap[1] / gap[0] >= gap[2] / gap[1] ? 0 : 1;
      out.origin = span_at(d, worst);
      out.rule = PacingRule::GapGrowth;
      out.exit_point = pts[worst + 1];
    }
  }
  const Histogram& g = s.gaps[out.exit_point];
  out.gap_out_p50_ns = p50(g);
  out.gap_out_p90_ns = g.quantile(0.9);
  out.period_ns = period_of(g);
  return out;
}

}  // namespace tunlat
