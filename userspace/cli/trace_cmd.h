// `tunlat trace`: attach to a live device, show live blocks, end with the final report.
#pragma once

#include <string>

#include "core/pipeline.h"
#include "core/model/trace_info.h"

namespace tunlat {

struct TraceArgs {
  std::string dev;
  std::string netns;
  double duration_s = 0;  // 0 = until Ctrl-C / SIGTERM
  double interval_s = 1;
  std::string json_path;
  std::string record_path;  // every event, for `tunlat report`
  uint32_t sample = 1;  // follow 1 packet in N
  bool verbose = false;
  bool quiet = false;  // no live blocks
};

int run_trace(const TraceArgs& a);

struct ReportArgs {
  std::string recording;
  std::string json_path;
};

// `tunlat report FILE`: the same analysis as a live trace, from a recording, unprivileged.
int run_report(const ReportArgs& a);

// Shared end of both, once the pipeline is flushed: print the final report, write the JSON.
void finish_report(TraceInfo& info, Pipeline& pipeline, const std::string& json_path);

}  // namespace tunlat
