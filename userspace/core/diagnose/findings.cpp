// SPDX-License-Identifier: MIT
// Findings: what a person should know about the trace, ranked, each with its evidence.
#include "core/diagnose/findings.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "core/analyse/bottleneck.h"
#include "core/diagnose/finding_words.h"
#include "core/format/format.h"
#include "core/format/units.h"
#include "core/model/flow.h"

namespace tunlat {

namespace {

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
// A kernel VPN that segments GSO skbs itself, inside its xmit (WireGuard): its segments are
// new skbs tunlat never sees on the device, so the skbs it counts are fewer than the
// packets the device sends, and those skbs have no `vpn` span. Said as a warning: the
// figures cover only part of the traffic.
void kernel_vpn_gso_finding(const DirStats& s, DeviceKind k, const std::string& dev,
                            std::vector<Finding>& out) {
  if (handoff_of(k) != Handoff::KernelVpn || !s.gso_whole) return;
  Finding f;
  f.kind = FindingKind::Offload;
  f.severity = s.gso_whole * 20 >= s.packets ? Severity::Warning : Severity::Info;
  f.weight = static_cast<double>(s.gso_whole);
  f.verdict = fmt::format(
      "TX: {} of {} skbs reached {} whole as GSO super-packets, which {} segments itself after its xmit: "
      "tunlat counts them as one packet each (the device counts every segment) and cannot follow their "
      "segments, so the vpn span covers only the other {}",
      s.gso_whole, s.packets, dev, device_kind_name(k), s.packets - s.gso_whole);
  f.evidence = {{"gso_skbs", s.gso_whole}, {"skbs", s.packets}};
  f.where = where(Dir::Tx, Span::Ring, "", k);
  f.remedy = "turn segmentation offloads off on the device while tracing (ethtool -K " + dev +
             " tso off gso off): TCP then hands it packets of one segment each, and every packet is followed";
  out.push_back(std::move(f));
}

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
    f.verdict +=
        fmt::format(": {} was full (its length is the device's txqueuelen); the reader{} did not keep up",
                    handoff_place(info.kind).empty() ? "the ring" : handoff_place(info.kind),
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
    if (d == Dir::Tx) kernel_vpn_gso_finding(s, a.device_kind(), info.dev_name, out);
  }
  std::stable_sort(out.begin(), out.end(), [](const Finding& x, const Finding& y) {
    if (x.severity != y.severity) return x.severity > y.severity;
    if (x.kind != y.kind) return x.kind < y.kind;  // FindingKind is in rank order
    return x.weight > y.weight;
  });
  return out;
}

}  // namespace tunlat
