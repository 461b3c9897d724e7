// SPDX-License-Identifier: MIT
// Findings: what a person should know about the trace, ranked, each with its evidence.
#pragma once

#include <string>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/vpn.h"
#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

enum class Severity { Info = 0, Warning = 1, Critical = 2 };
std::string_view severity_name(Severity s);  // "info" | "warning" | "critical"

struct Finding {
  std::string kind;  // "stall" | "drops" | "stopped_reader" | "cpu_contention" | "timer_paced" |
                     // "vpn_cpu" | "nagle_delayed_ack" | "pacing" | "wait" | "softirq_cpu" |
                     // "offload" | "ordinary_drops" | "timeouts"
  Severity severity = Severity::Info;
  std::string summary;  // one sentence: the verdict
  Json evidence;        // the numbers behind it
  Json where;           // direction, stage, process
  std::string remedy;   // what to try; may be empty
  double weight = 0;    // rank among findings of one kind and severity
};

// Every finding about the analysis, most important first: by severity, then kind (a stall
// before drops before pacing before where the time goes), then weight. A healthy transfer
// gets only Info findings.
// With vpn, the findings about the VPN process too (core/diagnose/vpn_findings.cpp).
std::vector<Finding> diagnose(const TraceInfo& info, const Analysis& a, const VpnAnalysis* vpn = nullptr);
void vpn_findings(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v, std::vector<Finding>& out);
// TCP flows whose small segments wait for ACKs the receiver delays (core/diagnose/nagle_findings.cpp).
void nagle_findings(const Analysis& a, std::vector<Finding>& out);

}  // namespace tunlat
