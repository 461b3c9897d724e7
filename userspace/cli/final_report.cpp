// SPDX-License-Identifier: MIT
// The end shared by `trace` and `report`: the final text report, the JSON, the visual files.
#include "cli/final_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>

#include "core/diagnose/findings.h"
#include "core/format/format.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "core/report/tunnel_report.h"
#include "core/report/visual.h"
#include "fatal.h"

namespace tunlat {

namespace {

void write_file(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::ofstream out(path);
  if (out) write(out);
  out.flush();
  if (!out) throw Fatal(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

void write_json(const std::string& path, const Json& doc) {
  // comm is cut at 15 bytes by the kernel and may split a UTF-8 character.
  write_file(path, [&](std::ostream& out) {
    out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  });
}

FlameBy flame_by(const VisualArgs& v) {
  try {
    return parse_flame_by(v.flame_by, v.flame_by != kDefaultFlameBy);
  } catch (const std::invalid_argument& e) {
    throw Fatal(e.what(), kExitUsage);
  }
}

void write_visuals(const TraceInfo& info, const Pipeline& pipeline, const Json& doc, const VisualArgs& v,
                   Visuals& visuals) {
  visuals.finish();
  const FlameBy by = flame_by(v);
  for (const std::string& note : by.notes) fmt::print(stderr, "tunlat: {}\n", note);
  const VisualInput in{doc, info, pipeline.analysis(), visuals, by.keys};
  const std::vector<FlameLeaf> leaves = flame_leaves(visuals.flame(), info.dev_name, info.kind, by.keys);
  if (!v.folded_path.empty())
    write_file(v.folded_path, [&](std::ostream& out) { write_folded(out, leaves); });
  if (!v.svg_path.empty())
    write_file(v.svg_path, [&](std::ostream& out) {
      write_flame_svg(out, leaves, info.kind, "tunlat: where packet-time goes on " + info.dev_name, true);
    });
  if (!v.html_path.empty()) write_file(v.html_path, [&](std::ostream& out) { write_html(out, in); });
  if (!v.perfetto_path.empty()) {
    size_t left_out = 0;
    write_file(v.perfetto_path, [&](std::ostream& out) { left_out = write_perfetto(out, in); });
    if (left_out)
      fmt::print(stderr,
                 "tunlat: {}: per-packet slices for the first {} packets only ({} more left out; "
                 "--perfetto-packets raises the limit); counters cover the whole trace\n",
                 v.perfetto_path, visuals.packet_limit(), left_out);
  }
}

}  // namespace

void check_visuals(const VisualArgs& v) { flame_by(v); }

std::unique_ptr<Visuals> prepare_visuals(const VisualArgs& v, Pipeline& pipeline) {
  flame_by(v);  // a usage error before tracing starts, not after
  if (!v.any()) return nullptr;
  VisualOptions o;
  o.packet_limit = v.perfetto_path.empty() ? 0 : v.perfetto_packets;
  auto visuals = std::make_unique<Visuals>(o);
  pipeline.analysis().set_observer(visuals.get());
  return visuals;
}

namespace {

// The diagnosis runs here, not in the summary: report/ only writes down what it found.
Json device_summary(const TraceInfo& info, const Pipeline& pipeline) {
  const std::vector<Finding> findings = diagnose(info, pipeline.analysis(), &pipeline.vpn());
  return summarize(info, pipeline, findings_json(findings));
}

}  // namespace

void finish_reports(const std::vector<EndReport>& ends, bool one_clock, uint64_t stall_ns,
                    const std::string& json_path, const VisualArgs& v) {
  std::vector<Json> docs;
  Json devices = Json::array();
  for (const EndReport& e : ends) {
    docs.push_back(device_summary(*e.info, *e.pipeline));
    fmt::print(std::cout, "\n=== {} ===\n", term_safe(e.label));
    render_report(std::cout, docs.back());
    Json labelled{{"label", e.label}};
    for (auto& [k, val] : docs.back().items()) labelled[k] = val;
    devices.push_back(std::move(labelled));
  }
  Json tunnel = nullptr;
  if (ends.size() == 2 && ends[0].tunnel && ends[1].tunnel) {
    std::array<TunnelSide, 2> sides;
    for (size_t i = 0; i < 2; i++) {
      ends[i].tunnel->finish(ends[i].pipeline->vpn());
      sides[i] =
          TunnelSide{ends[i].label, ends[i].tunnel, &ends[i].pipeline->vpn(), ends[i].info->clock_offset_ns};
    }
    tunnel = tunnel_json(match_tunnel(sides[0], sides[1], one_clock, stall_ns), stall_ns);
    render_tunnel(std::cout, tunnel);
  }
  std::cout.flush();
  if (!json_path.empty()) write_json(json_path, Json{{"devices", std::move(devices)}, {"tunnel", tunnel}});
  if (v.html_path.empty() && v.perfetto_path.empty()) return;
  const FlameBy by = flame_by(v);
  std::vector<VisualInput> ins;
  std::vector<std::string> labels;
  for (size_t i = 0; i < ends.size(); i++) {
    ends[i].visuals->finish();
    ins.push_back(
        VisualInput{docs[i], *ends[i].info, ends[i].pipeline->analysis(), *ends[i].visuals, by.keys});
    labels.push_back(ends[i].label);
  }
  if (!v.html_path.empty())
    write_file(v.html_path, [&](std::ostream& out) { write_tunnel_html(out, ins, labels, tunnel); });
  if (!v.perfetto_path.empty())
    write_file(v.perfetto_path, [&](std::ostream& out) { write_perfetto(out, ins, labels); });
}

void finish_report(const TraceInfo& info, const Pipeline& pipeline, const std::string& json_path,
                   const VisualArgs& v, Visuals* visuals) {
  Json doc = device_summary(info, pipeline);
  std::cout << "\n";
  render_report(std::cout, doc);
  std::cout.flush();
  if (!json_path.empty()) write_json(json_path, doc);
  if (visuals) write_visuals(info, pipeline, doc, v, *visuals);
}

}  // namespace tunlat
