// SPDX-License-Identifier: MIT
// Per direction: the span that holds the packets longest, and where the pacing comes from.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "core/analyse/analysis.h"
#include "core/analyse/span.h"

namespace tunlat {

// Fewer packets than this say nothing about pacing or where the time goes.
inline constexpr uint64_t kMinPacketsForVerdict = 10;
// A queue stage whose packets wait, by Little's law, behind this many others holds a
// standing queue: what leaves it is paced by it, whatever arrives.
inline constexpr double kStandingQueue = 4.0;
// ... or behind one, when it releases them at a regular period: a server busy all the
// time at its own pace (a tbf at 4 Mbit/s held 3.5 packets in one run of six, 10-26 in the
// others, releasing one every 2.8 ms throughout).
inline constexpr double kStandingQueuePeriodic = 1.0;
// Releases are regular (a period) when the gap's p90 is within this factor of its p50.
inline constexpr double kRegularSpread = 1.25;

// The main points of each direction's path: where pacing is compared.
std::array<int, 3> path_points(Dir d);

// The span (index into spans_of(d), "total" aside) holding the most packet-time; -1: none.
int dominant_span(Dir d, const DirStats& s);

// The rule that decided where the pacing comes from:
// StandingQueue: a queue stage holds packets (queued = its mean wait / the mean gap at its
//   exit, Little's law) and so sets the pace at which they leave, whatever the sender does
//   (TCP's ACK clock echoes the bottleneck's pace upstream);
// NoQueue: no stage holds a queue and the gaps leaving the device are those arriving;
// GapGrowth: no stage holds a queue; the span across which the gaps grow most.
enum class PacingRule : uint8_t { StandingQueue, NoQueue, GapGrowth };
// Its public name: "standing_queue" | "no_queue" | "gap_growth".
inline const char* pacing_rule_name(PacingRule r) {
  return r == PacingRule::StandingQueue ? "standing_queue"
         : r == PacingRule::NoQueue     ? "no_queue"
                                        : "gap_growth";
}

// Where the pacing comes from, and the rule that decided it.
struct Pacing {
  std::optional<Span> origin;  // nullopt: upstream (NoQueue)
  PacingRule rule = PacingRule::NoQueue;
  double queued = 0;            // StandingQueue: packets waiting there, on average
  uint64_t gap_in_p50_ns = 0;   // gaps where packets enter the device
  uint64_t gap_out_p50_ns = 0;  // ... where they leave the origin (its exit point)
  uint64_t gap_out_p90_ns = 0;
  uint64_t period_ns = 0;                // the origin releases one packet per period; 0: irregular
  double exit_mbit_s = 0, exit_pps = 0;  // StandingQueue: the origin's service rate (SpanExit)
  int exit_point = -1;                   // the origin's exit point
};
// The origin's public name: a span's, or "upstream".
inline std::string_view pacing_origin_name(const Pacing& p, DeviceKind k) {
  return p.origin ? span_name(*p.origin, k) : "upstream";
}
// nullopt: too few packets to say.
std::optional<Pacing> pacing_of(Dir d, const DirStats& s, DeviceKind k);

}  // namespace tunlat
