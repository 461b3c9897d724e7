// SPDX-License-Identifier: MIT
// Findings: what a person should know about the trace, ranked, each with its evidence.
#pragma once

#include <string>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

enum class Severity { Info = 0, Warning = 1, Critical = 2 };
std::string_view severity_name(Severity s);  // "info" | "warning" | "critical"

struct Finding {
  std::string kind;  // "stall" | "drops" | "pacing" | "wait" | "ordinary_drops"
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
std::vector<Finding> diagnose(const TraceInfo& info, const Analysis& a);

}  // namespace tunlat
