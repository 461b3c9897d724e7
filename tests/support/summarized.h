// SPDX-License-Identifier: MIT
// The JSON summary as the CLI makes it (cli/final_report.cpp): diagnosis first, then the summary.
#pragma once

#include "core/diagnose/findings.h"
#include "core/pipeline.h"
#include "core/report/summary.h"

namespace tunlat {

inline Json summarized(const TraceInfo& info, const Pipeline& p) {
  return summarize(info, p, findings_json(diagnose(info, p.analysis(), &p.vpn())));
}

}  // namespace tunlat
