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

// The main points of each direction's path: where pacing is compared.
std::array<int, 3> path_points(Dir d);

// The span (index into spans_of(d), "total" aside) holding the most packet-time; -1: none.
int dominant_span(Dir d, const DirStats& s);

// Where pacing is introduced: "upstream" if packets arrive at the device as spaced as they
// leave it; otherwise the span across which the gap grows the most. nullopt: too few
// packets to say.
std::optional<std::string> pacing_origin(Dir d, const DirStats& s);

}  // namespace tunlat
