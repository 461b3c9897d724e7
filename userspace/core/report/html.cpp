// SPDX-License-Identifier: MIT
// The HTML report: one self-contained offline page, rendered from the summary and Visuals.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/format/format.h"
#include "core/report/html_charts.h"
#include "core/report/summary.h"
#include "core/report/tunnel_report.h"
#include "core/report/visual.h"

namespace tunlat {

namespace {

// Columns a chart over time is drawn with: a long trace's bins are merged down to this,
// so the page stays small and quick whatever the trace's length (the page says so).
constexpr size_t kMaxColumns = 400;

std::string h(const std::string& s) { return escape_markup(s); }
std::string str(const Json& j) {
  return j.is_string() ? j.get<std::string>() : j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

constexpr const char* kStyle = R"CSS(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #f6f6f4; }
main { max-width: 1240px; margin: 0 auto; padding: 8px 20px 40px; }
h1 { font-size: 22px; margin: 18px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; margin: 18px 0 6px; } .meta, .note { color: #555; } .note { font-size: 13px; }
nav a { margin-right: 14px; } section { background: #fff; padding: 4px 16px 12px; margin-top: 14px; border-radius: 6px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; } th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
#findings li { margin: 4px 0; font-size: 15px; } svg.chart { width: 100%; height: auto; display: block; margin: 6px 0; }
svg.bars { width: 370px; height: auto; display: inline-block; margin: 4px 10px 4px 0; }
#flame svg { width: 100%; height: auto; } .ct { font-size: 13px; font-weight: 600; fill: #222; }
.tick { font-size: 11px; fill: #555; } .ax { stroke: #888; } .grid { stroke: #ddd; }
.series { fill: none; stroke-width: 1.5; } .stall { fill: #f5a623; opacity: 0.28; } .drop { fill: #d00; }
input[type=search] { font: inherit; padding: 2px 6px; width: 260px; }
)CSS";

// A number a summary's object holds, or 0 (a hand-made summary may hold anything).
double num(const Json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].get<double>() : 0.0;
}
std::string text_of(const Json& o, const char* key) {
  return o.is_object() && o.contains(key) && !o[key].is_null() ? str(o[key]) : "";
}

// "what ended it": a packet's line, else its cause.
std::string ended_by(const Json& s) {
  const Json e = s.is_object() && s.contains("ended_by") ? s["ended_by"] : Json();
  if (!e.is_object()) return s.is_object() && s.value("ongoing", false) ? "the trace's end" : "";
  for (const char* k : {"packet", "summary", "cause"})
    if (e.contains(k) && e[k].is_string())
      return str(e[k]) + (std::string(k) == "packet" ? " (" + text_of(e, "cause") + ")" : "");
  return "";
}

void stall_rows(std::ostream& out, const Json& s) {
  const std::string what = (text_of(s, "direction") + " " + text_of(s, "kind") + " " + text_of(s, "stage") +
                            " " + text_of(s, "flow"));
  fmt::print(out, "<tr><td>{}</td><td>{:.3f} s</td><td>{}</td><td>{}</td></tr>\n", h(what), num(s, "start_s"),
             h(format_duration_us(num(s, "duration_ms") * 1e3)), h(ended_by(s)));
  if (s.is_object() && s.contains("phases") && s["phases"].is_array())
    for (const Json& ph : s["phases"]) {
      const std::string detail =
          text_of(ph, "kind") +
          fmt::format(": {} packets from the peer, {} duplicate ACKs, the hole sent again {}x",
                      num(ph, "peer_packets"), num(ph, "dup_acks"), num(ph, "hole_resent"));
      fmt::print(out, "<tr><td>&nbsp;&nbsp;&#8627; {}</td><td>{:.3f} s</td><td>{}</td><td>{}</td></tr>\n",
                 h(detail), num(ph, "start_s"), h(format_duration_us(num(ph, "duration_ms") * 1e3)),
                 h(ended_by(ph)));
    }
  const Json t = s.is_object() && s.contains("timer") ? s["timer"] : Json();
  if (t.is_object() && t.contains("hole_resent_s"))
    fmt::print(out,
               "<tr><td>&nbsp;&nbsp;&#8627; retransmission timer: the hole sent again at {} "
               "s</td><td></td><td>backed off to {}</td><td></td></tr>\n",
               h(str(t["hole_resent_s"])), h(format_duration_us(num(t, "backoff_ms") * 1e3)));
}

void findings(std::ostream& out, const Json& doc, const std::string& sfx) {
  out << "<section id=\"findings" << sfx << "\"><h2>Findings</h2>\n<ul>\n";
  for (const Json& v : doc["verdicts"]) out << "<li>" << h(str(v)) << "</li>\n";
  if (doc["verdicts"].empty()) out << "<li>Nothing stands out: no span or drop calls for attention.</li>\n";
  uint64_t drops = 0;
  for (const Json& d : doc["drops"]) drops += d["count"].get<uint64_t>();
  fmt::print(out, "<li>{} stall{} detected; {} packet{} dropped on the device.</li>\n</ul>\n",
             doc["stalls"].size(), doc["stalls"].size() == 1 ? "" : "s", drops, drops == 1 ? "" : "s");
  if (!doc["stalls"].empty()) {
    // Each stall, then its phases (an idle stall's: what the peer did meanwhile).
    out << "<table><tr><th>stall</th><th>at</th><th>for</th><th>ended by</th></tr>\n";
    for (const Json& s : doc["stalls"]) stall_rows(out, s);
    out << "</table>\n";
  }
  out << "</section>\n";
}

void direction_section(std::ostream& out, const Json& doc, Dir dir) {
  const std::string key(dir_name(dir));
  const Json& d = doc["directions"][key];
  const bool tx = dir == Dir::Tx;
  const std::string dev = str(doc["device"]["name"]);
  fmt::print(out, "<h3>{}</h3>\n<p>{} packets, {}, {}, {:.2f} Mbit/s</p>\n",
             h((tx ? "TX: " : "RX: ") + path_label(dir, parse_device_kind(str(doc["device"]["kind"])), dev)),
             d["packets"].get<uint64_t>(), format_bytes(d["bytes"].get<double>()),
             format_rate(d["pps"].get<double>()), d["mbit_s"].get<double>());
  if (!d["packets"].get<uint64_t>()) return;
  out << "<table><tr><th>span</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>mean</"
         "th></tr>\n";
  for (auto& [name, s] : d["spans"].items())
    fmt::print(
        out, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        h(name), s["count"].get<uint64_t>(), format_duration_us(s["p50_us"]), format_duration_us(s["p90_us"]),
        format_duration_us(s["p99_us"]), format_duration_us(s["max_us"]), format_duration_us(s["mean_us"]));
  out << "</table>\n<table><tr><th>pacing at</th><th>packets</th><th>gap p50</th><th>gap p90</th><th>gap "
         "p99</th>"
         "<th>gap max</th><th>cpus</th></tr>\n";
  for (auto& [name, g] : d["points"].items()) {
    if (!g["count"].get<uint64_t>()) continue;
    std::string cpus;
    for (auto& [cpu, n] : g["cpus"].items())
      cpus += fmt::format("{}{}:{}", cpus.empty() ? "" : " ", cpu, n.get<uint64_t>());
    fmt::print(out,
               "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
               h(name), g["count"].get<uint64_t>(), format_duration_us(g["gap_p50_us"]),
               format_duration_us(g["gap_p90_us"]), format_duration_us(g["gap_p99_us"]),
               format_duration_us(g["gap_max_us"]), h(cpus));
  }
  out << "</table>\n<p>";
  if (d["dominant_span"].is_string())
    out << "Most packet-time: <b>" << h(str(d["dominant_span"])) << "</b>. ";
  if (d["pacing_origin"].is_string()) out << "Pacing origin: <b>" << h(str(d["pacing_origin"])) << "</b>. ";
  for (const Json& p : d["processes"])
    fmt::print(out, "{} <b>{}</b> (pid {}): {} packets. ", h(str(p["role"])), h(str(p["comm"])),
               p["pid"].get<uint32_t>(), p["packets"].get<uint64_t>());
  out << "</p>\n";
  std::string drops;
  for (const Json& dr : doc["drops"])
    if (dr["direction"] == key)
      drops += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{} (pid {})</td></tr>\n",
                           h(str(dr["reason"])), dr["count"].get<uint64_t>(), h(str(dr["location"])),
                           h(str(dr["comm"])), dr["pid"].get<uint32_t>());
  if (!drops.empty())
    out << "<table><tr><th>drop reason</th><th>count</th><th>where</th><th>by</th></tr>\n"
        << drops << "</table>\n";
  std::string notes;
  for (auto& [k, v] : d["anomalies"].items())
    if (v.get<uint64_t>()) notes += fmt::format("{}{} {}", notes.empty() ? "" : ", ", k, v.get<uint64_t>());
  if (!notes.empty()) out << "<p class=\"note\">notes: " << h(notes) << "</p>\n";
}

void directions_section(std::ostream& out, const Json& doc, const std::string& sfx) {
  out << "<section id=\"summary" << sfx << "\"><h2>Summary</h2>\n";
  direction_section(out, doc, Dir::Tx);
  direction_section(out, doc, Dir::Rx);
  out << "</section>\n";
}

void flame(std::ostream& out, const VisualInput& in, const std::string& sfx) {
  out << "<section id=\"flame" << sfx
      << "\"><h2>Where packet-time goes</h2>\n<p class=\"note\">A flame graph of "
         "packet-time: "
         "each frame is as wide as the time packets spent under it (the stages, which do not overlap, summed "
         "over "
         "packets). Hover for numbers, click to zoom. <label>Search <input type=\"search\" "
         "id=\"flame-search"
      << sfx << "\" data-flame=\"tunlat-flame" << sfx
      << "\" placeholder=\"regular expression\"></label></p>\n";
  write_flame_svg(out, flame_leaves(in.visuals.flame(), in.info.dev_name, in.info.kind, in.flame_by),
                  in.info.kind, "where packet-time goes on " + in.info.dev_name, false, "tunlat-flame" + sfx);
  out << "</section>\n";
}

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b07aa1", "#9c755f"};

void timeline(std::ostream& out, const VisualInput& in, const std::string& sfx) {
  out << "<section id=\"timeline" << sfx << "\"><h2>Over time</h2>\n";
  const Timeline& t = in.visuals.timeline();
  if (t.empty()) {
    out << "<p class=\"note\">No packets: nothing to draw.</p></section>\n";
    return;
  }
  const size_t n = t.bins().size(), group = (n + kMaxColumns - 1) / kMaxColumns;
  charts::TimeAxis axis;
  axis.cols = (n + group - 1) / group;
  axis.col_s = static_cast<double>(group * t.bin_ns()) / 1e9;
  axis.t0 = (static_cast<double>(t.start_ns()) - static_cast<double>(in.info.start_ns)) / 1e9;
  axis.t1 = axis.t0 + axis.cols * axis.col_s;
  fmt::print(
      out,
      "<p class=\"note\">Aggregated for display: {} columns of {} each (tunlat keeps at most {} time bins, "
      "widening them as a trace grows; here {} bins of {}). Shaded: stalls; red marks: drops.</p>\n",
      axis.cols, format_duration_us(axis.col_s * 1e6), Timeline::kMaxBins, n,
      format_duration_us(t.bin_ns() / 1e3));
  charts::Marks base;
  for (const Json& s : in.summary["stalls"])
    if (s.is_object() && s.contains("start_s") && s["start_s"].is_number() && s.contains("duration_ms") &&
        s["duration_ms"].is_number())
      base.stalls.push_back(
          {s["start_s"].get<double>(), s["duration_ms"].get<double>() / 1e3, "stall " + str(s)});
  auto column = [&](size_t b) { return b / group; };
  for (Dir d : kDirs) {
    const int di = static_cast<int>(d);
    if (!in.analysis.total(d).packets) continue;
    const std::string dn = d == Dir::Tx ? "TX" : "RX";
    charts::Marks marks = base;
    marks.drops.assign(axis.cols, 0);
    for (size_t b = 0; b < n; b++) marks.drops[column(b)] += t.bins()[b].drops[di];
    std::vector<charts::Series> pps, waiting;
    int colour = 0;
    for (int p : points_of(d)) {
      if (!in.analysis.total(d).passed[p]) continue;
      charts::Series s{std::string(point_name(p)), kPalette[colour++ % 7], std::vector<double>(axis.cols, 0)};
      for (size_t b = 0; b < n; b++) s.values[column(b)] += t.bins()[b].passed[di][p] / axis.col_s;
      pps.push_back(std::move(s));
    }
    out << charts::lines(dn + ": packets per second at each point", "pps", pps, axis, marks);
    const auto spans = spans_of(d, in.info.kind);
    for (size_t s = 0; s + 1 < spans.size(); s++) {
      charts::Series w{std::string(spans[s].name), kPalette[s % 7], std::vector<double>(axis.cols, 0)};
      for (size_t b = 0; b < n; b++)
        w.values[column(b)] += t.bins()[b].waiting_ns[di][s] / (axis.col_s * 1e9);
      waiting.push_back(std::move(w));
    }
    out << charts::lines(
        dn + (d == Dir::Tx
                  ? ": packets waiting in each stage (mean per column; ring = the tun ring's occupancy)"
                  : ": packets waiting in each stage (mean per column)"),
        "pkts", waiting, axis, marks);
    for (size_t s = 0; s < spans.size(); s++) {
      int lo = kHeatRows, hi = -1;
      std::vector<std::vector<uint32_t>> counts(axis.cols, std::vector<uint32_t>(kHeatRows, 0));
      for (size_t b = 0; b < n; b++)
        for (int r = 0; r < kHeatRows; r++)
          if (uint32_t c = t.bins()[b].latency[di][s][r]) {
            counts[column(b)][r] += c;
            lo = std::min(lo, r), hi = std::max(hi, r);
          }
      if (hi < 0) continue;
      for (auto& col : counts) col = std::vector<uint32_t>(col.begin() + lo, col.begin() + hi + 1);
      out << charts::heatmap(
          fmt::format("{} {}: latency over time (y: latency, power-of-two rows)", dn, spans[s].name), counts,
          lo, axis, marks);
    }
  }
  out << "</section>\n";
}

void gaps(std::ostream& out, const VisualInput& in, const std::string& sfx) {
  out << "<section id=\"gaps" << sfx
      << "\"><h2>Pacing: gaps between consecutive packets at each point</h2>\n";
  for (Dir d : kDirs) {
    const DirStats& s = in.analysis.total(d);
    if (!s.packets) continue;
    int colour = 0;
    for (int p : points_of(d)) {
      if (!s.gaps[p].count()) continue;
      const Json hj = histogram_json(s.gaps[p], true);
      out << charts::bars(fmt::format("{} {}: {} gaps, p50 {}", d == Dir::Tx ? "TX" : "RX", point_name(p),
                                      s.gaps[p].count(), format_duration_us(s.gaps[p].quantile(0.5) / 1e3)),
                          hj["buckets"].get<std::vector<std::vector<double>>>(), kPalette[colour++ % 7]);
    }
  }
  out << "</section>\n";
}

void flows(std::ostream& out, const Json& doc, const std::string& sfx) {
  out << "<section id=\"flows" << sfx << "\"><h2>Flows</h2>\n";
  const Json& flows = doc["tcp"]["flows"];
  if (!flows.is_array() || flows.empty()) {
    out << "<p class=\"note\">No flow data in this trace (the flow analysis fills "
           "<code>tcp.flows</code>).</p></section>\n";
    return;
  }
  // Whatever fields the flow objects carry, in the order first seen.
  std::vector<std::string> cols;
  std::set<std::string> seen;
  for (const Json& f : flows)
    if (f.is_object())
      for (auto& [k, v] : f.items())
        if (seen.insert(k).second) cols.push_back(k);
  out << "<table><tr>";
  for (const std::string& c : cols) out << "<th>" << h(c) << "</th>";
  out << "</tr>\n";
  for (const Json& f : flows) {
    out << "<tr>";
    for (const std::string& c : cols)
      out << "<td>" << (f.is_object() && f.contains(c) ? h(str(f[c])) : "") << "</td>";
    out << "</tr>\n";
  }
  out << "</table></section>\n";
}

// The page's head, up to its <main>.
void page_head(std::ostream& out, const std::string& title) {
  fmt::print(out,
             "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<title>tunlat report: {}</title>\n<style>{}</style></head>\n<body><main>\n",
             h(title), kStyle);
}

// One device's report: its heading (h1 on a page of its own, h2 among others), what it
// was, its sections. sfx makes its ids unique on a page of several devices.
void device_body(std::ostream& out, const VisualInput& in, const std::string& label, const std::string& sfx) {
  const Json& doc = in.summary;
  const Json& dev = doc["device"];
  std::string owners;
  for (const Json& o : doc["owners"])
    owners +=
        fmt::format("{}{} (pid {})", owners.empty() ? "" : ", ", str(o["comm"]), o["pid"].get<uint32_t>());
  fmt::print(out, "<h1 id=\"device{}\">tunlat: {} ({}, ifindex {}, netns {})</h1>\n", sfx,
             h(label.empty() ? str(dev["name"]) : label), h(str(dev["kind"])), dev["ifindex"].get<uint32_t>(),
             h(dev["netns"].is_string() ? str(dev["netns"]) : "own"));
  fmt::print(
      out, "<p class=\"meta\">started {}, {:.2f} s, {} events, {} lost, kernel {}; device held by {}{}</p>\n",
      h(str(doc["started_at"])), doc["duration_s"].get<double>(), doc["events"]["seen"].get<uint64_t>(),
      doc["events"]["lost"].get<uint64_t>(), h(str(doc["kernel"])),
      h(owners.empty() ? "no process found" : owners),
      doc["sample"].get<uint32_t>() > 1
          ? h(fmt::format("; sampled 1 packet in {}", doc["sample"].get<uint32_t>()))
          : "");
  fmt::print(out,
             "<nav><a href=\"#findings{0}\">findings</a><a href=\"#summary{0}\">summary</a><a "
             "href=\"#flame{0}\">flame graph</a><a href=\"#timeline{0}\">over time</a><a "
             "href=\"#gaps{0}\">pacing</a><a href=\"#flows{0}\">flows</a></nav>\n",
             sfx);
  findings(out, doc, sfx);
  directions_section(out, doc, sfx);
  flame(out, in, sfx);
  timeline(out, in, sfx);
  gaps(out, in, sfx);
  flows(out, doc, sfx);
}

void page_tail(std::ostream& out, const Json& doc) {
  fmt::print(
      out,
      "<p class=\"note\">Written by tunlat {}. Self-contained: this page loads nothing from the network."
      "</p>\n</main>\n",
      h(str(doc["tunlat_version"])));
  // Each search box drives its flame graph's own search (the graph's script registers it).
  out << "<script>\n(function () {\n  document.querySelectorAll('input[data-flame]').forEach(function (box) "
         "{\n"
         "    box.addEventListener('input', function () {\n"
         "      var f = (window.tunlatFlames || {})[box.getAttribute('data-flame')];\n"
         "      if (f) f.search(box.value);\n    });\n  });\n})();\n</script>\n</body></html>\n";
}

// The tunnel's section: each path's segments, its findings.
void tunnel_section(std::ostream& out, const Json& t) {
  out << "<section id=\"tunnel\"><h2>The tunnel</h2>\n";
  if (!t["one_clock"].get<bool>())
    fmt::print(out, "<p class=\"meta\">Two recordings: the second clock {}.</p>\n",
               t["clock_offset_us"].is_null()
                   ? std::string("unknown (no packets matched both ways)")
                   : h(fmt::format("{:+.1f} us from the first's, +/- {:.1f} us",
                                   t["clock_offset_us"].get<double>(), t["clock_error_us"].get<double>())));
  for (const Json& p : t["paths"]) {
    const std::string from = str(p["from"]), to = str(p["to"]);
    fmt::print(
        out, "<h3>{} &rarr; {}</h3>\n<p>{} packets left {}, {} found at {}, {} timed in every segment</p>\n",
        h(from), h(to), p["packets"].get<uint64_t>(), h(from), p["matched"].get<uint64_t>(), h(to),
        p["timed"].get<uint64_t>());
    if (!p["timed"].get<uint64_t>()) continue;
    out << "<table><tr><th>segment</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>mean</th></tr>\n";
    auto row = [&](const std::string& name, const Json& s) {
      fmt::print(out, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                 h(name), format_duration_us(s["p50"].get<double>()),
                 format_duration_us(s["p90"].get<double>()), format_duration_us(s["p99"].get<double>()),
                 format_duration_us(s["max"].get<double>()), format_duration_us(s["mean"].get<double>()));
    };
    for (size_t i = 0; i < kSegments; i++)
      row(segment_place(static_cast<Segment>(i), from, to), p["segments"][i]);
    row("transit", p["transit"]);
    out << "</table>\n";
  }
  out << "<ul>\n";
  for (const Json& f : t["findings"]) out << "<li>" << h(str(f["summary"])) << "</li>\n";
  if (t["findings"].empty()) out << "<li>No packet stood as long as a stall in any segment.</li>\n";
  out << "</ul></section>\n";
}

}  // namespace

void write_html(std::ostream& out, const VisualInput& in) {
  page_head(out, str(in.summary["device"]["name"]));
  device_body(out, in, "", "");
  page_tail(out, in.summary);
}

void write_tunnel_html(std::ostream& out, const std::vector<VisualInput>& ins,
                       const std::vector<std::string>& labels, const Json& tunnel) {
  std::string title;
  for (const std::string& l : labels) title += (title.empty() ? "" : " <-> ") + l;
  page_head(out, title);
  fmt::print(out, "<h1>tunlat: {}</h1>\n<nav>", h(title));
  for (size_t i = 0; i < labels.size(); i++)
    fmt::print(out, "<a href=\"#device-{}\">{}</a>", i + 1, h(labels[i]));
  out << "</nav>\n";
  if (tunnel.is_object()) tunnel_section(out, tunnel);
  for (size_t i = 0; i < ins.size(); i++) device_body(out, ins[i], labels[i], fmt::format("-{}", i + 1));
  page_tail(out, ins.front().summary);
}

}  // namespace tunlat
