// SPDX-License-Identifier: MIT
// Per direction: the span that holds the packets longest, and where the pacing comes from.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "core/analyse/analysis.h"

namespace tunlat {

// Fewer packets than this say nothing about pacing or where the time goes.
inline constexpr uint64_t kMinPacketsForVerdict = 10;
// A queue stage whose packets wait, by Little's law, behind this many others holds a
// standing queue: what leaves it is paced by it, whatever arrives.
inline constexpr double kStandingQueue = 4.0;
// Releases are regular (a period) when the gap's p90 is within this factor of its p50.
inline constexpr double kRegularSpread = 1.25;

// The main points of each direction's path: where pacing is compared.
std::array<int, 3> path_points(Dir d);

// The span (index into spans_of(d), "total" aside) holding the most packet-time; -1: none.
int dominant_span(Dir d, const DirStats& s);

// Where the pacing comes from, and the rule that decided it.
struct Pacing {
  std::string origin;  // "upstream" or a span name
  // "standing_queue": a queue stage holds packets (queued = its mean wait / the mean gap at
  //   its exit, Little's law) and so sets the pace at which they leave, whatever the sender
  //   does (TCP's ACK clock echoes the bottleneck's pace upstream);
  // "no_queue": no stage holds a queue and the gaps leaving the device are those arriving;
  // "gap_growth": no stage holds a queue; the span across which the gaps grow most.
  std::string rule;
  double queued = 0;                   // standing_queue: packets waiting there, on average
  uint64_t gap_in_p50_ns = 0;          // gaps where packets enter the device
  uint64_t gap_out_p50_ns = 0;         // ... where they leave the origin (its exit point)
  uint64_t gap_out_p90_ns = 0;
  uint64_t period_ns = 0;              // the origin releases one packet per period; 0: irregular
  double exit_mbit_s = 0, exit_pps = 0;  // standing_queue: the origin's service rate (SpanExit)
  int exit_point = -1;                 // the origin's exit point
};
// nullopt: too few packets to say.
std::optional<Pacing> pacing_of(Dir d, const DirStats& s);

}  // namespace tunlat
