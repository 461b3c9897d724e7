// SPDX-License-Identifier: MIT
// tunlat monitor's metrics, in Prometheus's data model (prometheus-cpp's MetricFamily):
// seconds for time, _total for counters, a bounded set of labels (docs/monitor.md).
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "core/monitor/snapshot.h"

namespace tunlat {

// Drop locations named per device and direction: the rest are summed as "other".
inline constexpr size_t kMaxDropLocations = 20;

// The upper bound, in seconds, of histogram bucket b (bpf/monitor.h); +Inf for the last.
double bucket_upper_seconds(int b);

std::vector<prometheus::MetricFamily> monitor_metrics(const MonitorSnapshot& s);

}  // namespace tunlat
