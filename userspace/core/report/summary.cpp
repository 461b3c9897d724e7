// SPDX-License-Identifier: MIT
// Builds the public "tunlat/v1" JSON summary (docs/json-schema.md) from a finished pipeline.
#include "core/report/summary.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/analyse/bottleneck.h"
#include "core/format/units.h"
#include "core/report/flows_report.h"
#include "core/report/vpn_json.h"

namespace tunlat {

namespace {

Json gap_json(const Histogram& g, uint64_t passed) {
  return Json{{"count", passed},
              {"gap_p50_us", us(g.quantile(0.5))},
              {"gap_p90_us", us(g.quantile(0.9))},
              {"gap_p99_us", us(g.quantile(0.99))},
              {"gap_max_us", us(g.max())}};
}

std::string iso8601(int64_t wall_ns) {
  std::time_t secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  int ms = static_cast<int>((wall_ns / 1'000'000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", tm, ms);
}

// A process's threads (or a drop's), most packets first: [{"tid", "comm", "packets"}].
Json threads_json(const std::map<uint32_t, ThreadStat>& threads, const char* count_key) {
  std::vector<std::pair<uint32_t, const ThreadStat*>> ts;
  for (auto& [tid, t] : threads) ts.emplace_back(tid, &t);
  std::stable_sort(ts.begin(), ts.end(),
                   [](auto& a, auto& b) { return a.second->packets > b.second->packets; });
  Json tj = Json::array();
  for (auto& [tid, t] : ts) tj.push_back({{"tid", tid}, {"comm", t->comm}, {count_key, t->packets}});
  return tj;
}

// workqueues: a kernel worker's workqueue (TraceInfo::workqueues), said beside its comm.
void add_processes(Json& pj, const std::map<uint32_t, ProcStat>& by_pid, const char* role,
                   const std::map<uint32_t, std::string>& workqueues) {
  std::vector<std::pair<uint32_t, const ProcStat*>> procs;
  for (auto& [pid, p] : by_pid) procs.emplace_back(pid, &p);
  std::stable_sort(procs.begin(), procs.end(),
                   [](auto& a, auto& b) { return a.second->packets > b.second->packets; });
  for (auto& [pid, p] : procs) {
    pj.push_back({{"pid", pid},
                  {"comm", p->comm},
                  {"role", role},
                  {"packets", p->packets},
                  {"threads", threads_json(p->threads, "packets")}});
    auto wq = workqueues.find(pid);
    if (wq != workqueues.end()) pj.back()["workqueue"] = wq->second;
  }
}

// Processes (tgid), each with its threads (tid): the reader (TX) or writer (RX) first,
// then the RX receivers, the applications that read the packets.
Json processes_json(Dir d, const DirStats& s, const std::map<uint32_t, std::string>& workqueues) {
  Json pj = Json::array();
  add_processes(pj, s.procs, d == Dir::Tx ? "reader" : "writer", workqueues);
  add_processes(pj, s.receivers, "receiver", workqueues);
  return pj;
}

Json points_json(Dir d, const DirStats& s) {
  Json points = Json::object();
  for (int p : points_of(d)) {
    Json g = gap_json(s.gaps[p], s.passed[p]);
    Json cpus = Json::object();
    for (size_t cpu = 0; cpu < s.cpus[p].size(); cpu++)
      if (s.cpus[p][cpu]) append_new(cpus, std::to_string(cpu), s.cpus[p][cpu]);
    g["cpus"] = cpus;
    points[std::string(point_name(p))] = g;
  }
  return points;
}

// Where the pacing comes from, the rule that said so and its numbers.
Json pacing_json(const Pacing& p, DeviceKind kind) {
  return Json{
      {"origin", std::string(pacing_origin_name(p, kind))},
      {"rule", pacing_rule_name(p.rule)},
      {"queued", std::round(p.queued * 10) / 10},
      {"gap_in_p50_us", us(p.gap_in_p50_ns)},
      {"gap_out_p50_us", us(p.gap_out_p50_ns)},
      {"gap_out_p90_us", us(p.gap_out_p90_ns)},
      {"period_us", p.period_ns ? Json(us(p.period_ns)) : Json(nullptr)},
      {"exit_point", std::string(point_name(p.exit_point))},
      {"exit_mbit_s", p.rule == PacingRule::StandingQueue ? Json(round3(p.exit_mbit_s)) : Json(nullptr)},
      {"exit_pps", p.rule == PacingRule::StandingQueue ? Json(round3(p.exit_pps)) : Json(nullptr)}};
}

// A flow's key if its definition came.
const FlowKey* key_of(const FlowTable& flows, uint32_t id) {
  auto f = flows.flows().find(id);
  return f != flows.flows().end() && f->second.defined ? &f->second.key : nullptr;
}

// A packet in one line ("ICMP echo request 1.1.1.2 > 1.1.1.1 id 7 seq 1"), or null when the
// trace did not say who it was (recordings before flows).
Json packet_line_json(const PacketSummary& s, uint32_t payload, Dir d, const FlowTable& flows) {
  return s.flow ? Json(packet_line(key_of(flows, s.flow), s, payload, d)) : Json(nullptr);
}

double t_s(uint64_t ns, uint64_t t0) { return round3(ns > t0 ? (ns - t0) / 1e9 : 0.0); }

Json pass_json(const StagePass& p, int leave_point, uint64_t t0, Dir d, const FlowTable& flows) {
  return Json{{"t_s", round3((p.leave_ns - t0) / 1e9)},
              {"point", std::string(point_name(leave_point))},
              {"waited_us", us(p.leave_ns - p.enter_ns)},
              {"pid", p.pid},
              {"tid", p.tid},
              {"comm", comm_string(p.comm)},
              {"len", p.len},
              {"summary", packet_line_json(p.sum, p.payload, d, flows)}};
}

// What ended a stuck stall: the arrival that woke the stage (stalls.h, StallTrigger), else
// the first packet out.
Json ended_by_json(const Stall& st, int leave, uint64_t t0, const FlowTable& flows) {
  if (st.ongoing) return nullptr;
  if (!st.triggered) {
    Json e = pass_json(st.ended_by, leave, t0, st.dir, flows);
    e["cause"] = stuck_end_name(false);
    return e;
  }
  const StallTrigger& t = st.trigger;
  const FlowKey* key = t.sum.flow ? key_of(flows, t.sum.flow) : nullptr;
  return Json{{"cause", stuck_end_name(true)},
              {"t_s", t_s(t.arrive_ns, t0)},
              {"point", std::string(point_name(t.arrive_point))},
              {"pid", t.pid},
              {"tid", t.tid},
              {"comm", comm_string(t.comm)},
              {"len", t.len},
              {"packet", packet_kind(key, t.sum, t.payload)},
              {"summary", packet_line_json(t.sum, t.payload, st.dir, flows)},
              {"flow", key ? Json(flow_name(*key)) : Json(nullptr)},
              {"new_flow", t.new_flow},
              {"lead_us", us(st.end_ns - t.arrive_ns)},
              {"quiet_us", us(t.quiet_ns)},
              {"waited_us",
               t.leave_ns >= t.enter_ns && t.leave_ns ? Json(us(t.leave_ns - t.enter_ns)) : Json(nullptr)},
              {"resumed_by",
               {{"point", std::string(point_name(leave))},
                {"pid", st.ended_by.pid},
                {"tid", st.ended_by.tid},
                {"comm", comm_string(st.ended_by.comm)}}}};
}

// A TCP packet in one line with its ACK ("TCP [.] 10.8.0.2:5201 > 10.8.0.1:40112 seq 1 len 0
// ack 4711"), or null.
Json ack_line_json(const PacketSummary& s, uint32_t payload, Dir d, const FlowTable& flows) {
  if (!s.flow) return nullptr;
  return packet_line(key_of(flows, s.flow), s, payload, d) + fmt::format(" ack {}", s.ack);
}

// An idle stall's phases (core/analyse/stall_phases.h): the peer's packets are the flow's
// other direction.
Json phases_json(const Stall& st, uint64_t t0, const FlowTable& flows) {
  const Dir peer = st.dir == Dir::Tx ? Dir::Rx : Dir::Tx;
  const int peer_point = peer == Dir::Rx ? TL_RECEIVE : TL_XMIT;
  Json out = Json::array();
  for (const StallPhase& ph : st.phases) {
    Json end = nullptr;
    if (ph.end == PhaseEnd::Peer || ph.end == PhaseEnd::Stall)
      end = Json{{"t_s", t_s(ph.end_ns, t0)},
                 {"cause", ph.end == PhaseEnd::Peer ? std::string(phase_end_name(ph.end))
                                                    : std::string(idle_end_name(st.idle_end))},
                 {"point", std::string(point_name(ph.end == PhaseEnd::Peer ? peer_point : st.end_point))},
                 {"summary", ack_line_json(ph.ended_by.sum, ph.ended_by.payload, peer, flows)}};
    else if (ph.end == PhaseEnd::Silence)
      end = Json{{"t_s", t_s(ph.end_ns, t0)},
                 {"cause", phase_end_name(ph.end)},
                 {"point", nullptr},
                 {"summary", nullptr}};
    out.push_back(Json{{"kind", phase_kind_name(ph.kind)},
                       {"start_s", t_s(ph.start_ns, t0)},
                       {"duration_ms", round3((ph.end_ns - ph.start_ns) / 1e6)},
                       {"peer_packets", ph.peer_packets},
                       {"dup_acks", ph.dup_acks},
                       {"hole_resent", ph.resent},
                       {"ended_by", end}});
  }
  return out;
}

// TCP's retransmission timer in an idle stall: when the hole went out again, the intervals
// (the first from the stall's start), which double as the timer backs off, and how long
// nothing went out at the end; backoff_ms, the longest of them all: the timer was at least
// that long by the end.
Json timer_json(const Stall& st, uint64_t t0) {
  if (st.hole_resent.empty()) return nullptr;
  Json at = Json::array(), gaps = Json::array();
  uint64_t prev = st.start_ns, longest = 0;
  for (uint64_t t : st.hole_resent) {
    at.push_back(t_s(t, t0));
    const uint64_t gap = t > prev ? t - prev : 0;
    gaps.push_back(round3(gap / 1e6));
    longest = std::max(longest, gap);
    prev = t;
  }
  const uint64_t since_last = st.end_ns > prev ? st.end_ns - prev : 0;
  return Json{{"hole_resent_s", at},
              {"intervals_ms", gaps},
              {"since_last_ms", round3(since_last / 1e6)},
              {"backoff_ms", round3(std::max(longest, since_last) / 1e6)}};
}

Json stall_json(const Stall& st, uint64_t t0, const FlowTable& flows, DeviceKind kind) {
  if (st.kind == StallKind::Idle) {
    auto f = flows.flows().find(st.flow);
    const bool named = f != flows.flows().end() && f->second.defined;
    return Json{{"direction", dir_name(st.dir)},
                {"kind", stall_kind_name(StallKind::Idle)},
                {"start_s", round3(st.start_ns > t0 ? (st.start_ns - t0) / 1e9 : 0.0)},
                {"duration_ms", round3((st.end_ns - st.start_ns) / 1e6)},
                {"stage", nullptr},
                {"queued", nullptr},
                {"ongoing", st.ongoing},
                {"flow", named ? Json(flow_name(f->second.key)) : Json(nullptr)},
                {"retransmits", st.retransmits},
                {"unacked_bytes", st.unacked},
                {"ended_by",
                 st.ongoing ? Json(nullptr)
                            : Json{{"t_s", round3(st.end_ns > t0 ? (st.end_ns - t0) / 1e9 : 0.0)},
                                   {"point", std::string(point_name(st.end_point))},
                                   {"cause", idle_end_name(st.idle_end)},
                                   {"summary", idle_end_phrase(st.idle_end)},
                                   {"packet", ack_line_json(st.ended_by.sum, st.ended_by.payload,
                                                            st.dir == Dir::Tx ? Dir::Rx : Dir::Tx, flows)}}},
                {"phases", phases_json(st, t0, flows)},
                {"timer", timer_json(st, t0)},
                {"flight_recorder", Json::array()}};
  }
  const int leave = span_def(st.dir, st.stage).to;
  Json before = Json::array();
  for (const StagePass& p : st.before) before.push_back(pass_json(p, leave, t0, st.dir, flows));
  return Json{{"direction", dir_name(st.dir)},
              {"kind", stall_kind_name(StallKind::Stuck)},
              {"start_s", round3(st.start_ns > t0 ? (st.start_ns - t0) / 1e9 : 0.0)},
              {"duration_ms", round3((st.end_ns - st.start_ns) / 1e6)},
              {"stage", std::string(span_name(st.stage, kind))},
              {"queued", st.queued},
              {"ongoing", st.ongoing},
              {"ended_by", ended_by_json(st, leave, t0, flows)},
              {"first_out", st.ongoing ? Json(nullptr) : pass_json(st.ended_by, leave, t0, st.dir, flows)},
              {"phases", Json::array()},
              {"timer", nullptr},
              {"flight_recorder", before}};
}

Json direction_json(Dir d, const DirStats& s, DeviceKind kind, const TraceInfo& info) {
  Json j;
  j["packets"] = s.packets;
  j["bytes"] = s.bytes;
  double secs = s.last_ts > s.first_ts ? (s.last_ts - s.first_ts) / 1e9 : 0.0;
  j["pps"] = secs > 0 ? round3(s.packets / secs) : 0.0;
  j["mbit_s"] = secs > 0 ? round3(s.bytes * 8 / secs / 1e6) : 0.0;
  Json spans = Json::object();
  const auto defs = spans_of(d, kind);
  for (size_t i = 0; i < defs.size(); i++)
    spans[std::string(defs[i].name)] = histogram_json(s.spans[i], true);
  j["spans"] = spans;
  j["points"] = points_json(d, s);
  const int dom = dominant_span(d, s);
  j["dominant_span"] = dom >= 0 ? Json(std::string(defs[dom].name)) : Json(nullptr);
  const auto pacing = pacing_of(d, s, kind);
  j["pacing_origin"] = pacing ? Json(std::string(pacing_origin_name(*pacing, kind))) : Json(nullptr);
  j["pacing"] = pacing ? pacing_json(*pacing, kind) : Json(nullptr);
  j["processes"] = processes_json(d, s, info.workqueues);
  j["dropped"] = s.dropped;
  j["anomalies"] = {{"evicted", s.evicted},
                    {"unfinished", s.unfinished},
                    {"free_untraced", s.free_untraced},
                    {"unread", s.unread},
                    {"stray", s.stray},
                    {"no_queue", s.no_queue},
                    {"gso_parents", s.gso_parents},
                    {"segments", s.segments},
                    {"gso_whole", s.gso_whole},
                    {"xmit_errors", s.xmit_errors},
                    {"negative_spans", s.negative}};
  return j;
}

}  // namespace

Json histogram_json(const Histogram& h, bool with_buckets) {
  Json j{{"count", h.count()},
         {"p50_us", us(h.quantile(0.5))},
         {"p90_us", us(h.quantile(0.9))},
         {"p99_us", us(h.quantile(0.99))},
         {"max_us", us(h.max())},
         {"mean_us", round3(h.mean() / 1000.0)}};
  if (with_buckets) {
    // Power-of-two rows [lo_us, hi_us, count]: enough to draw, small enough to keep.
    std::map<int, uint64_t> rows;
    for (int i = 0; i < h.used_buckets(); i++)
      if (uint64_t n = h.bucket(i)) rows[63 - __builtin_clzll(Histogram::lower_bound(i) | 1)] += n;
    Json b = Json::array();
    for (auto& [e, n] : rows) b.push_back({us(e ? 1ull << e : 0), us(2ull << e), n});
    j["buckets"] = b;
  }
  return j;
}

Json summarize(const TraceInfo& info, const Pipeline& p, const Json& findings) {
  const Analysis& a = p.analysis();
  Json doc;
  doc["schema"] = "tunlat/v1";
  doc["tunlat_version"] = info.tunlat_version;
  doc["kernel"] = info.kernel;
  doc["device"] = {{"name", info.dev_name},
                   {"ifindex", info.ifindex},
                   {"netns", info.netns_name.empty() ? Json(nullptr) : Json(info.netns_name)},
                   {"netns_inode", info.netns_inode},
                   {"kind", device_kind_name(info.kind)},
                   {"vanished", info.device_vanished}};
  Json owners = Json::array();
  for (auto& o : info.owners) owners.push_back({{"pid", o.pid}, {"comm", o.comm}});
  doc["owners"] = owners;
  doc["started_at"] = iso8601(static_cast<int64_t>(info.start_ns) + info.clock_offset_ns);
  doc["duration_s"] = round3(info.end_ns > info.start_ns ? (info.end_ns - info.start_ns) / 1e9 : 0.0);
  doc["events"] = {{"seen", p.seen()}, {"lost", info.events_lost}, {"late", p.late()}};
  // Counts and rates are of the packets followed: 1 in `sample` with --sample.
  doc["sample"] = info.sample;
  // Counts are of the packets the pcap filter took (null: every packet).
  doc["filter"] = info.filter.empty() ? Json(nullptr) : Json(info.filter);
  const CorrelatorStats& c = p.correlation();
  doc["correlation"] = {
      {"packets_followed", c.journeys},       {"ended_by_ttl", c.evicted - c.evicted_by_limit},
      {"ended_by_limit", c.evicted_by_limit}, {"gso_segments_joined", c.segments},
      {"orphan_segments", c.orphan_segments}, {"max_in_flight", c.max_live}};
  doc["directions"] = {{"tx", direction_json(Dir::Tx, a.total(Dir::Tx), a.device_kind(), info)},
                       {"rx", direction_json(Dir::Rx, a.total(Dir::Rx), a.device_kind(), info)}};
  Json stalls = Json::array();
  for (const Stall& st : a.stalls())
    stalls.push_back(stall_json(st, info.start_ns, a.flows(), a.device_kind()));
  doc["stalls"] = stalls;
  doc["stall_threshold_ms"] = round3(a.stall_threshold_ns() / 1e6);
  Json drops = Json::array();
  for (Dir d : kDirs)
    for (auto& [key, ds] : a.total(d).drops)
      drops.push_back(
          {{"direction", dir_name(d)},
           {"reason", key == kOtherDrops ? "(other reasons)" : info.drop_reason_name(key.first)},
           {"location", key == kOtherDrops ? "(other locations)" : info.location_name(key.second)},
           {"scope", "device"},
           {"count", ds.count},
           {"pid", ds.pid},
           {"comm", ds.comm},
           {"threads", threads_json(ds.threads, "count")}});
  // Drops of other skbs that hurt the tunnel: in the device's netns, on the owners' sockets.
  for (auto& [key, ed] : a.drops_elsewhere()) {
    const bool other = key.reason == kOtherDrops.first && key.location == kOtherDrops.second;
    const Owner* owner = key.scope == TL_DS_UNDERLAY ? info.owner_of_socket(key.socket) : nullptr;
    drops.push_back({{"direction", nullptr},
                     {"reason", other ? "(other reasons)" : info.drop_reason_name(key.reason)},
                     {"location", other ? "(other locations)" : info.location_name(key.location)},
                     {"scope", key.scope == TL_DS_UNDERLAY ? "underlay" : "netns"},
                     {"count", ed.count},
                     {"pid", owner ? owner->pid : 0},
                     {"comm", owner ? owner->comm : ""},
                     {"threads", Json::array()},
                     {"bytes", ed.bytes}});
  }
  doc["drops"] = drops;
  doc["tcp"] = flows_json(a.flows(), info.host_retransmits);
  doc["vpn"] = vpn_json(info, a, p.vpn());
  Json verdicts = Json::array();
  for (const Json& f : findings) verdicts.push_back(f["summary"]);
  doc["findings"] = findings;
  doc["verdicts"] = verdicts;
  return doc;
}

}  // namespace tunlat
