// SPDX-License-Identifier: MIT
// tunlat monitor's metrics, in Prometheus's data model (prometheus-cpp's MetricFamily):
// seconds for time, _total for counters, a bounded set of labels (docs/monitor.md).
#pragma once

#include <set>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "core/monitor/snapshot.h"

namespace tunlat {

// Drop locations named per device and direction: the rest are summed as "other".
inline constexpr size_t kMaxDropLocations = 20;

// The upper bound, in seconds, of histogram bucket b (bpf/monitor.h); +Inf for the last.
double bucket_upper_seconds(int b);

// Prometheus takes a series' first sample as its start: what a counter held when it first
// appeared is lost to rate() and increase(). So the series that appear late (a span's
// histogram with its first packet, a drop with its first reason and location) are born at
// zero: shown empty at the first scrape that has them, with their values from the next.
// Only the keys shown at the last scrape are kept: a device gone and back is born again.
// (A second server scraping the same monitor may see a new series first with its values.)
class SeriesBirths {
 public:
  // Whether key was shown at the last scrape; either way it is shown at this one.
  bool shown_before(const std::string& key);
  // Ends a scrape (monitor_metrics does).
  void next_scrape();

 private:
  std::set<std::string> before_, now_;
};

// One scrape's metrics.
std::vector<prometheus::MetricFamily> monitor_metrics(const MonitorSnapshot& s, SeriesBirths& births);

}  // namespace tunlat
