// SPDX-License-Identifier: MIT
// Renders reports for people: the final report (from the JSON summary) and the live blocks.
#include "core/report/text_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

#include "core/diagnose/findings.h"
#include "core/format/format.h"
#include "core/report/flows_report.h"
#include "core/report/vpn_json.h"

namespace tunlat {

namespace {

constexpr int kBarWidth = 40;

// Every string of the summary came from the system or a file: shown only made safe.
std::string text(const Json& j) { return term_safe(j.get<std::string>()); }

// Words of text on lines of at most `width` columns, the first after `lead`, the others
// indented as deep as it.
void print_wrapped(std::ostream& out, const std::string& lead, const std::string& text, size_t width = 96) {
  const std::string indent(lead.size(), ' ');
  std::string line = lead;
  size_t at = 0;
  bool first_word = true;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(at, end - at);
    if (!first_word && line.size() + 1 + word.size() > width) {
      fmt::print(out, "{}\n", line);
      line = indent + word;
    } else {
      line += (first_word ? "" : " ") + word;
    }
    first_word = false;
    at = end + 1;
  }
  fmt::print(out, "{}\n", line);
}

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

// A process's threads under it, when more than one (or one other than the process's own).
void render_threads(std::ostream& out, const Json& p, const char* count_key) {
  const Json& ts = p["threads"];
  if (ts.empty() || (ts.size() == 1 && p.contains("pid") && ts[0]["tid"] == p["pid"])) return;
  std::string line;
  for (auto& t : ts)
    line += fmt::format("{}{} {} ({})", line.empty() ? "" : ", ", t["tid"].get<uint32_t>(), text(t["comm"]),
                        t[count_key].get<uint64_t>());
  print_wrapped(out, "      threads: ", line);
}

// Counts that differ for a reason, said in words: a reader comparing them must not guess.
void explain_counts(std::ostream& out, const Json& d, bool tx) {
  const Json& an = d["anomalies"];
  auto n = [&](const char* k) { return an.contains(k) ? an[k].get<uint64_t>() : 0; };
  auto at = [&](const char* p) {
    return d["points"].contains(p) ? d["points"][p]["count"].get<uint64_t>() : 0;
  };
  if (tx && n("gso_parents") && at("xmit") > at("queue"))
    fmt::print(out,
               "  note: {} GSO skbs queued were split into {} segments before the driver: queue counts "
               "skbs, xmit segments (each segment inherits its parent's queue)\n",
               n("gso_parents"), n("segments"));
  if (tx && n("gso_whole"))
    fmt::print(out,
               "  note: {} GSO skbs reached the driver whole: the reader gets each as one super-packet "
               "(on a tun/tap: offloads on its fd, IFF_VNET_HDR + TUNSETOFFLOAD)\n",
               n("gso_whole"));
  if (n("no_queue"))
    fmt::print(out,
               "  note: {} packets reached xmit without a queue point: segments of an skb not seen "
               "queued (followed before the trace began, or --sample)\n",
               n("no_queue"));
  if (!tx && n("free_untraced"))
    fmt::print(out,
               "  note: {} RX packets end after receive without a traced end: no socket took them on "
               "their own (TCP merges ACKs into the one before them in a busy socket's backlog) and "
               "their free has no tracepoint\n",
               n("free_untraced"));
  if (n("unread"))
    fmt::print(out,
               "  note: {} RX packets were taken by a TCP socket with data but their read was not "
               "seen: merged into the segment queued before them\n",
               n("unread"));
}

void render_direction(std::ostream& out, const Json& doc, Dir dir) {
  const std::string key(dir_name(dir));
  const Json& d = doc["directions"][key];
  const bool tx = dir == Dir::Tx;
  const std::string dev = text(doc["device"]["name"]);
  fmt::print(out, "\n{} ({}): {} packets, {}, {}, {:.2f} Mbit/s\n", tx ? "TX" : "RX",
             path_label(dir, parse_device_kind(text(doc["device"]["kind"])), dev),
             d["packets"].get<uint64_t>(), format_bytes(d["bytes"].get<double>()),
             format_rate(d["pps"].get<double>()), d["mbit_s"].get<double>());
  if (!d["packets"].get<uint64_t>()) return;

  fmt::print(out, "  {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "span", "count", "p50", "p90", "p99",
             "max", "mean");
  for (auto& [name, h] : d["spans"].items())
    if (h["count"].get<uint64_t>())  // a span no packet had (a macvtap's qdisc) is no row
      fmt::print(out, "  {:<8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", term_safe(name),
                 h["count"].get<uint64_t>(), format_duration_us(h["p50_us"]), format_duration_us(h["p90_us"]),
                 format_duration_us(h["p99_us"]), format_duration_us(h["max_us"]),
                 format_duration_us(h["mean_us"]));
  if (d["dominant_span"].is_string()) {
    std::string dom = d["dominant_span"];
    fmt::print(out, "\n  where the time goes: {} (the span holding most packet-time)\n", term_safe(dom));
    render_histogram(out, d["spans"][dom]);
  }

  fmt::print(out, "\n  pacing   {:>9} {:>9} {:>9} {:>9} {:>9}  cpus\n", "packets", "gap p50", "gap p90",
             "gap p99", "gap max");
  for (auto& [name, g] : d["points"].items()) {
    if (!g["count"].get<uint64_t>()) continue;
    std::string cpus;
    for (auto& [cpu, n] : g["cpus"].items())
      cpus += fmt::format("{}{}:{}", cpus.empty() ? "" : " ", term_safe(cpu), n.get<uint64_t>());
    fmt::print(out, "  {:<8} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", term_safe(name),
               g["count"].get<uint64_t>(), format_duration_us(g["gap_p50_us"]),
               format_duration_us(g["gap_p90_us"]), format_duration_us(g["gap_p99_us"]),
               format_duration_us(g["gap_max_us"]), cpus);
  }
  if (d["pacing_origin"].is_string()) fmt::print(out, "  pacing origin: {}\n", text(d["pacing_origin"]));

  for (auto& p : d["processes"]) {
    fmt::print(
        out, "  {} {} (pid {}{}): {} packets\n", text(p["role"]), text(p["comm"]), p["pid"].get<uint32_t>(),
        p.contains("workqueue") ? ", a worker of " + text(p["workqueue"]) : "", p["packets"].get<uint64_t>());
    render_threads(out, p, "packets");
  }
  bool any_drop = false;
  for (auto& dr : doc["drops"]) {
    if (dr["direction"] != key) continue;
    if (!any_drop) fmt::print(out, "  drops:\n");
    any_drop = true;
    fmt::print(out, "    {:>8}  {:<24} in {} ({} pid {})\n", dr["count"].get<uint64_t>(), text(dr["reason"]),
               text(dr["location"]), text(dr["comm"]), dr["pid"].get<uint32_t>());
    render_threads(out, dr, "count");
  }
  if (!any_drop) fmt::print(out, "  drops: none\n");
  const Json& an = d["anomalies"];
  std::string notes;
  for (auto& [k, v] : an.items())
    if (v.get<uint64_t>())
      notes += fmt::format("{}{} {}", notes.empty() ? "" : ", ", term_safe(k), v.get<uint64_t>());
  if (!notes.empty()) fmt::print(out, "  notes: {}\n", notes);
  explain_counts(out, d, tx);
}

// The ranked findings, most important first: what the reader came for.
void render_findings(std::ostream& out, const Json& doc) {
  if (!doc.contains("findings") || doc["findings"].empty()) return;
  fmt::print(out, "\nfindings:\n");
  for (auto& f : doc["findings"]) {
    const std::string sev = text(f["severity"]);
    const char* mark = sev == severity_name(Severity::Critical)  ? "!!"
                       : sev == severity_name(Severity::Warning) ? " !"
                                                                 : "  ";
    print_wrapped(out, fmt::format("{} {:<8} ", mark, sev), text(f["summary"]));
    if (f["remedy"].is_string() && sev != severity_name(Severity::Info))
      print_wrapped(out, std::string(12, ' ') + "try: ", text(f["remedy"]));
  }
}

// Drops of other packets that hurt the tunnel: in the device's netns, on its owners' sockets.
void render_drops_elsewhere(std::ostream& out, const Json& doc) {
  bool any = false;
  for (auto& dr : doc["drops"]) {
    if (!dr["direction"].is_null()) continue;
    if (!any) fmt::print(out, "\ndrops elsewhere on the tunnel's path:\n");
    any = true;
    const std::string who = dr["pid"].get<uint32_t>()
                                ? fmt::format(" ({} pid {})", text(dr["comm"]), dr["pid"].get<uint32_t>())
                                : "";
    fmt::print(out, "  {:>8}  {:<8} {:<24} in {}{}\n", dr["count"].get<uint64_t>(), text(dr["scope"]),
               text(dr["reason"]), text(dr["location"]), who);
  }
}

// An idle stall's phases, one line each, and TCP's retransmission timer meanwhile.
void render_phases(std::ostream& out, const Json& st) {
  if (st.contains("phases") && st["phases"].is_array())
    for (const Json& ph : st["phases"]) {
      const Json& e = ph["ended_by"];
      std::string end = "; the trace ended";
      if (e.is_object() && e["cause"] == phase_end_name(PhaseEnd::Silence))
        end = "; then nothing came";
      else if (e.is_object())
        end = fmt::format(";\n{:16}ended at {:.3f} s by {}{}", "", e["t_s"].get<double>(),
                          e["summary"].is_string() ? text(e["summary"]) : text(e["cause"]),
                          e["cause"] == phase_end_name(PhaseEnd::Peer) ? "" : " (" + text(e["cause"]) + ")");
      const uint64_t n = ph["peer_packets"].get<uint64_t>(), dups = ph["dup_acks"].get<uint64_t>(),
                     resent = ph["hole_resent"].get<uint64_t>();
      const std::string what =
          !n     ? std::string("nothing from the peer")
          : dups ? fmt::format("{} duplicate ACK{} ({} packets)", dups, dups == 1 ? "" : "s", n)
                 : fmt::format("{} packet{} from the peer", n, n == 1 ? "" : "s");
      fmt::print(out, "      {:<9} at {:.3f} s for {}: {}{}{}\n", text(ph["kind"]),
                 ph["start_s"].get<double>(), format_duration_us(ph["duration_ms"].get<double>() * 1e3), what,
                 resent ? fmt::format(", the hole sent again {}x", resent) : std::string(), end);
    }
  const Json& t = st.contains("timer") ? st["timer"] : Json();
  if (!t.is_object()) return;
  std::string at;
  for (size_t i = 0; i < t["hole_resent_s"].size(); i++)
    at += fmt::format("{}{:.3f} s (+{})",
                      !i      ? ""
                      : i % 3 ? ", "
                              : ",\n                ",
                      t["hole_resent_s"][i].get<double>(),
                      format_duration_us(t["intervals_ms"][i].get<double>() * 1e3));
  fmt::print(out, "      timer:    the hole sent again at {};\n{:16}{} since the last: backed off to {}\n",
             at, "", format_duration_us(t["since_last_ms"].get<double>() * 1e3),
             format_duration_us(t["backoff_ms"].get<double>() * 1e3));
}

// Each stall with what ended it and the flight recorder: the packets through the stage
// just before it.
void render_stalls(std::ostream& out, const Json& doc) {
  if (!doc.contains("stalls") || doc["stalls"].empty()) return;
  fmt::print(
      out,
      "\nstalls (>= {} ms of a queue stage releasing nothing, or of a TCP flow's data unacknowledged):\n",
      doc.value("stall_threshold_ms", 0.0));
  for (auto& st : doc["stalls"]) {
    if (st["kind"] == stall_kind_name(StallKind::Idle)) {
      const Json& e = st["ended_by"];
      fmt::print(
          out, "  {} idle at {:.3f} s for {}: {} waited for an ACK ({} retransmissions meanwhile){}\n",
          text(st["direction"]), st["start_s"].get<double>(),
          format_duration_us(st["duration_ms"].get<double>() * 1e3),
          st["flow"].is_string() ? "the data of " + text(st["flow"]) : std::string("a flow's data"),
          st["retransmits"].get<uint64_t>(),
          st.value("ongoing", false) ? "; still waiting when the trace ended"
          : e.is_object() && e.value("cause", idle_end_name(IdleEnd::Ack)) != idle_end_name(IdleEnd::Ack)
              ? fmt::format(" until {}", text(e["summary"]))
              : std::string());
      render_phases(out, st);
      continue;
    }
    fmt::print(out, "  {} {} at {:.3f} s for {}: {} packets queued", text(st["direction"]), text(st["stage"]),
               st["start_s"].get<double>(), format_duration_us(st["duration_ms"].get<double>() * 1e3),
               st["queued"].get<uint64_t>());
    const Json& e = st["ended_by"];
    if (e.is_object() && e.value("cause", "") == stuck_end_name(true)) {
      // What woke it, then the first packet out.
      const Json& r = e["resumed_by"];
      fmt::print(out, "; ended by {} from {} arriving {} before {} (pid {}) {} again\n", text(e["packet"]),
                 e["pid"].get<uint32_t>()
                     ? fmt::format("{} (pid {})", text(e["comm"]), e["pid"].get<uint32_t>())
                     : std::string("an unknown sender"),
                 format_duration_us(e["lead_us"].get<double>()), text(r["comm"]), r["pid"].get<uint32_t>(),
                 r["point"] == point_name(TL_READ) ? "read" : "released one (" + text(r["point"]) + ")");
      fmt::print(out, "      woken by: {}{}\n",
                 e["summary"].is_string() ? text(e["summary"]) : text(e["packet"]),
                 e["new_flow"].get<bool>() ? ", of a flow none of the waiting packets was of"
                                           : fmt::format(", after {} without an arrival",
                                                         format_duration_us(e["quiet_us"].get<double>())));
      const Json& f = st["first_out"];
      fmt::print(out, "      first out: {}{} by {} (pid {}), which waited {}\n",
                 f["summary"].is_string() ? text(f["summary"]) + ", " : std::string(), text(f["point"]),
                 text(f["comm"]), f["pid"].get<uint32_t>(), format_duration_us(f["waited_us"].get<double>()));
    } else if (e.is_object()) {
      fmt::print(out, "; ended by the {} of {} (pid {}, tid {}), which waited {}\n", text(e["point"]),
                 text(e["comm"]), e["pid"].get<uint32_t>(), e["tid"].get<uint32_t>(),
                 format_duration_us(e["waited_us"].get<double>()));
    } else {
      fmt::print(out, "; still stuck at the end\n");
    }
    for (auto& p : st["flight_recorder"])
      fmt::print(out, "      before: {:>9.3f} s  {} by {} (pid {}), {} bytes, waited {}\n",
                 p["t_s"].get<double>(), text(p["point"]), text(p["comm"]), p["pid"].get<uint32_t>(),
                 p["len"].get<uint32_t>(), format_duration_us(p["waited_us"].get<double>()));
  }
}

}  // namespace

void render_report(std::ostream& out, const Json& doc) {
  const Json& dev = doc["device"];
  std::string ns = dev["netns"].is_string() ? text(dev["netns"]) : "own";
  fmt::print(out, "tunlat {} — {} ({}, ifindex {}, netns {} [{}]), kernel {}\n", text(doc["tunlat_version"]),
             text(dev["name"]), text(dev["kind"]), dev["ifindex"].get<uint32_t>(), ns,
             dev["netns_inode"].get<uint64_t>(), text(doc["kernel"]));
  std::string owners;
  for (auto& o : doc["owners"])
    owners +=
        fmt::format("{}{} (pid {})", owners.empty() ? "" : ", ", text(o["comm"]), o["pid"].get<uint32_t>());
  fmt::print(out, "started {}, {:.2f} s, {} events, {} lost; device held by {}\n", text(doc["started_at"]),
             doc["duration_s"].get<double>(), doc["events"]["seen"].get<uint64_t>(),
             doc["events"]["lost"].get<uint64_t>(), owners.empty() ? "no process found" : owners);
  if (dev.value("vanished", false))
    fmt::print(out, "the device vanished during the trace: the capture ends there\n");
  if (doc.contains("sample") && doc["sample"].get<uint32_t>() > 1)
    fmt::print(out, "sampled: 1 packet in {} followed; counts and rates are of those\n",
               doc["sample"].get<uint32_t>());
  if (doc.contains("filter") && doc["filter"].is_string())
    fmt::print(out, "filter: {} (only packets it takes are followed)\n", text(doc["filter"]));
  render_findings(out, doc);
  render_direction(out, doc, Dir::Tx);
  render_direction(out, doc, Dir::Rx);
  render_drops_elsewhere(out, doc);
  render_flows(out, doc);
  render_stalls(out, doc);
  render_vpn(out, doc);
}

void render_live(std::ostream& out, const std::array<DirStats, 2>& delta, double elapsed_s, double interval_s,
                 uint64_t lost_total, DeviceKind kind, const LiveStall& stall) {
  fmt::print(out, "-- {:7.1f} s {:-<78}\n", elapsed_s, "");
  if (stall.stage)
    fmt::print(out, "!! STALL: TX {} holds {} packet{} and none left it for {:.1f} s\n",
               span_name(*stall.stage, kind), stall.waiting, stall.waiting == 1 ? "" : "s", stall.stuck_s);
  for (Dir d : kDirs) {
    const DirStats& s = delta[static_cast<int>(d)];
    double secs = interval_s > 0 ? interval_s : 1;
    fmt::print(out, "{}  {:>11}  {:>8.2f} Mbit/s  drops {:<6} lost {:<8}\n", d == Dir::Tx ? "TX" : "RX",
               format_rate(s.packets / secs), s.bytes * 8 / secs / 1e6, s.dropped, lost_total);
    const auto spans = spans_of(d, kind);
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
