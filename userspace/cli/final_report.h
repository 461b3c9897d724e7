// SPDX-License-Identifier: MIT
// The end shared by `trace` and `report`: the final text report and the JSON summary.
#pragma once

#include <string>

#include "core/model/trace_info.h"
#include "core/pipeline.h"

namespace tunlat {

// Once the pipeline is flushed: prints the final report to stdout, writes the JSON to
// json_path unless it is empty.
void finish_report(const TraceInfo& info, const Pipeline& pipeline, const std::string& json_path);

}  // namespace tunlat
