// SPDX-License-Identifier: MIT
// The end shared by `trace` and `report`: the final text report, the JSON, the visual files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/analyse/visuals.h"
#include "core/model/trace_info.h"
#include "core/pipeline.h"

namespace tunlat {

// --folded, --svg, --html, --perfetto and what shapes them; the same on trace and report.
struct VisualArgs {
  std::string folded_path, svg_path, html_path, perfetto_path;
  std::string flame_by = kDefaultFlameBy;
  size_t perfetto_packets = 50'000;
  bool any() const {
    return !folded_path.empty() || !svg_path.empty() || !html_path.empty() || !perfetto_path.empty();
  }
};

// A bad --flame-by is a usage error (Fatal): checked before anything is attached.
void check_visuals(const VisualArgs& v);

// Checks the visual options before anything starts (a bad --flame-by is a usage error)
// and, when a visual output is asked for, attaches what gathers its data to the pipeline.
std::unique_ptr<Visuals> prepare_visuals(const VisualArgs& v, Pipeline& pipeline);

// Once the pipeline is flushed: prints the final report to stdout, writes the JSON to
// json_path unless it is empty, and the visual files (visuals: from prepare_visuals).
void finish_report(const TraceInfo& info, const Pipeline& pipeline, const std::string& json_path,
                   const VisualArgs& v = {}, Visuals* visuals = nullptr);

// One end of a traced tunnel, or one of several devices: its label as given ("accA/tap0"),
// its trace, and its packets for the tunnel (nullptr: not an end).
struct EndReport {
  std::string label;
  const TraceInfo* info;
  const Pipeline* pipeline;
  TunnelEnd* tunnel;
  Visuals* visuals;  // from prepare_visuals: with --html or --perfetto
};

// Several devices, their pipelines flushed: each one's report under its label, then, for
// two ends, the tunnel's (one_clock: both traced here at once, else two recordings). The
// JSON: {"devices": [each one's summary, with "label"], "tunnel": {...} or null}; one HTML
// page and one Perfetto trace for them all (--svg and --folded draw one device: refused).
void finish_reports(const std::vector<EndReport>& ends, bool one_clock, uint64_t stall_ns,
                    const std::string& json_path, const VisualArgs& v);

}  // namespace tunlat
