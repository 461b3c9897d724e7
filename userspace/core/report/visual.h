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

// Everything a visual output is rendered from: the summary (as the text report is, so
// they agree), the gap histograms, and what Visuals gathered. Visuals::finish() first.
struct VisualInput {
  const Json& summary;
  const TraceInfo& info;
  const Analysis& analysis;
  const Visuals& visuals;
  std::vector<FlameKey> flame_by;
};

// `frame;frame;... weight` per line, weight in microseconds of packet-time: the format
// of flamegraph.pl, inferno and speedscope.
void write_folded(std::ostream& out, const std::vector<FlameLeaf>& leaves);

// A self-contained flame graph (inline script: hover, click to zoom, search). standalone:
// an SVG file with its XML declaration; otherwise an <svg> element for the HTML report.
// id: the <svg>'s, unique on a page of several graphs; its script registers its search and
// reset in window.tunlatFlames[id].
void write_flame_svg(std::ostream& out, const std::vector<FlameLeaf>& leaves, DeviceKind kind,
                     const std::string& title, bool standalone, const std::string& id = "tunlat-flame");

// Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing). Returns the packets left
// out by the packet limit (stated in the file's metadata).
size_t write_perfetto(std::ostream& out, const VisualInput& in);
// Several devices in one trace: each one's tracks, named after its label.
size_t write_perfetto(std::ostream& out, const std::vector<VisualInput>& ins,
                      const std::vector<std::string>& labels);

// One self-contained offline HTML page: findings, summary, flame graph, timelines.
void write_html(std::ostream& out, const VisualInput& in);
// One page for several devices: the tunnel's section (its JSON, or null), then each
// device's report under its label.
void write_tunnel_html(std::ostream& out, const std::vector<VisualInput>& ins,
                       const std::vector<std::string>& labels, const Json& tunnel);

// &, <, >, " and ' as entities: text and attribute values of HTML, SVG and XML.
std::string escape_markup(const std::string& s);

}  // namespace tunlat
