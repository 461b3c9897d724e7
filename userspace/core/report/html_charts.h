// SPDX-License-Identifier: MIT
// Plain inline-SVG charts for the HTML report: lines over time, heatmaps, histograms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tunlat::charts {

// The shared time axis of every chart over time, in seconds from the trace's start.
struct TimeAxis {
  double t0 = 0, t1 = 1;  // seconds shown
  double col_s = 1;       // the width of one column (aggregated bins)
  size_t cols = 0;
};

// Shaded on every chart over time: stalls, and columns with drops.
struct Marks {
  struct Stall {
    double start_s, duration_s;
    std::string label;
  };
  std::vector<Stall> stalls;
  std::vector<uint64_t> drops;  // per column
};

struct Series {
  std::string name, colour;
  std::vector<double> values;  // per column
};

// Lines over time; y from 0 to the largest value; unit names the y values.
std::string lines(const std::string& title, const std::string& unit, const std::vector<Series>& series,
                  const TimeAxis& axis, const Marks& marks);

// Counts per column (x) and latency row (y, powers of two from 2^(row0+8) ns), colour
// on a log scale.
std::string heatmap(const std::string& title, const std::vector<std::vector<uint32_t>>& counts, int row0,
                    const TimeAxis& axis, const Marks& marks);

// Bars over power-of-two buckets [lo_us, hi_us, count] (the summary's "buckets").
std::string bars(const std::string& title, const std::vector<std::vector<double>>& buckets,
                 const std::string& colour);

}  // namespace tunlat::charts
