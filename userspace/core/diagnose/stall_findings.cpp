// SPDX-License-Identifier: MIT
// Stall findings: a queue stage that stood still (stuck), a TCP flow whose data nothing
// acknowledged (idle), each told with what ended it and what to look at.
#include <fmt/format.h>

#include <cmath>

#include "core/diagnose/finding_words.h"
#include "core/format/format.h"
#include "core/format/units.h"
#include "core/model/flow.h"

namespace tunlat {

namespace {

// The longest the retransmission timer was seen to wait in an idle stall: between two
// sends of the hole (the first from the stall's start), or from the last one to the end.
uint64_t timer_backoff_ns(const Stall& st) {
  uint64_t prev = st.start_ns, longest = 0;
  for (uint64_t t : st.hole_resent) {
    longest = std::max(longest, t > prev ? t - prev : 0);
    prev = t;
  }
  return std::max(longest, st.end_ns > prev ? st.end_ns - prev : 0);
}

// "the far side was silent for 2.03 s, then acknowledged everything above a hole for 1.96 s
// while TCP's retransmission timer had backed off to 1.8 s": an idle stall's phases
// (core/analyse/stall_phases.h), or "" if it has none.
std::string phases_story(const Stall& st) {
  constexpr size_t kTold = 4;
  std::string out;
  for (size_t i = 0; i < st.phases.size() && i < kTold; i++) {
    const StallPhase& ph = st.phases[i];
    const std::string len = dur(ph.end_ns - ph.start_ns);
    out += i == 0 ? (st.dir == Dir::Tx ? "the far side " : "the receiving host ") : ", then ";
    if (ph.kind == PhaseKind::Silent)
      out += fmt::format("was silent {}for {}", i == 0 ? "" : "again ", len);
    else if (ph.kind == PhaseKind::Hole)
      out += fmt::format("acknowledged everything above a hole for {} ({} duplicate ACK{})", len, ph.dup_acks,
                         ph.dup_acks == 1 ? "" : "s");
    else
      out += fmt::format("answered without acknowledging anything new for {}", len);
  }
  if (st.phases.size() > kTold) out += fmt::format(", and {} phases more", st.phases.size() - kTold);
  if (out.empty()) return out;
  const size_t n = st.hole_resent.size();
  if (n >= 2)
    out +=
        fmt::format(" while TCP's retransmission timer had backed off to {} (the hole sent again {} times)",
                    dur(timer_backoff_ns(st)), n);
  else if (n == 1)
    out += fmt::format(" while TCP sent the hole again once, {} after the stall began",
                       dur(st.hole_resent[0] > st.start_ns ? st.hole_resent[0] - st.start_ns : 0));
  return out;
}

// What to try, by what the phases show: the far side silent, data lost above it, or both.
std::string idle_remedy(const Stall& st) {
  bool silent = false, hole = false;
  for (const StallPhase& ph : st.phases) {
    silent |= ph.kind == PhaseKind::Silent;
    hole |= ph.kind == PhaseKind::Hole;
  }
  const std::string far_end =
      "trace both ends of the tunnel (tunlat trace --dev <ns>/<dev> --dev <ns>/<dev>, or --record on each "
      "host and tunlat report A B): the tunnel's findings name the segment the data stood in and whose "
      "process held it; a stopped or descheduled VPN shows at its end as a stall, the lost segments as "
      "drops on its underlay socket (SOCKET_RCVBUFF: its receive buffer was full)";
  if (silent && hole)
    return "the far side stopped answering, and the head of the flight sent meanwhile was lost beyond the "
           "device (the hole): TCP sends it again only when its backed-off timer fires; " +
           far_end + "; a larger buffer there (openvpn --rcvbuf, net.core.rmem_max) keeps the flight";
  if (hole)
    return "a segment was lost beyond the device and TCP waited for its backed-off retransmission timer; " +
           far_end;
  return "look at the far side's VPN and the underlay: was the receiving VPN stopped or its socket full? " +
         far_end;
}

// A TCP flow's data that passed the device and waited for its ACK while nothing new was
// acknowledged: what the far side did meanwhile is its phases.
Finding idle_finding(const TraceInfo& info, const Analysis& a, const Stall& st) {
  const uint64_t len = st.end_ns - st.start_ns;
  const double at_s = st.start_ns > info.start_ns ? (st.start_ns - info.start_ns) / 1e9 : 0.0;
  auto f = a.flows().flows().find(st.flow);
  const std::string flow =
      f != a.flows().flows().end() && f->second.defined ? flow_name(f->second.key) : "a flow";
  Finding fd;
  fd.kind = FindingKind::Stall;
  fd.severity = len >= kCriticalStallNs ? Severity::Critical : Severity::Warning;
  fd.weight = static_cast<double>(len);
  const std::string meanwhile =
      fmt::format("{} retransmission{} meanwhile", st.retransmits, st.retransmits == 1 ? "" : "s");
  std::string story = phases_story(st);
  if (story.empty()) story = "the far side, or the path beyond the device, went silent";
  if (st.ongoing)
    fd.verdict = fmt::format(
        "{} data of {} stood unacknowledged for the last {} of the trace (from {:.2f} s, {}, "
        "{} bytes outstanding): {}",
        dir_upper(st.dir), flow, dur(len), at_s, meanwhile, st.unacked, story);
  else
    fd.verdict =
        fmt::format("{} data of {} stood {} unacknowledged at {:.2f} s ({}) until {}: {}", dir_upper(st.dir),
                    flow, dur(len), at_s, meanwhile, idle_end_phrase(st.idle_end), story);
  Json phases = Json::array();
  for (const StallPhase& ph : st.phases)
    phases.push_back(
        Json{{"kind", phase_kind_name(ph.kind)}, {"duration_ms", us(ph.end_ns - ph.start_ns) / 1e3}});
  fd.evidence = {
      {"kind", stall_kind_name(StallKind::Idle)},
      {"start_s", std::round(at_s * 1000) / 1000},
      {"duration_ms", us(len) / 1e3},
      {"retransmits", st.retransmits},
      {"unacked_bytes", st.unacked},
      {"ended_by", st.ongoing ? Json(nullptr) : Json(idle_end_name(st.idle_end))},
      {"phases", phases},
      {"hole_resent", st.hole_resent.size()},
      {"timer_backoff_ms", st.hole_resent.empty() ? Json(nullptr) : Json(us(timer_backoff_ns(st)) / 1e3)}};
  fd.where = Json{{"direction", dir_name(st.dir)}, {"stage", nullptr}, {"process", nullptr}, {"flow", flow}};
  fd.remedy = idle_remedy(st);
  return fd;
}

// ", 52 us after an ICMP echo request from ping (pid 7) arrived": the arrival that woke a
// stuck stage (stalls.h), or "".
std::string woken_by(const Analysis& a, const Stall& st) {
  if (!st.triggered) return "";
  const StallTrigger& t = st.trigger;
  const std::string kind = packet_kind(flow_key(a, t.sum.flow), t.sum, t.payload);
  const std::string from = t.pid ? fmt::format(" from {} (pid {})", comm_string(t.comm), t.pid) : "";
  return fmt::format(
      ", {} after {} {}{} arrived", dur(st.end_ns - t.arrive_ns),
      !kind.empty() && std::string_view("AEIOaeio").find(kind[0]) != std::string_view::npos ? "an" : "a",
      kind, from);
}

// What to look at when a kernel VPN's or a veth peer's stage stood still.
std::string handoff_remedy(const TraceInfo& info) {
  switch (handoff_of(info.kind)) {
    case Handoff::KernelVpn:
      return "see the VPN's kernel workers (kworker threads of wg-crypt-" + info.dev_name +
             ": their CPU time) and whether the peer has a session (wg show " + info.dev_name +
             "): WireGuard holds packets in its staged queue until a handshake completes";
    case Handoff::Peer:
      return "see the peer's receive processing: its CPU's softirq time and backlog drops "
             "(/proc/net/softnet_stat)";
    default:
      return "";
  }
}

}  // namespace

void stall_findings(const TraceInfo& info, const Analysis& a, std::vector<Finding>& out) {
  const DeviceKind k = a.device_kind();
  for (const Stall& st : a.stalls()) {
    if (st.kind == StallKind::Idle) {
      out.push_back(idle_finding(info, a, st));
      continue;
    }
    const uint64_t len = st.end_ns - st.start_ns;
    const double at_s = st.start_ns > info.start_ns ? (st.start_ns - info.start_ns) / 1e9 : 0.0;
    const std::string who =
        st.ended_by.pid ? fmt::format("{} (pid {})", comm_string(st.ended_by.comm), st.ended_by.pid) : "";
    Finding f;
    f.kind = FindingKind::Stall;
    f.severity = len >= kCriticalStallNs ? Severity::Critical : Severity::Warning;
    f.weight = static_cast<double>(len);
    const std::string held = fmt::format("{} packet{} waited in {}", st.queued, st.queued == 1 ? "" : "s",
                                         stage_phrase(st.stage, k));
    if (st.ongoing)
      f.verdict = fmt::format(
          "{} stood still for the last {} of the trace (from {:.2f} s): {} and none left it{}",
          dir_upper(st.dir), dur(len), at_s, held,
          read_by_process(st.stage, k) && !holders(info).empty() ? "; the device is held by " + holders(info)
                                                                 : "");
    else if (read_by_process(st.stage, k))
      f.verdict = fmt::format("{} stood still {} at {:.2f} s: {} until {} read again{}", dir_upper(st.dir),
                              dur(len), at_s, held, who.empty() ? "the reader" : who, woken_by(a, st));
    else if (st.triggered)
      f.verdict = fmt::format("{} stood still {} at {:.2f} s: {} until one left it ({}){}", dir_upper(st.dir),
                              dur(len), at_s, held, point_name(st.end_point), woken_by(a, st));
    else
      f.verdict = fmt::format("{} stood still {} at {:.2f} s: {} until one left it ({})", dir_upper(st.dir),
                              dur(len), at_s, held, point_name(st.end_point));
    f.evidence = {
        {"start_s", std::round(at_s * 1000) / 1000}, {"duration_ms", us(len) / 1e3}, {"queued", st.queued}};
    if (st.triggered) {
      const StallTrigger& t = st.trigger;
      const FlowKey* key = flow_key(a, t.sum.flow);
      f.evidence["ended_by"] = t.sum.flow ? packet_line(key, t.sum, t.payload, st.dir) : "a packet";
      f.evidence["ended_by_pid"] = t.pid;
      f.evidence["lead_us"] = us(st.end_ns - t.arrive_ns);
    }
    f.where = where(st.dir, st.stage, who, k);
    if (st.triggered)
      f.remedy =
          "the stage resumed just after another packet arrived: look for a wake-up its reader "
          "misses (an edge-triggered poll not drained, a lost event); meanwhile any traffic through the "
          "device (a periodic ping) may end such stalls";
    else
      f.remedy = read_by_process(st.stage, k)
                     ? "see what the reader did meanwhile: stopped (SIGSTOP, a debugger), descheduled, or "
                       "blocked elsewhere"
                 : st.stage == Span::Ring
                     ? handoff_remedy(info)
                     : "check the qdisc's shaping and state: tc -s qdisc show dev " + info.dev_name;
    out.push_back(std::move(f));
  }
}

}  // namespace tunlat
