// SPDX-License-Identifier: MIT
// `tunlat report FILE`: the same analysis as a live trace, from a recording, unprivileged.
#include "cli/report_cmd.h"

#include <fmt/format.h>

#include "cli/final_report.h"
#include "cli/outputs.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/format.h"
#include "fatal.h"

namespace tunlat {

int run_report(const ReportArgs& a) {
  if (!a.json_path.empty()) {
    if (same_file(a.json_path, a.recording))
      throw Fatal(fmt::format("--json {} is the recording itself: the JSON would overwrite it", a.json_path),
                  kExitUsage);
    check_writable(a.json_path, "the JSON summary");
  }
  PipelineOptions po;
  po.stall_ns = static_cast<uint64_t>(a.stall_ms * 1e6);
  Pipeline pipeline(po);
  ReadResult r;
  try {
    r = read_recording_file(a.recording, [&](const Event& e) { pipeline.push(e); });
  } catch (const RecordingError& e) {
    throw Fatal(e.what());
  }
  if (r.truncated) fmt::print(stderr, "tunlat: warning: {}\n", term_safe(r.warning));
  pipeline.flush(r.info.end_ns, r.info.start_ns);
  finish_report(r.info, pipeline, a.json_path);
  return kExitOk;
}

}  // namespace tunlat
