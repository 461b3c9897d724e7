// SPDX-License-Identifier: MIT
// The visual outputs: folded stacks, flame-graph SVG, Perfetto trace and the HTML report.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/flame.h"
#include "core/analyse/visuals.h"
#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

// `frame;frame;... weight` per line, weight in microseconds of packet-time: the format
// of flamegraph.pl, inferno and speedscope.
void write_folded(std::ostream& out, const std::vector<FlameLeaf>& leaves);

// A self-contained flame graph (inline script: hover, click to zoom, search). standalone:
// an SVG file with its XML declaration; otherwise an <svg> element for the HTML report.
void write_flame_svg(std::ostream& out, const std::vector<FlameLeaf>& leaves, const std::string& title,
                     bool standalone);

// &, <, >, " and ' as entities: text and attribute values of HTML, SVG and XML.
std::string escape_markup(const std::string& s);

}  // namespace tunlat
