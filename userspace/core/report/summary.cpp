// SPDX-License-Identifier: MIT
// Builds the public "tunlat/v1" JSON summary (docs/json-schema.md) from a finished pipeline.
#include "core/report/summary.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/analyse/bottleneck.h"
#include "core/diagnose/verdicts.h"

namespace tunlat {

namespace {

// Microseconds with nanosecond precision, stable across runs.
double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

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

Json processes_json(Dir d, const DirStats& s) {
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

Json direction_json(Dir d, const DirStats& s) {
  Json j;
  j["packets"] = s.packets;
  j["bytes"] = s.bytes;
  double secs = s.last_ts > s.first_ts ? (s.last_ts - s.first_ts) / 1e9 : 0.0;
  j["pps"] = secs > 0 ? round3(s.packets / secs) : 0.0;
  j["mbit_s"] = secs > 0 ? round3(s.bytes * 8 / secs / 1e6) : 0.0;
  Json spans = Json::object();
  const auto defs = spans_of(d);
  for (size_t i = 0; i < defs.size(); i++) spans[std::string(defs[i].name)] = histogram_json(s.spans[i], true);
  j["spans"] = spans;
  j["points"] = points_json(d, s);
  const int dom = dominant_span(d, s);
  j["dominant_span"] = dom >= 0 ? Json(std::string(defs[dom].name)) : Json(nullptr);
  const auto origin = pacing_origin(d, s);
  j["pacing_origin"] = origin ? Json(*origin) : Json(nullptr);
  j["processes"] = processes_json(d, s);
  j["dropped"] = s.dropped;
  j["anomalies"] = {{"evicted", s.evicted},          {"unfinished", s.unfinished},
                    {"free_untraced", s.free_untraced}, {"stray", s.stray},
                    {"gso_parents", s.gso_parents},   {"segments", s.segments},
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
  const CorrelatorStats& c = p.correlation();
  doc["correlation"] = {{"packets_followed", c.journeys},    {"ended_by_ttl", c.evicted - c.evicted_by_limit},
                        {"ended_by_limit", c.evicted_by_limit},
                        {"gso_segments_joined", c.segments}, {"orphan_segments", c.orphan_segments},
                        {"max_in_flight", c.max_live}};
  doc["directions"] = {{"tx", direction_json(Dir::Tx, a.total(Dir::Tx))},
                       {"rx", direction_json(Dir::Rx, a.total(Dir::Rx))}};
  doc["stalls"] = Json::array();
  Json drops = Json::array();
  for (Dir d : kDirs)
    for (auto& [key, ds] : a.total(d).drops)
      drops.push_back({{"direction", dir_name(d)},
                       {"reason", key == kOtherDrops ? "(other reasons)" : info.drop_reason_name(key.first)},
                       {"location", key == kOtherDrops ? "(other locations)" : info.location_name(key.second)},
                       {"scope", "device"},
                       {"count", ds.count},
                       {"pid", ds.pid},
                       {"comm", ds.comm}});
  doc["drops"] = drops;
  doc["tcp"] = {{"retransmits", nullptr}, {"flows", Json::array()}};
  std::vector<std::string> verdicts;
  for (Dir d : kDirs) add_verdicts(info, d, a.total(d), verdicts);
  doc["verdicts"] = verdicts;
  return doc;
}

}  // namespace tunlat
