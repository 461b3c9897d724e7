// SPDX-License-Identifier: MIT
// Findings: what a person should know about the trace, ranked, each with its evidence.
#include "core/diagnose/findings.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "core/analyse/bottleneck.h"
#include "core/format/format.h"
#include "core/format/units.h"
#include "core/model/flow.h"

namespace tunlat {

namespace {

// A wait this long (p50) in one stage is worth a warning: a VPN adds well under 1 ms when
// it keeps up.
constexpr uint64_t kSlowWaitNs = 1'000'000;
// A stall this long is critical: TCP's RTO fires, the transfer visibly stops.
constexpr uint64_t kCriticalStallNs = 1'000'000'000;

// What a kernel drop reason (enum skb_drop_reason, by name: its numbers differ from kernel
// to kernel) means here, read once from one table.
// Ordinary (Closed, Multicast, OtherHost): part of normal operation, never a headline:
// packets for a socket that is gone or closing (the end of every TCP connection: late
// segments, a purged queue or out-of-order queue; an echo reply after ping ended),
// multicast no socket joined (IPv6's neighbour and router traffic: ip6_mc_input frees it
// as NOT_SPECIFIED), packets for another host.
// FullRing: the tun ring was full. SocketRcvbuf: a socket's receive buffer was full.
enum class DropClass : uint8_t { Other, Closed, Multicast, OtherHost, FullRing, SocketRcvbuf };
DropClass drop_class(std::string_view reason, std::string_view location) {
  static constexpr std::pair<std::string_view, DropClass> kReasons[] = {
      {"NO_SOCKET", DropClass::Closed},
      {"SOCKET_CLOSE", DropClass::Closed},
      {"TCP_CLOSE", DropClass::Closed},
      {"TCP_FLAGS", DropClass::Closed},
      {"QUEUE_PURGE", DropClass::Closed},
      {"OTHERHOST", DropClass::OtherHost},
      {"IPV6_NDISC_NS_OTHERHOST", DropClass::OtherHost},
      {"FULL_RING", DropClass::FullRing},
      {"SOCKET_RCVBUFF", DropClass::SocketRcvbuf}};
  for (const auto& [name, c] : kReasons)
    if (reason == name) return c;
  // Freed without a reason (6.x kernels): multicast delivered to no socket; a closing TCP
  // socket's out-of-order queue purged (the data above a hole, never to be delivered).
  static constexpr std::pair<std::string_view, DropClass> kUnspecified[] = {
      {"ip6_mc_input", DropClass::Multicast},
      {"igmp_rcv", DropClass::Multicast},
      {"skb_rbtree_purge", DropClass::Closed}};
  if (reason == "NOT_SPECIFIED")
    for (const auto& [loc, c] : kUnspecified)
      if (location == loc) return c;
  return DropClass::Other;
}
bool ordinary_class(DropClass c) {
  return c == DropClass::Closed || c == DropClass::Multicast || c == DropClass::OtherHost;
}
bool ordinary_drop(std::string_view reason, std::string_view location) {
  return ordinary_class(drop_class(reason, location));
}

std::string dur(uint64_t ns) { return format_duration_us(static_cast<double>(ns) / 1e3); }
const char* dir_upper(Dir d) { return d == Dir::Tx ? "TX" : "RX"; }
const char* role(Dir d) { return d == Dir::Tx ? "reader" : "writer"; }

// A stage as a sentence names it: "the tun ring", "WireGuard's queues (...)", "the qdisc".
std::string stage_phrase(Span stage, DeviceKind k) {
  if (stage == Span::Ring && !handoff_place(k).empty()) return std::string(handoff_place(k));
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
      "trace the far end's device too (tunlat trace --netns <ns> --dev <dev> on that host): a stopped or "
      "descheduled VPN shows there as a stall, the lost segments as drops on its underlay socket "
      "(SOCKET_RCVBUFF: its receive buffer was full)";
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

const FlowKey* flow_key(const Analysis& a, uint32_t flow) {
  auto f = a.flows().flows().find(flow);
  return flow && f != a.flows().flows().end() && f->second.defined ? &f->second.key : nullptr;
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

// Waits TCP's retransmission timer ended (core/analyse/flows: a loss repaired, no stall):
// said, as where a transfer paused, never raised; the loss itself is the drops' finding.
void timeout_findings(const Analysis& a, std::vector<Finding>& out) {
  for (Dir d : kDirs) {
    uint64_t waits = 0, longest = 0;
    size_t flows = 0;
    const FlowStat* worst = nullptr;
    for (auto& [id, f] : a.flows().flows()) {
      const FlowDirStats& s = f.dirs[static_cast<int>(d)];
      if (!s.timeout_waits) continue;
      waits += s.timeout_waits;
      flows++;
      if (s.timeout_wait_max_ns > longest) longest = s.timeout_wait_max_ns, worst = &f;
    }
    if (!waits) continue;
    const std::string flow = worst->defined ? flow_name(worst->key) : "a flow";
    Finding f;
    f.kind = FindingKind::Timeouts;
    f.weight = static_cast<double>(longest);
    f.verdict = fmt::format(
        "{} data of {} waited {} for TCP's retransmission timer ({} such wait{} in {} flow{}): "
        "segments lost beyond the device, answered as soon as they were sent again",
        dir_upper(d), flow, dur(longest), waits, waits == 1 ? "" : "s", flows, flows == 1 ? "" : "s");
    f.evidence = {{"count", waits}, {"longest_ms", us(longest) / 1e3}, {"flows", flows}};
    f.where = Json{{"direction", dir_name(d)}, {"stage", nullptr}, {"process", nullptr}, {"flow", flow}};
    f.remedy =
        "the pause is the loss's: see the drops and retransmissions (a lost last segment of an exchange "
        "waits for the timer, 200 ms at least)";
    out.push_back(std::move(f));
  }
}

void pacing_finding(Dir d, const DirStats& s, DeviceKind k, std::vector<Finding>& out) {
  const auto p = pacing_of(d, s, k);
  if (!p) return;
  Finding f;
  f.kind = FindingKind::Pacing;
  f.evidence = {{"rule", pacing_rule_name(p->rule)},
                {"gap_in_p50_us", us(p->gap_in_p50_ns)},
                {"gap_out_p50_us", us(p->gap_out_p50_ns)},
                {"gap_out_p90_us", us(p->gap_out_p90_ns)},
                {"period_us", p->period_ns ? Json(us(p->period_ns)) : Json(nullptr)},
                {"queued", std::round(p->queued * 10) / 10},
                {"exit_mbit_s", std::round(p->exit_mbit_s * 1000) / 1000}};
  if (p->rule == PacingRule::StandingQueue) {
    const Span origin = *p->origin;  // a standing queue is in a span
    const Histogram& wait = s.spans[span_index(origin)];
    const std::string who = busiest(s);
    const bool reader_paces = read_by_process(origin, k);
    const std::string pacer =
        reader_paces ? (who.empty() ? std::string("the reader") : who) : stage_phrase(origin, k);
    f.severity = wait.quantile(0.5) >= kSlowWaitNs ? Severity::Warning : Severity::Info;
    f.weight = p->queued;
    const std::string queue = fmt::format("~{:.0f} packets wait in {} (p50 {})", p->queued,
                                          stage_phrase(origin, k), dur(wait.quantile(0.5)));
    if (p->period_ns)
      f.verdict =
          fmt::format("{} {} one packet every {} (p90 {}): {}; it sets the pace of the transfer", pacer,
                      reader_paces ? "reads" : "releases", dur(p->period_ns), dur(p->gap_out_p90_ns), queue);
    else
      f.verdict = fmt::format("{} pacing comes from {}: {}, leaving at {:.2f} Mbit/s ({:.0f} packets/s)",
                              dir_upper(d), pacer, queue, p->exit_mbit_s, p->exit_pps);
    f.where = where(d, origin, reader_paces ? who : "", k);
    f.remedy =
        reader_paces
            ? (p->period_ns ? "the reader waits between reads: a timer, a shaper (e.g. openvpn --shaper)"
                            : "the reader cannot keep up: see its CPU use and scheduling")
        : origin == Span::Qdisc ? "the qdisc shapes the device: tc -s qdisc show dev <dev>"
                                : "the device's own path sets the pace: see its CPU use";
  } else if (p->rule == PacingRule::NoQueue) {
    f.severity = Severity::Info;
    f.verdict = fmt::format(
        "{} pacing comes from upstream: gaps are already {} (p50) when packets reach the device, "
        "and no stage holds a standing queue",
        dir_upper(d), dur(p->gap_in_p50_ns));
    f.where = where(d, std::nullopt, "", k);
  } else {
    f.severity = Severity::Info;
    f.verdict = fmt::format("{} pacing is introduced in the {} span: gaps grow from {} to {}", dir_upper(d),
                            pacing_origin_name(*p, k), dur(p->gap_in_p50_ns), dur(p->gap_out_p50_ns));
    f.where = where(d, p->origin, "", k);
  }
  out.push_back(std::move(f));
}

// Seed 001: without offloads on the tun fd (IFF_VNET_HDR + TUNSETOFFLOAD) the kernel cuts
// TCP's GSO skbs into segments before the ring, and the VPN reads each one; with them it
// would read one super-packet. Said where it happens, with what it costs in reads: the
// reads the trace saw, not the packets (segments the ring dropped were never read).
void offload_finding(const DirStats& s, DeviceKind k, std::vector<Finding>& out) {
  // The remedy is the tun fd's: a kernel VPN or a veth segments, or not, on its own.
  if (handoff_of(k) != Handoff::Reader) return;
  if (s.gso_parents < kMinPacketsForVerdict || !s.segments) return;
  const double per_parent = static_cast<double>(s.segments) / s.gso_parents;
  const double secs = s.last_ts > s.first_ts ? (s.last_ts - s.first_ts) / 1e9 : 0;
  const uint64_t reads = s.passed[TL_READ];
  const double reads_per_s = secs > 0 ? reads / secs : 0;
  const std::string who = busiest(s);
  Finding f;
  f.kind = FindingKind::Offload;
  f.severity = Severity::Info;
  f.weight = static_cast<double>(s.segments);
  f.verdict = fmt::format(
      "TX GSO skbs are cut into segments before the tun ring ({} skbs -> {} segments, {:.1f} "
      "each): {} reads each segment{}",
      s.gso_parents, s.segments, per_parent, who.empty() ? "the reader" : who,
      secs > 0 ? fmt::format(", {:.0f} reads/s", reads_per_s) : "");
  f.evidence = {{"gso_parents", s.gso_parents},
                {"segments", s.segments},
                {"segments_per_parent", std::round(per_parent * 10) / 10},
                {"reads", reads},
                {"reads_per_s", std::round(reads_per_s)}};
  f.where = where(Dir::Tx, Span::Qdisc, who, k);
  f.remedy =
      "offloads on the tun fd (IFF_VNET_HDR + TUNSETOFFLOAD) let the VPN read one super-packet instead";
  out.push_back(std::move(f));
}

void wait_finding(Dir d, const DirStats& s, DeviceKind k, std::vector<Finding>& out) {
  const int dom = dominant_span(d, s);
  if (s.packets < kMinPacketsForVerdict || dom < 0) return;
  const Histogram& h = s.spans[dom];
  const Span span = span_at(d, dom);
  // Who answers for the time: the application that reads a socket, else the VPN.
  const bool socket = span == Span::Socket;
  const std::string who = socket ? busiest(s.receivers) : busiest(s);
  Finding f;
  f.kind = FindingKind::Wait;
  f.severity = h.quantile(0.5) >= kSlowWaitNs ? Severity::Warning : Severity::Info;
  f.weight = static_cast<double>(h.sum());
  const std::string where_text = socket ? std::string("in their socket for the application's read")
                                        : fmt::format("in {}", stage_phrase(span, k));
  f.verdict = fmt::format("{} packets wait longest {}: p50 {}, p99 {}{}", dir_upper(d), where_text,
                          dur(h.quantile(0.5)), dur(h.quantile(0.99)),
                          who.empty() ? "" : fmt::format("; {} {}", socket ? "receiver" : role(d), who));
  if (socket) f.remedy = "the receiving application reads slowly: see what it does between reads";
  f.evidence = {{"span", std::string(span_name(span, k))},
                {"p50_us", us(h.quantile(0.5))},
                {"p99_us", us(h.quantile(0.99))},
                {"packets", h.count()}};
  f.where = where(d, span, who, k);
  out.push_back(std::move(f));
}

void drop_findings(const TraceInfo& info, Dir d, const DirStats& s, std::vector<Finding>& out) {
  if (!s.dropped) return;
  // The direction's drops that are not ordinary (those are told once for the whole trace:
  // ordinary_drops_finding), as one finding named by the worst.
  uint64_t serious = 0;
  const std::pair<const std::pair<int32_t, uint64_t>, DropStat>* worst = nullptr;
  for (auto& kv : s.drops) {
    if (ordinary_drop(info.drop_reason_name(kv.first.first), info.location_name(kv.first.second))) continue;
    serious += kv.second.count;
    if (!worst || kv.second.count > worst->second.count) worst = &kv;
  }
  if (!worst) return;
  const std::string reason = info.drop_reason_name(worst->first.first),
                    loc = info.location_name(worst->first.second);
  const std::string who =
      worst->second.pid ? fmt::format("{} (pid {})", worst->second.comm, worst->second.pid) : "";
  // One old segment dropped in a transfer of 100,000 (a retransmission's duplicate) is
  // no alarm: under 1 % of the direction's packets a drop is said, not raised. A full
  // tun ring always is: the VPN does not keep up.
  const double share =
      s.packets ? 100.0 * static_cast<double>(serious) / static_cast<double>(s.packets) : 100.0;
  const bool few = share < 1.0;
  const bool full_ring = drop_class(reason, loc) == DropClass::FullRing;
  Finding f;
  f.kind = FindingKind::Drops;
  f.severity = full_ring ? (few ? Severity::Warning : Severity::Critical)
               : few     ? Severity::Info
                         : Severity::Warning;
  f.weight = static_cast<double>(serious);
  f.verdict = fmt::format("{} {} packets dropped, most as {} in {}", serious, dir_upper(d), reason, loc);
  if (full_ring)
    f.verdict += fmt::format(
        ": the tun ring was full (its length is the device's txqueuelen); the reader{} did not keep up",
        holders(info).empty() ? "" : " " + holders(info));
  f.evidence = {{"count", serious}, {"reason", reason}, {"location", loc}};
  f.where = where(d, std::nullopt, who, info.kind);
  out.push_back(std::move(f));
}

// Every ordinary drop of the trace (drop_class), on the device in either direction and
// elsewhere in its namespace or on the VPN's sockets, as one info finding that names them
// by what they are: never a finding per direction or namespace.
void ordinary_drops_finding(const TraceInfo& info, const Analysis& a, std::vector<Finding>& out) {
  struct Item {
    std::string reason, location, scope;
    uint64_t count;
  };
  std::map<DropClass, std::vector<Item>> groups;
  uint64_t total = 0;
  auto add = [&](int32_t reason_code, uint64_t location, std::string scope, uint64_t count) {
    const std::string reason = info.drop_reason_name(reason_code), loc = info.location_name(location);
    const DropClass c = drop_class(reason, loc);
    if (!ordinary_class(c)) return;
    groups[c].push_back(Item{reason, loc, std::move(scope), count});
    total += count;
  };
  for (Dir d : kDirs)
    for (auto& [key, ds] : a.total(d).drops) add(key.first, key.second, std::string(dir_name(d)), ds.count);
  for (auto& [key, ed] : a.drops_elsewhere())
    add(key.reason, key.location, key.scope == TL_DS_UNDERLAY ? "underlay" : "netns", ed.count);
  if (!total) return;
  std::string said;
  Json evidence_groups = Json::array();
  for (auto& [c, items] : groups) {
    // The same reason and location in several places (RX, the namespace) is one.
    std::map<std::pair<std::string, std::string>, uint64_t> merged;
    uint64_t n = 0;
    Json drops = Json::array();
    for (const Item& it : items) {
      merged[{it.reason, it.location}] += it.count;
      n += it.count;
      drops.push_back(
          Json{{"reason", it.reason}, {"location", it.location}, {"scope", it.scope}, {"count", it.count}});
    }
    std::vector<std::pair<uint64_t, std::string>> named;
    for (auto& [rl, k] : merged) named.emplace_back(k, fmt::format("{} in {}", rl.first, rl.second));
    std::stable_sort(named.begin(), named.end(), [](auto& x, auto& y) { return x.first > y.first; });
    std::string list;
    for (size_t i = 0; i < named.size() && i < 3; i++)
      list += fmt::format("{}{} {}", i ? ", " : "", named[i].first, named[i].second);
    if (named.size() > 3) list += ", ...";
    const char* what = c == DropClass::Closed
                           ? "with no socket left for them (a connection or ping already over)"
                       : c == DropClass::Multicast ? "multicast no socket joined"
                                                   : "for another host";
    const char* group = c == DropClass::Closed      ? "closed"
                        : c == DropClass::Multicast ? "multicast"
                                                    : "other_host";
    said += fmt::format("{}{} {}: {}", said.empty() ? "" : "; ", n, what, list);
    evidence_groups.push_back(Json{{"group", group}, {"count", n}, {"drops", drops}});
  }
  Finding f;
  f.kind = FindingKind::OrdinaryDrops;
  f.severity = Severity::Info;
  f.weight = static_cast<double>(total);
  f.verdict = fmt::format("{} packet{} dropped as a matter of course, none of them the tunnel's loss: {}",
                          total, total == 1 ? "" : "s", said);
  f.evidence = {{"count", total}, {"groups", evidence_groups}};
  f.where = Json{{"direction", nullptr}, {"stage", nullptr}, {"process", nullptr}};
  out.push_back(std::move(f));
}

// Drops of other packets on the tunnel's path: on the owners' sockets (the VPN's underlay:
// a full receive buffer loses the tunnel's packets before the VPN sees them), and in the
// device's netns. Ordinary reasons stay ordinary.
void elsewhere_findings(const TraceInfo& info, const Analysis& a, std::vector<Finding>& out) {
  for (auto& [key, ed] : a.drops_elsewhere()) {
    const std::string reason = info.drop_reason_name(key.reason), loc = info.location_name(key.location);
    if (ordinary_drop(reason, loc)) continue;  // ordinary_drops_finding
    const bool underlay = key.scope == TL_DS_UNDERLAY;
    const Owner* owner = underlay ? info.owner_of_socket(key.socket) : nullptr;
    const std::string who = owner ? fmt::format("{} (pid {})", owner->comm, owner->pid) : "";
    // A little loss at a bottleneck's buffer is how TCP finds a path's limit: under 1 % of
    // the tunnel's packets it is said, not raised.
    const uint64_t packets = a.total(Dir::Tx).packets + a.total(Dir::Rx).packets;
    const double share = packets ? 100.0 * ed.count / packets : 100.0;
    Finding f;
    f.kind = FindingKind::Drops;
    f.severity = share < 1.0                ? Severity::Info
                 : underlay && share >= 5.0 ? Severity::Critical
                                            : Severity::Warning;
    f.weight = static_cast<double>(ed.count);
    if (underlay)
      f.verdict =
          fmt::format("{} packets dropped at the socket of {}: {} in {}{} ({:.2g} % of the tunnel's packets)",
                      ed.count, who.empty() ? "the VPN" : who, reason, loc,
                      drop_class(reason, loc) == DropClass::SocketRcvbuf
                          ? " (its receive buffer was full: the VPN read too slowly)"
                          : "",
                      share);
    else
      f.verdict = fmt::format("{} packets dropped in the device's network namespace as {} in {}", ed.count,
                              reason, loc);
    f.evidence = {{"count", ed.count},
                  {"bytes", ed.bytes},
                  {"reason", reason},
                  {"location", loc},
                  {"scope", underlay ? "underlay" : "netns"}};
    f.where = Json{
        {"direction", nullptr}, {"stage", nullptr}, {"process", who.empty() ? Json(nullptr) : Json(who)}};
    if (drop_class(reason, loc) == DropClass::SocketRcvbuf)
      f.remedy =
          "raise the socket's receive buffer (openvpn --rcvbuf, net.core.rmem_max) or find why the VPN reads "
          "late";
    out.push_back(std::move(f));
  }
}

}  // namespace

std::string_view severity_name(Severity s) {
  return s == Severity::Critical ? "critical" : s == Severity::Warning ? "warning" : "info";
}

std::string_view finding_kind_name(FindingKind k) {
  static constexpr std::array<std::string_view, kFindingKinds> names{
      "stall",         "drops",   "stopped_reader",    "cpu_contention",
      "timer_paced",   "vpn_cpu", "nagle_delayed_ack", "pacing",
      "timeouts",      "wait",    "softirq_cpu",       "offload",
      "ordinary_drops"};
  return names[static_cast<size_t>(k)];
}

Json findings_json(const std::vector<Finding>& findings) {
  Json out = Json::array();
  for (const Finding& f : findings)
    out.push_back(Json{{"kind", std::string(finding_kind_name(f.kind))},
                       {"severity", std::string(severity_name(f.severity))},
                       {"summary", f.verdict},
                       {"evidence", f.evidence},
                       {"where", f.where},
                       {"remedy", f.remedy.empty() ? Json(nullptr) : Json(f.remedy)}});
  return out;
}

std::vector<Finding> diagnose(const TraceInfo& info, const Analysis& a, const VpnAnalysis* vpn) {
  std::vector<Finding> out;
  stall_findings(info, a, out);
  elsewhere_findings(info, a, out);
  ordinary_drops_finding(info, a, out);
  if (vpn) vpn_findings(info, a, *vpn, out);
  nagle_findings(a, out);
  timeout_findings(a, out);
  for (Dir d : kDirs) {
    const DirStats& s = a.total(d);
    drop_findings(info, d, s, out);
    pacing_finding(d, s, a.device_kind(), out);
    wait_finding(d, s, a.device_kind(), out);
    if (d == Dir::Tx) offload_finding(s, a.device_kind(), out);
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& x, const Finding& y) {
    if (x.severity != y.severity) return x.severity > y.severity;
    if (x.kind != y.kind) return x.kind < y.kind;  // FindingKind is in rank order
    return x.weight > y.weight;
  });
  return out;
}

}  // namespace tunlat
