// SPDX-License-Identifier: MIT
// Builds the public "tunlat/v1" JSON summary (docs/json-schema.md) from a finished pipeline.
#pragma once

#include "core/model/json.h"
#include "core/model/trace_info.h"
#include "core/pipeline.h"

namespace tunlat {

// Pure function of its inputs: a live trace and its recording give the same document.
// findings: the "findings" array, the diagnosis's (findings_json(diagnose(...)),
// core/diagnose/findings.h), which the caller runs: the summary only writes it down.
Json summarize(const TraceInfo& info, const Pipeline& p, const Json& findings);

// Latency histogram object H (with extra power-of-two "buckets" for rendering).
Json histogram_json(const Histogram& h, bool with_buckets);

}  // namespace tunlat
