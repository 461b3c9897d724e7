// SPDX-License-Identifier: MIT
// Renders reports for people: the final report (from the JSON summary) and the live blocks.
#pragma once

#include <ostream>

#include "core/analyse/analysis.h"
#include "core/model/json.h"

namespace tunlat {

// The final report. Rendered from the summary so text and JSON never disagree.
void render_report(std::ostream& out, const Json& summary);

// One live block (every interval): per direction pps, Mbit/s, spans p50/p99/max, drops.
// delta: what happened in the interval, per direction (see since()).
// stall: a queue span stuck right now (stage nullopt: none), marked above the block.
void render_live(std::ostream& out, const std::array<DirStats, 2>& delta, double elapsed_s, double interval_s,
                 uint64_t lost_total, DeviceKind kind, const LiveStall& stall = {});

}  // namespace tunlat
