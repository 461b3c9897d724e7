// SPDX-License-Identifier: MIT
// Renders reports for people: the final report (from the JSON summary) and the live blocks.
#include "core/report/text_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

#include "core/report/format.h"

namespace tunlat {

namespace {

constexpr int kBarWidth = 40;

// Every string of the summary came from the system or a file: shown only made safe.
std::string text(const Json& j) { return term_safe(j.get<std::string>()); }

// The dominant span's distribution as horizontal bars, one row per power of two.
void render_histogram(std::ostream& out, const Json& h) {
  const Json& rows = h["buckets"];
  uint64_t peak = 1;
  for (auto& r : rows) peak = std::max(peak, r[2].get<uint64_t>());
  for (auto& r : rows) {
    uint64_t n = r[2].get<uint64_t>();
    int bar = static_cast<int>(std::lround(static_cast<double>(n) * kBarWidth / peak));
    if (n && !bar) bar = 1;
    fmt::print(out, "    {:>8} .. {:<8} |{:<{}}| {}\n", format_duration_us(r[0].get<double>()),
               format_duration_us(r[1].get<double>()), std::string(bar, '#'), kBarWidth, n);
  }
}

void render_direction(std::ostream& out, const Json& doc, const char* key) {
  const Json& d = doc["directions"][key];
  bool tx = std::string(key) == "tx";
  const std::string dev = text(doc["device"]["name"]);
  fmt::print(out, "\n{} ({}): {} packets, {}, {}, {:.2f} Mbit/s\n",
             tx ? "TX" : "RX",
             tx ? "host -> " + dev + " -> reader" : "writer -> " + dev + " -> host",
             d["packets"].get<uint64_t>(), format_bytes(d["bytes"].get<double>()),
             format_rate(d["pps"].get<double>()), d["mbit_s"].get<double>());
  if (!d["packets"].get<uint64_t>()) return;

  fmt::print(out, "  {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "span", "count", "p50", "p90",
             "p99", "max", "mean");
  for (auto& [name, h] : d["spans"].items())
    fmt::print(out, "  {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", term_safe(name),
               h["count"].get<uint64_t>(), format_duration_us(h["p50_us"]),
               format_duration_us(h["p90_us"]), format_duration_us(h["p99_us"]),
               format_duration_us(h["max_us"]), format_duration_us(h["mean_us"]));
  if (d["dominant_span"].is_string()) {
    std::string dom = d["dominant_span"];
    fmt::print(out, "\n  where the time goes: {} (the span holding most packet-time)\n", term_safe(dom));
    render_histogram(out, d["spans"][dom]);
  }

  fmt::print(out, "\n  pacing   {:>9} {:>9} {:>9} {:>9} {:>9}  cpus\n", "packets", "gap p50",
             "gap p90", "gap p99", "gap max");
  for (auto& [name, g] : d["points"].items()) {
    if (!g["count"].get<uint64_t>()) continue;
    std::string cpus;
    for (auto& [cpu, n] : g["cpus"].items()) cpus += fmt::format("{}{}:{}", cpus.empty() ? "" : " ", term_safe(cpu), n.get<uint64_t>());
    fmt::print(out, "  {:<8} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", term_safe(name),
               g["count"].get<uint64_t>(), format_duration_us(g["gap_p50_us"]),
               format_duration_us(g["gap_p90_us"]), format_duration_us(g["gap_p99_us"]),
               format_duration_us(g["gap_max_us"]), cpus);
  }
  if (d["pacing_origin"].is_string())
    fmt::print(out, "  pacing origin: {}\n", text(d["pacing_origin"]));

  for (auto& p : d["processes"])
    fmt::print(out, "  {} {} (pid {}): {} packets\n", text(p["role"]), text(p["comm"]), p["pid"].get<uint32_t>(), p["packets"].get<uint64_t>());
  bool any_drop = false;
  for (auto& dr : doc["drops"]) {
    if (dr["direction"] != key) continue;
    if (!any_drop) fmt::print(out, "  drops:\n");
    any_drop = true;
    fmt::print(out, "    {:>8}  {:<24} in {} ({} pid {})\n", dr["count"].get<uint64_t>(),
               text(dr["reason"]), text(dr["location"]), text(dr["comm"]), dr["pid"].get<uint32_t>());
  }
  if (!any_drop) fmt::print(out, "  drops: none\n");
  const Json& an = d["anomalies"];
  std::string notes;
  for (auto& [k, v] : an.items())
    if (v.get<uint64_t>()) notes += fmt::format("{}{} {}", notes.empty() ? "" : ", ", term_safe(k), v.get<uint64_t>());
  if (!notes.empty()) fmt::print(out, "  notes: {}\n", notes);
}

}  // namespace

void render_report(std::ostream& out, const Json& doc) {
  const Json& dev = doc["device"];
  std::string ns = dev["netns"].is_string() ? text(dev["netns"]) : "own";
  fmt::print(out, "tunlat {} — {} ({}, ifindex {}, netns {} [{}]), kernel {}\n",
             text(doc["tunlat_version"]), text(dev["name"]), text(dev["kind"]),
             dev["ifindex"].get<uint32_t>(), ns, dev["netns_inode"].get<uint64_t>(), text(doc["kernel"]));
  std::string owners;
  for (auto& o : doc["owners"])
    owners += fmt::format("{}{} (pid {})", owners.empty() ? "" : ", ", text(o["comm"]),
                          o["pid"].get<uint32_t>());
  fmt::print(out, "started {}, {:.2f} s, {} events, {} lost; device held by {}\n",
             text(doc["started_at"]), doc["duration_s"].get<double>(),
             doc["events"]["seen"].get<uint64_t>(), doc["events"]["lost"].get<uint64_t>(),
             owners.empty() ? "no process found" : owners);
  if (dev.value("vanished", false))
    fmt::print(out, "the device vanished during the trace: the capture ends there\n");
  if (doc.contains("sample") && doc["sample"].get<uint32_t>() > 1)
    fmt::print(out, "sampled: 1 packet in {} followed; counts and rates are of those\n",
               doc["sample"].get<uint32_t>());
  render_direction(out, doc, "tx");
  render_direction(out, doc, "rx");
  if (!doc["verdicts"].empty()) {
    fmt::print(out, "\nverdict:\n");
    for (auto& v : doc["verdicts"]) fmt::print(out, "  * {}\n", text(v));
  }
}

void render_live(std::ostream& out, const std::array<DirStats, 2>& delta, double elapsed_s,
                 double interval_s, uint64_t lost_total) {
  fmt::print(out, "-- {:7.1f} s {:-<78}\n", elapsed_s, "");
  for (Dir d : kDirs) {
    const DirStats& s = delta[static_cast<int>(d)];
    double secs = interval_s > 0 ? interval_s : 1;
    fmt::print(out, "{}  {:>11}  {:>8.2f} Mbit/s  drops {:<6} lost {:<8}\n", d == Dir::Tx ? "TX" : "RX",
               format_rate(s.packets / secs), s.bytes * 8 / secs / 1e6, s.dropped, lost_total);
    const auto spans = spans_of(d);
    for (size_t i = 0; i < spans.size(); i++) {
      const Histogram& h = s.spans[i];
      if (!h.count()) continue;
      fmt::print(out, "    {:<8} p50 {:>9}  p99 {:>9}  max {:>9}\n", spans[i].name,
                 format_duration_us(h.quantile(0.5) / 1e3), format_duration_us(h.quantile(0.99) / 1e3),
                 format_duration_us(h.max() / 1e3));
    }
  }
  out.flush();
}

}  // namespace tunlat
