// SPDX-License-Identifier: MIT
// `tunlat report FILE`: the same analysis as a live trace, from a recording, unprivileged.
#include "cli/report_cmd.h"

#include <fmt/format.h>

#include "cli/final_report.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "fatal.h"

namespace tunlat {

int run_report(const ReportArgs& a) {
  Pipeline pipeline;
  std::unique_ptr<Visuals> visuals = prepare_visuals(a.visual, pipeline);
  ReadResult r;
  try {
    r = read_recording_file(a.recording, [&](const Event& e) { pipeline.push(e); });
  } catch (const RecordingError& e) {
    throw Fatal(e.what());
  }
  if (r.truncated) fmt::print(stderr, "tunlat: warning: {}\n", r.warning);
  pipeline.flush();
  finish_report(r.info, pipeline, a.json_path, a.visual, visuals.get());
  return kExitOk;
}

}  // namespace tunlat
