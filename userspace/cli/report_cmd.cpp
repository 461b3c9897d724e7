// SPDX-License-Identifier: MIT
// `tunlat report FILE`: the same analysis as a live trace, from a recording, unprivileged.
#include "cli/report_cmd.h"

#include <fmt/format.h>

#include "cli/final_report.h"
#include "cli/outputs.h"
#include "core/format/format.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "fatal.h"

namespace tunlat {

int run_report(const ReportArgs& a) {
  check_distinct_outputs({{"--json", a.json_path, "the JSON summary"},
                          {"--folded", a.visual.folded_path, "the folded stacks"},
                          {"--svg", a.visual.svg_path, "the flame graph"},
                          {"--html", a.visual.html_path, "the HTML report"},
                          {"--perfetto", a.visual.perfetto_path, "the Perfetto trace"},
                          {"--pcapng", a.pcapng.path, "the pcapng file"}},
                         a.recording, "the recording itself");
  PipelineOptions po;
  po.stall_ns = static_cast<uint64_t>(a.stall_ms * 1e6);
  Pipeline pipeline(po);
  std::unique_ptr<Visuals> visuals = prepare_visuals(a.visual, pipeline);
  // The packets' comments name drop locations, which the recording's trailer holds: with
  // --pcapng the file is read twice, first for its trailer.
  ReadResult whole;
  std::unique_ptr<PcapngFile> pcapng;
  if (!a.pcapng.path.empty()) {
    try {
      whole = read_recording_file(a.recording, [](const Event&) {});
    } catch (const RecordingError& e) {
      throw Fatal(e.what());
    }
    pcapng = std::make_unique<PcapngFile>(a.pcapng, pipeline, whole.info, LocationName{});
  }
  ReadResult r;
  try {
    r = read_recording_file(
        a.recording, [&](const Event& e) { pipeline.push(e); },
        [&](const TraceInfo& info) {  // the owners' sockets: their underlay
          std::vector<uint64_t> sockets;
          for (const Owner& o : info.owners)
            sockets.insert(sockets.end(), o.sockets.begin(), o.sockets.end());
          pipeline.set_underlay_sockets(sockets);
          pipeline.analysis().set_device_kind(info.kind);  // its spans, before its events
        });
  } catch (const RecordingError& e) {
    throw Fatal(e.what());
  }
  if (r.truncated) fmt::print(stderr, "tunlat: warning: {}\n", term_safe(r.warning));
  pipeline.flush(r.info.end_ns, r.info.start_ns);
  finish_report(r.info, pipeline, a.json_path, a.visual, visuals.get());
  if (pcapng)
    pcapng->finish(r.version < kFirstVersionWithBytes
                       ? fmt::format("the recording has no packet bytes (format version {}: tunlat "
                                     "records them from version {} on, traced with --pcapng)",
                                     r.version, kFirstVersionWithBytes)
                       : "the recording has no packet bytes (traced without --pcapng)");
  return kExitOk;
}

}  // namespace tunlat
