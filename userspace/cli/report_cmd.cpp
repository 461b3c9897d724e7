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

namespace {

// The underlay sockets and the device's spans, from the recording's header, before its events.
void prepare(Pipeline& pipeline, const TraceInfo& info) {
  std::vector<uint64_t> sockets;
  for (const Owner& o : info.owners) sockets.insert(sockets.end(), o.sockets.begin(), o.sockets.end());
  pipeline.set_underlay_sockets(sockets);
  pipeline.analysis().set_device_kind(info.kind);
}

// "accA/tap0": where the recording's device was, as a trace names it.
std::string label_of(const TraceInfo& info) {
  return info.netns_name.empty() ? info.dev_name : info.netns_name + "/" + info.dev_name;
}

// Both ends of a tunnel, each recorded by its own trace (two hosts, or two runs): each
// one's report, then the tunnel's, their clocks' offset estimated from the packets.
int report_tunnel(const ReportArgs& a) {
  if (!a.visual.svg_path.empty() || !a.visual.folded_path.empty() || !a.pcapng.path.empty())
    throw Fatal("--svg, --folded and --pcapng take one recording: --html draws both", kExitUsage);
  const std::vector<Output> outputs{{"--json", a.json_path, "the JSON summary"},
                                    {"--html", a.visual.html_path, "the HTML report"},
                                    {"--perfetto", a.visual.perfetto_path, "the Perfetto trace"}};
  check_distinct_outputs(outputs, a.recording, "the first recording");
  check_distinct_outputs(outputs, a.second, "the second recording");
  PipelineOptions po;
  po.stall_ns = static_cast<uint64_t>(a.stall_ms * 1e6);
  std::array<std::unique_ptr<Pipeline>, 2> pipelines;
  std::array<std::unique_ptr<TunnelEnd>, 2> ends;
  std::array<ReadResult, 2> results;
  std::array<std::unique_ptr<Visuals>, 2> visuals;
  const std::array<const std::string*, 2> files{&a.recording, &a.second};
  for (size_t i = 0; i < 2; i++) {
    pipelines[i] = std::make_unique<Pipeline>(po);
    Pipeline& p = *pipelines[i];
    visuals[i] = prepare_visuals(a.visual, p);
    try {
      results[i] = read_recording_file(
          *files[i], [&](const Event& e) { p.push(e); },
          [&](const TraceInfo& info) {
            prepare(p, info);
            ends[i] = std::make_unique<TunnelEnd>(p.analysis().flows(), info.kind);
            p.set_tunnel_end(ends[i].get());
          });
    } catch (const RecordingError& e) {
      throw Fatal(e.what());
    }
    if (results[i].truncated) fmt::print(stderr, "tunlat: warning: {}\n", term_safe(results[i].warning));
    p.flush(results[i].info.end_ns, results[i].info.start_ns);
  }
  std::array<std::string, 2> labels{label_of(results[0].info), label_of(results[1].info)};
  if (labels[0] == labels[1]) labels = {a.recording, a.second};  // tap0 on two hosts
  std::vector<EndReport> reports;
  for (size_t i = 0; i < 2; i++)
    reports.push_back({labels[i], &results[i].info, pipelines[i].get(), ends[i].get(), visuals[i].get()});
  finish_reports(reports, false, po.stall_ns, a.json_path, a.visual);
  return kExitOk;
}

}  // namespace

int run_report(const ReportArgs& a) {
  if (!a.second.empty()) return report_tunnel(a);
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
        [&](const TraceInfo& info) { prepare(pipeline, info); });
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
