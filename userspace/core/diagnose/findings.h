// SPDX-License-Identifier: MIT
// Findings: what a person should know about the trace, ranked, each with its evidence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/vpn.h"
#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

enum class Severity : uint8_t { Info = 0, Warning = 1, Critical = 2 };
std::string_view severity_name(Severity s);  // "info" | "warning" | "critical"

// What a finding is about, in the order findings of one severity are ranked: a stall
// before drops before pacing before where the time goes.
enum class FindingKind : uint8_t {
  Stall,
  Drops,
  StoppedReader,
  CpuContention,
  TimerPaced,
  VpnCpu,
  NagleDelayedAck,
  Pacing,
  Timeouts,
  Wait,
  SoftirqCpu,
  Offload,
  OrdinaryDrops,
};
inline constexpr int kFindingKinds = static_cast<int>(FindingKind::OrdinaryDrops) + 1;
std::string_view finding_kind_name(FindingKind k);  // its JSON "kind": "stall", "nagle_delayed_ack" ...

struct Finding {
  FindingKind kind = FindingKind::Wait;
  Severity severity = Severity::Info;
  std::string verdict;  // one sentence (the JSON's "summary" and "verdicts")
  Json evidence;        // the numbers behind it
  Json where;           // direction, stage, process
  std::string remedy;   // what to try; may be empty
  double weight = 0;    // rank among findings of one kind and severity
};

// Every finding about the analysis, most important first: by severity, then kind (in
// FindingKind's order), then weight. A healthy transfer gets only Info findings.
// With vpn, the findings about the VPN process too (core/diagnose/vpn_findings.cpp).
std::vector<Finding> diagnose(const TraceInfo& info, const Analysis& a, const VpnAnalysis* vpn = nullptr);
void vpn_findings(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v, std::vector<Finding>& out);
// TCP flows whose small segments wait for ACKs the receiver delays (core/diagnose/nagle_findings.cpp).
void nagle_findings(const Analysis& a, std::vector<Finding>& out);

// The findings as the summary's "findings" array (docs/json-schema.md), in their order:
// what summarize() takes, so that the report never runs the diagnosis itself.
Json findings_json(const std::vector<Finding>& findings);

}  // namespace tunlat
