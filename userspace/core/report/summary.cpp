// Builds the public "tunlat/v1" JSON summary (docs/json-schema.md) from a finished pipeline.
#include "core/report/summary.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace tunlat {

namespace {

// Microseconds with nanosecond precision, stable across runs.
double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

constexpr uint64_t kMinPacketsForVerdict = 10;

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

// The main points of each direction's path: where pacing is compared.
std::array<int, 3> path_points(Dir d) {
  return d == Dir::Tx ? std::array<int, 3>{TL_QUEUE, TL_XMIT, TL_READ}
                      : std::array<int, 3>{TL_INJECT, TL_RECEIVE, TL_DELIVER};
}

// Where pacing is introduced: "upstream" if packets arrive at the device as spaced as
// they leave it; otherwise the span across which the gap grows the most.
Json pacing_origin(Dir d, const DirStats& s) {
  auto pts = path_points(d);
  std::array<double, 3> gap{};
  for (int i = 0; i < 3; i++) {
    if (s.gaps[pts[i]].count() < kMinPacketsForVerdict) return nullptr;
    gap[i] = static_cast<double>(std::max<uint64_t>(s.gaps[pts[i]].quantile(0.5), 1));
  }
  if (gap[2] <= 1.5 * gap[0]) return "upstream";
  int worst = gap[1] / gap[0] >= gap[2] / gap[1] ? 0 : 1;
  return std::string(Analysis::span(d, worst).name);
}

int dominant_span(Dir d, const DirStats& s) {
  int best = -1;
  uint64_t best_sum = 0;
  for (int i = 0; i < Analysis::span_count(d); i++) {
    if (Analysis::span(d, i).name == "total") continue;
    if (s.spans[i].sum() > best_sum) best_sum = s.spans[i].sum(), best = i;
  }
  return best;
}

Json direction_json(const TraceInfo& info, Dir d, const DirStats& s, Json& verdicts) {
  Json j;
  j["packets"] = s.packets;
  j["bytes"] = s.bytes;
  double secs = s.last_ts > s.first_ts ? (s.last_ts - s.first_ts) / 1e9 : 0.0;
  j["pps"] = secs > 0 ? round3(s.packets / secs) : 0.0;
  j["mbit_s"] = secs > 0 ? round3(s.bytes * 8 / secs / 1e6) : 0.0;
  Json spans = Json::object();
  int dom = dominant_span(d, s);
  for (int i = 0; i < Analysis::span_count(d); i++)
    spans[std::string(Analysis::span(d, i).name)] = histogram_json(s.spans[i], true);
  j["spans"] = spans;
  Json points = Json::object();
  for (int p : d == Dir::Tx ? std::vector<int>(kTxPoints.begin(), kTxPoints.end())
                            : std::vector<int>(kRxPoints.begin(), kRxPoints.end())) {
    Json g = gap_json(s.gaps[p], s.passed[p]);
    Json cpus = Json::object();
    for (size_t cpu = 0; cpu < s.cpus[p].size(); cpu++)
      if (s.cpus[p][cpu]) cpus[std::to_string(cpu)] = s.cpus[p][cpu];
    g["cpus"] = cpus;
    points[std::string(point_name(p))] = g;
  }
  j["points"] = points;
  j["dominant_span"] = dom >= 0 ? Json(std::string(Analysis::span(d, dom).name)) : Json(nullptr);
  j["pacing_origin"] = pacing_origin(d, s);

  std::vector<std::pair<uint32_t, const ProcStat*>> procs;
  for (auto& [pid, p] : s.procs) procs.emplace_back(pid, &p);
  std::stable_sort(procs.begin(), procs.end(),
                   [](auto& a, auto& b) { return a.second->packets > b.second->packets; });
  Json pj = Json::array();
  for (auto& [pid, p] : procs)
    pj.push_back({{"pid", pid},
                  {"comm", p->comm},
                  {"role", d == Dir::Tx ? "reader" : "writer"},
                  {"packets", p->packets}});
  j["processes"] = pj;
  j["dropped"] = s.dropped;
  j["anomalies"] = {{"evicted", s.evicted},          {"unfinished", s.unfinished},
                    {"free_untraced", s.free_untraced}, {"stray", s.stray},
                    {"gso_parents", s.gso_parents},   {"segments", s.segments},
                    {"xmit_errors", s.xmit_errors},
                    {"negative_spans", s.negative}};

  // A sentence a person can act on: where the packets spend their time, and who is involved.
  if (s.packets >= kMinPacketsForVerdict && dom >= 0) {
    const Histogram& h = s.spans[dom];
    std::string name(Analysis::span(d, dom).name);
    std::string who;
    if (!procs.empty())
      who = fmt::format("; {} {} (pid {})", d == Dir::Tx ? "reader" : "writer",
                        procs.front().second->comm, procs.front().first);
    std::string where = name == "ring" ? "in the tun ring" : fmt::format("in {}", name);
    verdicts.push_back(fmt::format("{} packets wait longest {}: p50 {}, p99 {}{}",
                                   d == Dir::Tx ? "TX" : "RX", where, format_duration_us(us(h.quantile(0.5))),
                                   format_duration_us(us(h.quantile(0.99))), who));
    Json origin = j["pacing_origin"];
    if (origin == "upstream")
      verdicts.push_back(fmt::format(
          "{} pacing comes from upstream: gaps are already {} (p50) when packets reach the device",
          d == Dir::Tx ? "TX" : "RX", format_duration_us(us(s.gaps[path_points(d)[0]].quantile(0.5)))));
    else if (origin.is_string())
      verdicts.push_back(fmt::format("{} pacing is introduced in the {} span: gaps grow from {} to {}",
                                     d == Dir::Tx ? "TX" : "RX", origin.get<std::string>(),
                                     format_duration_us(us(s.gaps[path_points(d)[0]].quantile(0.5))),
                                     format_duration_us(us(s.gaps[path_points(d)[2]].quantile(0.5)))));
  }
  if (s.dropped) {
    auto worst = std::max_element(s.drops.begin(), s.drops.end(),
                                  [](auto& a, auto& b) { return a.second.count < b.second.count; });
    verdicts.push_back(fmt::format("{} {} packets dropped, most as {} in {}", s.dropped,
                                   d == Dir::Tx ? "TX" : "RX",
                                   drop_reason_name(info, worst->first.first),
                                   location_name(info, worst->first.second)));
  }
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

std::string format_duration_us(double v) {
  if (v >= 1e6) return fmt::format("{:.2f} s", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.2f} ms", v / 1e3);
  if (v >= 1) return fmt::format("{:.1f} us", v);
  return fmt::format("{:.0f} ns", v * 1000);
}

std::string drop_reason_name(const TraceInfo& info, int32_t reason) {
  auto it = info.drop_reasons.find(reason);
  if (it == info.drop_reasons.end()) return std::to_string(reason);
  std::string n = it->second;
  for (std::string prefix : {"SKB_DROP_REASON_", "SKB_"})
    if (n.rfind(prefix, 0) == 0) return n.substr(prefix.size());
  return n;
}

std::string location_name(const TraceInfo& info, uint64_t addr) {
  auto it = info.symbols.find(addr);
  return it != info.symbols.end() ? it->second : fmt::format("{:#x}", addr);
}

Json summarize(const TraceInfo& info, const Pipeline& p) {
  const Analysis& a = p.analysis();
  Json doc;
  doc["schema"] = "tunlat/v1";
  doc["tunlat_version"] = info.tunlat_version;
  doc["kernel"] = info.kernel;
  doc["device"] = {{"name", info.dev_name},
                   {"ifindex", info.ifindex},
                   {"netns", info.netns_name.empty() ? Json(nullptr) : Json(info.netns_name)},
                   {"netns_inode", info.netns_inode},
                   {"kind", info.kind}};
  Json owners = Json::array();
  for (auto& o : info.owners) owners.push_back({{"pid", o.pid}, {"comm", o.comm}});
  doc["owners"] = owners;
  doc["started_at"] = iso8601(static_cast<int64_t>(info.start_ns) + info.clock_offset_ns);
  doc["duration_s"] = round3(info.end_ns > info.start_ns ? (info.end_ns - info.start_ns) / 1e9 : 0.0);
  doc["events"] = {{"seen", p.seen()}, {"lost", info.events_lost}, {"late", p.late()}};
  // Counts and rates are of the packets followed: 1 in `sample` with --sample.
  doc["sample"] = info.sample;
  const CorrelatorStats& c = p.correlation();
  doc["correlation"] = {{"packets_followed", c.journeys},    {"ended_by_ttl", c.evicted},
                        {"gso_segments_joined", c.segments}, {"orphan_segments", c.orphan_segments},
                        {"max_in_flight", c.max_live}};
  Json verdicts = Json::array();
  doc["directions"] = {{"tx", direction_json(info, Dir::Tx, a.total(Dir::Tx), verdicts)},
                       {"rx", direction_json(info, Dir::Rx, a.total(Dir::Rx), verdicts)}};
  doc["stalls"] = Json::array();
  Json drops = Json::array();
  for (Dir d : kDirs)
    for (auto& [key, ds] : a.total(d).drops)
      drops.push_back({{"direction", dir_name(d)},
                       {"reason", drop_reason_name(info, key.first)},
                       {"location", location_name(info, key.second)},
                       {"scope", "device"},
                       {"count", ds.count},
                       {"pid", ds.pid},
                       {"comm", ds.comm}});
  doc["drops"] = drops;
  doc["tcp"] = {{"retransmits", nullptr}, {"flows", Json::array()}};
  doc["verdicts"] = verdicts;
  return doc;
}

}  // namespace tunlat
