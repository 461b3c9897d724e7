// SPDX-License-Identifier: MIT
#include "core/monitor/metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>

namespace tunlat {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::array<const char*, 2> kDirNames{"tx", "rx"};
constexpr std::array<const char*, TL_MON_SPANS> kSpanNames{"qdisc",   "ring",  "copy",   "total",
                                                           "backlog", "stack", "socket", "total"};
constexpr std::array<const char*, TL_MON_POINTS> kPointNames{"queue",  "xmit",    "read",  "free",
                                                             "inject", "receive", "taken", "deliver"};
constexpr std::array<const char*, TL_MON_STAGES> kStageNames{"qdisc", "ring", "backlog"};
constexpr std::array<int, TL_MON_STAGES> kStageDir{0, 0, 1};

int span_dir(int span) { return span >= TL_MS_BACKLOG ? 1 : 0; }
int point_dir(int point) { return point >= TL_MP_INJECT ? 1 : 0; }

std::vector<ClientMetric::Label> labels_of(const MonitoredDevice& d,
                                           std::initializer_list<ClientMetric::Label> more = {}) {
  std::vector<ClientMetric::Label> l{{"device", d.device}, {"netns", d.netns}};
  l.insert(l.end(), more);
  return l;
}

MetricFamily family(const char* name, const char* help, MetricType type) {
  return MetricFamily{name, help, type, {}};
}

ClientMetric counter(std::vector<ClientMetric::Label> labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = v;
  return m;
}

ClientMetric gauge(std::vector<ClientMetric::Label> labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  return m;
}

// buckets null: the histogram born empty.
ClientMetric histogram(std::vector<ClientMetric::Label> labels, const __u64* buckets, uint64_t sum_ns) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  m.histogram.bucket.reserve(TL_MON_BUCKETS);
  for (int b = 0; b < TL_MON_BUCKETS; b++) {
    if (buckets) cumulative += buckets[b];
    m.histogram.bucket.push_back({cumulative, bucket_upper_seconds(b)});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = buckets ? static_cast<double>(sum_ns) / 1e9 : 0;
  return m;
}

// Drops per device and direction: the kMaxDropLocations most frequent locations by name,
// the rest as "other", each with its reason.
std::string series_key(const MonitoredDevice& d, std::initializer_list<const char*> parts) {
  std::string key = d.netns + '/' + d.device;
  for (const char* p : parts) key.append(1, '\0').append(p);
  return key;
}

MetricFamily drops_family(const MonitorSnapshot& s, SeriesBirths& births) {
  MetricFamily f =
      family("tunlat_drops_total", "Packets of the device dropped, by reason and kernel location",
             MetricType::Counter);
  std::map<std::tuple<size_t, int, std::string, std::string, std::string>, uint64_t> rows;
  std::map<std::pair<size_t, int>, std::map<std::string, uint64_t>> by_location;
  for (const DropCount& d : s.drops) by_location[{d.device, d.dir}][d.location] += d.count;
  for (const DropCount& d : s.drops) {
    const auto& locs = by_location[{d.device, d.dir}];
    std::vector<std::pair<uint64_t, std::string>> order;
    for (const auto& [loc, n] : locs) order.emplace_back(n, loc);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    bool top = false;
    for (size_t i = 0; i < order.size() && i < kMaxDropLocations; i++) top |= order[i].second == d.location;
    rows[{d.device, d.dir, d.scope.empty() ? "device" : d.scope, d.reason, top ? d.location : "other"}] +=
        d.count;
  }
  for (const auto& [key, n] : rows) {
    const auto& [dev, dir, scope, reason, location] = key;
    if (dev >= s.devices.size()) continue;
    const bool born = !births.shown_before(series_key(
        s.devices[dev], {"drop", kDirNames[dir & 1], scope.c_str(), reason.c_str(), location.c_str()}));
    f.metric.push_back(counter(labels_of(s.devices[dev], {{"direction", kDirNames[dir & 1]},
                                                          {"reason", reason},
                                                          {"location", location},
                                                          {"scope", scope}}),
                               born ? 0.0 : static_cast<double>(n)));
  }
  return f;
}

}  // namespace

bool SeriesBirths::shown_before(const std::string& key) {
  now_.insert(key);
  return before_.count(key) > 0;
}

void SeriesBirths::next_scrape() {
  before_.swap(now_);
  now_.clear();
}

double bucket_upper_seconds(int b) {
  if (b >= TL_MON_BUCKETS - 1) return std::numeric_limits<double>::infinity();
  return std::exp2(TL_MON_MIN_LOG2 + b / 4.0) / 1e9;
}

std::vector<MetricFamily> monitor_metrics(const MonitorSnapshot& s, SeriesBirths& births) {
  MetricFamily spans = family("tunlat_span_seconds", "Time packets spent in each span of the device's path",
                              MetricType::Histogram);
  MetricFamily packets =
      family("tunlat_packets_total", "Packets seen at each point of the device's path", MetricType::Counter);
  MetricFamily bytes = family("tunlat_bytes_total", "Bytes through the device (TX at queue, RX at inject)",
                              MetricType::Counter);
  MetricFamily stalls =
      family("tunlat_stalls_total", "Stalls: packets held in a stage and none released for --stall-ms",
             MetricType::Counter);
  MetricFamily stall_s = family("tunlat_stall_seconds_total",
                                "Time stages stood stalled, from their last release", MetricType::Counter);
  MetricFamily queued = family("tunlat_queued_packets", "Packets held in a stage now", MetricType::Gauge);
  MetricFamily owner_cpu = family("tunlat_owner_cpu_seconds_total",
                                  "CPU time of the processes holding the device", MetricType::Counter);
  MetricFamily lost = family("tunlat_lost_records_total",
                             "Packets no longer followed: their slot was taken by another while in flight",
                             MetricType::Counter);
  uint64_t lost_total = 0;
  for (const MonitoredDevice& d : s.devices) {
    // A span's histogram appears with its first packet: an idle device (or a span its
    // traffic never has, a socket's wait on a forwarder) costs no 116 lines per scrape.
    for (int span = 0; span < TL_MON_SPANS; span++) {
      if (std::none_of(std::begin(d.stats.hist[span]), std::end(d.stats.hist[span]),
                       [](auto n) { return n > 0; }))
        continue;
      const char* dir = kDirNames[span_dir(span)];
      const bool born = !births.shown_before(series_key(d, {"span", dir, kSpanNames[span]}));
      spans.metric.push_back(histogram(labels_of(d, {{"direction", dir}, {"span", kSpanNames[span]}}),
                                       born ? nullptr : d.stats.hist[span], d.stats.span_ns[span]));
    }
    for (int p = 0; p < TL_MON_POINTS; p++)
      packets.metric.push_back(
          counter(labels_of(d, {{"direction", kDirNames[point_dir(p)]}, {"point", kPointNames[p]}}),
                  static_cast<double>(d.stats.points[p])));
    for (int dir = 0; dir < 2; dir++)
      bytes.metric.push_back(
          counter(labels_of(d, {{"direction", kDirNames[dir]}}), static_cast<double>(d.stats.bytes[dir])));
    for (int q = 0; q < TL_MON_STAGES; q++) {
      auto l = labels_of(d, {{"direction", kDirNames[kStageDir[q]]}, {"stage", kStageNames[q]}});
      stalls.metric.push_back(counter(l, static_cast<double>(d.stages[q].stalls)));
      stall_s.metric.push_back(counter(l, d.stages[q].stall_seconds));
      queued.metric.push_back(gauge(l, static_cast<double>(d.stages[q].held)));
    }
    for (const OwnerCpu& o : d.owners)
      owner_cpu.metric.push_back(
          counter(labels_of(d, {{"pid", std::to_string(o.pid)}, {"comm", o.comm}}), o.cpu_seconds));
    lost_total += d.stats.lost;
  }
  lost.metric.push_back(counter({}, static_cast<double>(lost_total)));
  MetricFamily devices = family("tunlat_devices", "Devices watched", MetricType::Gauge);
  devices.metric.push_back(gauge({}, static_cast<double>(s.devices.size())));
  MetricFamily build = family("tunlat_build_info", "tunlat's version", MetricType::Gauge);
  build.metric.push_back(gauge({{"version", s.version}}, 1));
  MetricFamily sample =
      family("tunlat_sample_packets",
             "1 packet in this many is followed under load (--sample): spans, the points after "
             "xmit and inject, stages, device drops and lost records are then estimates",
             MetricType::Gauge);
  sample.metric.push_back(gauge({}, static_cast<double>(s.sample)));
  MetricFamily drops = drops_family(s, births);
  births.next_scrape();
  return {std::move(spans),   std::move(packets), std::move(bytes),     std::move(stalls),
          std::move(stall_s), std::move(queued),  std::move(owner_cpu), std::move(drops),
          std::move(lost),    std::move(devices), std::move(build),     std::move(sample)};
}

}  // namespace tunlat
