// SPDX-License-Identifier: MIT
// Sentences a person can act on, drawn from a direction's numbers.
#include "core/diagnose/verdicts.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/analyse/bottleneck.h"
#include "core/report/format.h"

namespace tunlat {

namespace {

std::string at_p50(const Histogram& h) { return format_duration_us(h.quantile(0.5) / 1e3); }

// The process that moved most of the packets, as "; reader openvpn (pid 4252)".
std::string busiest_process(const std::map<uint32_t, ProcStat>& procs, const char* role) {
  auto it = std::max_element(procs.begin(), procs.end(), [](auto& a, auto& b) {
    return a.second.packets < b.second.packets;  // the first of equals, as the JSON lists them
  });
  if (it == procs.end()) return "";
  return fmt::format("; {} {} (pid {})", role, it->second.comm, it->first);
}

// Who answers for the time in a span: the application that reads a socket, else the VPN.
std::string responsible(Dir d, std::string_view span, const DirStats& s) {
  if (span == "socket") return busiest_process(s.receivers, "receiver");
  return busiest_process(s.procs, d == Dir::Tx ? "reader" : "writer");
}

}  // namespace

void add_verdicts(const TraceInfo& info, Dir d, const DirStats& s, std::vector<std::string>& out) {
  const char* dir = d == Dir::Tx ? "TX" : "RX";
  const int dom = dominant_span(d, s);
  if (s.packets >= kMinPacketsForVerdict && dom >= 0) {
    const Histogram& h = s.spans[dom];
    const std::string_view name = spans_of(d)[dom].name;
    std::string where = name == "ring"     ? "in the tun ring"
                        : name == "socket" ? "in their socket for the application's read"
                                           : fmt::format("in {}", name);
    out.push_back(fmt::format("{} packets wait longest {}: p50 {}, p99 {}{}", dir, where, at_p50(h),
                              format_duration_us(h.quantile(0.99) / 1e3), responsible(d, name, s)));
    const auto origin = pacing_origin(d, s);
    const auto pts = path_points(d);
    if (origin == "upstream")
      out.push_back(fmt::format(
          "{} pacing comes from upstream: gaps are already {} (p50) when packets reach the device", dir,
          at_p50(s.gaps[pts[0]])));
    else if (origin)
      out.push_back(fmt::format("{} pacing is introduced in the {} span: gaps grow from {} to {}", dir,
                                *origin, at_p50(s.gaps[pts[0]]), at_p50(s.gaps[pts[2]])));
  }
  if (s.dropped) {
    auto worst = std::max_element(s.drops.begin(), s.drops.end(),
                                  [](auto& a, auto& b) { return a.second.count < b.second.count; });
    out.push_back(fmt::format("{} {} packets dropped, most as {} in {}", s.dropped, dir,
                              info.drop_reason_name(worst->first.first),
                              info.location_name(worst->first.second)));
  }
}

}  // namespace tunlat
