// SPDX-License-Identifier: MIT
// What the findings' sentences are made of, shared by the files that write them
// (findings.cpp, stall_findings.cpp): units, stage and process names, a finding's place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/analyse/analysis.h"
#include "core/analyse/span.h"
#include "core/diagnose/findings.h"
#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

// A wait this long (p50) in one stage is worth a warning: a VPN adds well under 1 ms when
// it keeps up.
constexpr uint64_t kSlowWaitNs = 1'000'000;
// A stall this long is critical: TCP's RTO fires, the transfer visibly stops.
constexpr uint64_t kCriticalStallNs = 1'000'000'000;

std::string dur(uint64_t ns);  // "1.23 ms"
const char* dir_upper(Dir d);  // "TX" | "RX"
const char* role(Dir d);       // "reader" | "writer"
// A stage as a sentence names it: "the tun ring", "WireGuard's queues (...)", "the qdisc".
std::string stage_phrase(Span stage, DeviceKind k);
// Is the stage a ring a process reads (tun, tap), whose stalls are the reader's?
bool read_by_process(Span stage, DeviceKind k);
// The processes holding the device: "openvpn (pid 4252)", or "" if none was found.
std::string holders(const TraceInfo& info);
// The process that moved most of the packets: "openvpn (pid 4252)".
std::string busiest(const std::map<uint32_t, ProcStat>& procs);
std::string busiest(const DirStats& s);
// Where a finding is: its direction, the span (JSON "stage") and the process.
Json where(Dir d, std::optional<Span> span, const std::string& process, DeviceKind k);
// The key of a flow the analysis defined, or nullptr.
const FlowKey* flow_key(const Analysis& a, uint32_t flow);

// Stuck and idle stalls, each a finding (stall_findings.cpp).
void stall_findings(const TraceInfo& info, const Analysis& a, std::vector<Finding>& out);

}  // namespace tunlat
