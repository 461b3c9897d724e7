// SPDX-License-Identifier: MIT
// What the findings' sentences are made of (finding_words.h).
#include "core/diagnose/finding_words.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/format/format.h"

namespace tunlat {

std::string dur(uint64_t ns) { return format_duration_us(static_cast<double>(ns) / 1e3); }
const char* dir_upper(Dir d) { return d == Dir::Tx ? "TX" : "RX"; }
const char* role(Dir d) { return d == Dir::Tx ? "reader" : "writer"; }

// A stage as a sentence names it: "the tun ring", "WireGuard's queues (...)", "the qdisc".
std::string stage_phrase(Span stage, DeviceKind k) {
  if (stage == Span::Ring && !handoff_place(k).empty()) return std::string(handoff_place(k));
  if (stage == Span::Backlog && handoff_of(k) == Handoff::KernelVpn)
    return "the VPN's receive path (decryption, its NAPI poll)";
  return stage == Span::Qdisc ? "the qdisc" : std::string(span_name(stage, k));
}
// Is the stage a ring a process reads (tun, tap, macvtap), whose stalls are the reader's?
bool read_by_process(Span stage, DeviceKind k) {
  return stage == Span::Ring && handoff_of(k) == Handoff::Reader;
}

// The processes holding the device: "openvpn (pid 4252)", or "" if none was found.
std::string holders(const TraceInfo& info) {
  std::string out;
  for (const Owner& o : info.owners)
    out += fmt::format("{}{} (pid {})", out.empty() ? "" : ", ", o.comm, o.pid);
  return out;
}

// The process that moved most of the packets: "openvpn (pid 4252)".
std::string busiest(const std::map<uint32_t, ProcStat>& procs) {
  auto it = std::max_element(procs.begin(), procs.end(), [](auto& a, auto& b) {
    return a.second.packets < b.second.packets;  // the first of equals, as the JSON lists them
  });
  return it == procs.end() ? "" : fmt::format("{} (pid {})", it->second.comm, it->first);
}
std::string busiest(const DirStats& s) { return busiest(s.procs); }

// Where a finding is: its direction, the span (JSON "stage") and the process.
Json where(Dir d, std::optional<Span> span, const std::string& process, DeviceKind k) {
  return Json{{"direction", dir_name(d)},
              {"stage", span ? Json(std::string(span_name(*span, k))) : Json(nullptr)},
              {"process", process.empty() ? Json(nullptr) : Json(process)}};
}

const FlowKey* flow_key(const Analysis& a, uint32_t flow) {
  auto f = a.flows().flows().find(flow);
  return flow && f != a.flows().flows().end() && f->second.defined ? &f->second.key : nullptr;
}

}  // namespace tunlat
