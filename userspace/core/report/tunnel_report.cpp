// SPDX-License-Identifier: MIT
#include "core/report/tunnel_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>

#include "core/analyse/sched_timeline.h"
#include "core/format/format.h"

namespace tunlat {

std::string segment_place(Segment s, const std::string& from, const std::string& to) {
  switch (s) {
    case Segment::FromDevice:
      return fmt::format("{} device (qdisc, ring)", from);
    case Segment::FromVpn:
      return fmt::format("{} VPN (read -> send)", from);
    case Segment::Underlay:
      return fmt::format("underlay + {} VPN's socket", to);
    case Segment::ToVpn:
      return fmt::format("{} VPN (read -> write)", to);
    case Segment::ToDevice:
      return fmt::format("{} device (backlog, stack)", to);
  }
  return "?";
}

namespace {

// Where packets stood, as a finding's sentence says it.
std::string segment_words(Segment s, const std::string& from, const std::string& to) {
  switch (s) {
    case Segment::FromDevice:
      return fmt::format("{}'s qdisc and ring, waiting for its VPN to read them", from);
    case Segment::FromVpn:
      return fmt::format("{}'s VPN, between its read and its underlay send", from);
    case Segment::Underlay:
      return fmt::format("the underlay and {}'s VPN socket, waiting for that VPN to read them", to);
    case Segment::ToVpn:
      return fmt::format("{}'s VPN, between its underlay read and its write", to);
    case Segment::ToDevice:
      return fmt::format("{}'s backlog and stack", to);
  }
  return "?";
}

double us(double ns) { return ns / 1e3; }

Json histogram_json(const Histogram& h) {
  return Json{{"p50", us(static_cast<double>(h.quantile(0.5)))},
              {"p90", us(static_cast<double>(h.quantile(0.9)))},
              {"p99", us(static_cast<double>(h.quantile(0.99)))},
              {"max", us(static_cast<double>(h.max()))},
              {"mean", us(h.mean())}};
}

// The end whose process holds a segment: the sender's for its device and VPN, else the
// receiver's.
const TunnelSide& holder_side(const TunnelPath& p, Segment s) {
  return s == Segment::FromDevice || s == Segment::FromVpn ? *p.from : *p.to;
}

// "openvpn (pid 5678)", or "" for none.
std::string process_name(const TunnelSide& side, const SegmentWorst& w) {
  if (!w.pid) return "";
  std::string comm = side.vpn && w.tid ? side.vpn->thread_comm(w.tid) : "";
  return comm.empty() ? fmt::format("pid {}", w.pid) : fmt::format("{} (pid {})", term_safe(comm), w.pid);
}

// The holder thread's state over the worst wait: "stopped for 98 % of it", or "".
std::string holder_state(const TunnelSide& side, const SegmentWorst& w, Json& evidence) {
  if (!side.vpn || !side.vpn->has_sched() || !w.tid) return "";
  StateSplit split;
  side.vpn->timeline().split(w.tid, w.from_ns, w.from_ns + w.ns, split);
  uint64_t all = 0;
  for (uint64_t v : split.ns) all += v;
  if (!all) return "";
  const auto top = std::max_element(split.ns.begin(), split.ns.end()) - split.ns.begin();
  const double share = static_cast<double>(split.ns[top]) / static_cast<double>(all);
  evidence["holder_state"] = std::string(task_state_name(static_cast<int>(top)));
  evidence["holder_state_share"] = share;
  return fmt::format("{} for {:.0f} % of it", task_state_name(static_cast<int>(top)), share * 100);
}

}  // namespace

std::vector<Finding> tunnel_findings(const TunnelResult& r, uint64_t stall_ns) {
  std::vector<Finding> out;
  for (const TunnelPath& p : r.paths) {
    for (size_t i = 0; i < kSegments; i++) {
      if (!p.over_stall[i]) continue;
      const auto s = static_cast<Segment>(i);
      const SegmentWorst& w = p.worst[i];
      const TunnelSide& side = holder_side(p, s);
      Finding f;
      f.kind = FindingKind::Stall;
      f.severity = Severity::Warning;
      f.weight = static_cast<double>(w.ns);
      f.evidence = Json{{"packets", p.over_stall[i]},
                        {"max_us", us(static_cast<double>(w.ns))},
                        {"threshold_us", us(static_cast<double>(stall_ns))}};
      const std::string who = process_name(side, w);
      const std::string state = holder_state(side, w, f.evidence);
      f.where = Json{{"path", p.from->name + " -> " + p.to->name},
                     {"segment", std::string(segment_name(s))},
                     {"end", side.name},
                     {"pid", w.pid ? Json(w.pid) : Json(nullptr)}};
      std::string holder;
      if (s == Segment::ToDevice)
        holder = who.empty() ? "" : fmt::format(": its reader, {}", who);
      else if (!who.empty())
        holder = fmt::format(": {}'s VPN, {}{}", side.name, who, state.empty() ? "" : ", was " + state);
      f.verdict = fmt::format("{} -> {}: {} packet{} stood {} or more in {}, up to {}{}", p.from->name,
                              p.to->name, p.over_stall[i], p.over_stall[i] == 1 ? "" : "s",
                              format_duration_us(us(static_cast<double>(stall_ns))),
                              segment_words(s, p.from->name, p.to->name),
                              format_duration_us(us(static_cast<double>(w.ns))), holder);
      out.push_back(std::move(f));
    }
  }
  std::sort(out.begin(), out.end(), [](const Finding& x, const Finding& y) { return x.weight > y.weight; });
  return out;
}

Json tunnel_json(const TunnelResult& r, uint64_t stall_ns) {
  Json paths = Json::array();
  for (const TunnelPath& p : r.paths) {
    Json segments = Json::array();
    for (size_t i = 0; i < kSegments; i++) {
      Json s = histogram_json(p.segments[i]);
      s["name"] = std::string(segment_name(static_cast<Segment>(i)));
      segments.push_back(std::move(s));
    }
    // "name" first, as the schema lists it.
    for (Json& s : segments) {
      Json ordered{{"name", s["name"]}};
      for (auto& [k, v] : s.items())
        if (k != "name") ordered[k] = v;
      s = std::move(ordered);
    }
    paths.push_back(Json{{"from", p.from->name},
                         {"to", p.to->name},
                         {"packets", p.packets},
                         {"matched", p.matched},
                         {"timed", p.timed},
                         {"transit", histogram_json(p.transit)},
                         {"segments", std::move(segments)}});
  }
  auto opt = [](const auto& v) { return v ? Json(us(static_cast<double>(*v))) : Json(nullptr); };
  return Json{{"paths", std::move(paths)},
              {"one_clock", r.one_clock},
              {"clock_offset_us", opt(r.clock_offset_ns)},
              {"clock_error_us", opt(r.clock_error_ns)},
              {"findings", findings_json(tunnel_findings(r, stall_ns))}};
}

void render_tunnel(std::ostream& out, const Json& t) {
  fmt::print(out, "\nTunnel{}\n",
             t["one_clock"].get<bool>() ? " (both ends on this host's clock)"
             : t["clock_offset_us"].is_null()
                 ? " (clock offset unknown: no packets matched both ways)"
                 : fmt::format(" (the second end's clock {:+.1f} us from the first's, +/- {:.1f} us)",
                               t["clock_offset_us"].get<double>(), t["clock_error_us"].get<double>()));
  for (const Json& p : t["paths"]) {
    const auto packets = p["packets"].get<uint64_t>(), matched = p["matched"].get<uint64_t>();
    const std::string from = term_safe(p["from"].get<std::string>()),
                      to = term_safe(p["to"].get<std::string>());
    fmt::print(out,
               "  {} -> {}: {} packets left {}, {} found at {} ({:.1f} %), {} with every segment timed\n",
               from, to, packets, from, matched, to, packets ? 100.0 * matched / packets : 0.0,
               p["timed"].get<uint64_t>());
    if (!p["timed"].get<uint64_t>()) continue;
    size_t width = 8;
    for (size_t i = 0; i < kSegments; i++)
      width = std::max(width, segment_place(static_cast<Segment>(i), from, to).size());
    fmt::print(out, "    {:<{}} {:>10} {:>10} {:>10} {:>10}\n", "segment", width, "p50", "p99", "max",
               "mean");
    auto row = [&](const std::string& name, const Json& h) {
      fmt::print(out, "    {:<{}} {:>10} {:>10} {:>10} {:>10}\n", name, width,
                 format_duration_us(h["p50"].get<double>()), format_duration_us(h["p99"].get<double>()),
                 format_duration_us(h["max"].get<double>()), format_duration_us(h["mean"].get<double>()));
    };
    for (size_t i = 0; i < kSegments; i++)
      row(segment_place(static_cast<Segment>(i), from, to), p["segments"][i]);
    row("transit", p["transit"]);
  }
  for (const Json& f : t["findings"]) fmt::print(out, "  ! {}\n", f["summary"].get<std::string>());
}

}  // namespace tunlat
