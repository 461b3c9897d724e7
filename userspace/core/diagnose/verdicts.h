// SPDX-License-Identifier: MIT
// Sentences a person can act on, drawn from a direction's numbers: where packets wait,
// where the pacing comes from, what dropped them.
#pragma once

#include <string>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/model/trace_info.h"

namespace tunlat {

// Appends the verdicts about direction d to out, most important first.
void add_verdicts(const TraceInfo& info, Dir d, const DirStats& s, std::vector<std::string>& out);

}  // namespace tunlat
