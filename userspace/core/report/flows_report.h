// SPDX-License-Identifier: MIT
// Flows in the outputs: the JSON's tcp object, the report's flow tables, the live line.
#pragma once

#include <ostream>
#include <string>

#include "core/analyse/flows.h"
#include "core/model/json.h"

namespace tunlat {

// How many flows the JSON lists: the top by packets, by bytes and by latency, merged.
inline constexpr size_t kListedFlows = 20;

// The summary's "tcp" object: retransmits (null without flows: a recording before
// version 3) and the flows listed, most packets first.
// host_retransmits: TraceInfo::host_retransmits ("on": the host's own count is known).
Json flows_json(const FlowTable& flows, const std::string& host_retransmits);
// The report's flow tables, from the summary: top flows by packets and by latency.
void render_flows(std::ostream& out, const Json& doc);
// "busiest: TCP 10.0.0.1:40112 <> 10.0.0.2:5201 812 pkts": a live block's flow line.
std::string live_flow_line(const FlowStat& f, uint64_t packets);

}  // namespace tunlat
