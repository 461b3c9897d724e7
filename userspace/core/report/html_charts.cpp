// SPDX-License-Identifier: MIT
// Plain inline-SVG charts for the HTML report: lines over time, heatmaps, histograms.
#include "core/report/html_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/format/format.h"
#include "core/report/visual.h"

namespace tunlat::charts {

namespace {

// The plot area inside each chart; the SVG scales to the page width (viewBox).
constexpr double kW = 1160, kLeft = 70, kRight = 10, kTop = 26, kPlotH = 130, kBottom = 22;
constexpr double kPlotW = kW - kLeft - kRight;

double x_of(const TimeAxis& a, double t) { return kLeft + (t - a.t0) / (a.t1 - a.t0) * kPlotW; }

std::string open_svg(double h, const std::string& title) {
  return fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\">"
      "<text x=\"{}\" y=\"16\" class=\"ct\">{}</text>",
      kW, h, kLeft, escape_markup(title));
}

std::string short_number(double v) {
  if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  if (v >= 10 || v == 0) return fmt::format("{:.0f}", v);
  return fmt::format("{:.2f}", v);
}

// The time axis under a plot, stall shading over it and drop ticks under it.
std::string frame(const TimeAxis& a, const Marks& m, double plot_h) {
  std::string s;
  const double y1 = kTop + plot_h;
  for (const Marks::Stall& st : m.stalls) {
    const double x0 = std::max(kLeft, x_of(a, st.start_s)),
                 x1 = std::min(kLeft + kPlotW, x_of(a, st.start_s + st.duration_s));
    if (x1 <= kLeft || x0 >= kLeft + kPlotW) continue;
    s += fmt::format(
        "<rect class=\"stall\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"><title>{}</title></rect>",
        x0, kTop, std::max(1.0, x1 - x0), plot_h, escape_markup(st.label));
  }
  for (size_t c = 0; c < m.drops.size() && c < a.cols; c++)
    if (m.drops[c]) {
      const double x = x_of(a, a.t0 + (c + 0.5) * a.col_s);
      s += fmt::format(
          "<path class=\"drop\" d=\"M{:.1f} {:.1f}l-4 7h8z\"><title>{} drops at {:.2f} s</title></path>", x,
          y1 + 1, m.drops[c], a.t0 + c * a.col_s);
    }
  s += fmt::format("<line class=\"ax\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", kLeft, y1, kLeft + kPlotW,
                   y1);
  // About ten round ticks: 1, 2 or 5 times a power of ten seconds.
  const double span = a.t1 - a.t0, raw = span / 10, p10 = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / p10 < 2 ? p10 : raw / p10 < 5 ? 2 * p10 : 5 * p10;
  for (double t = std::ceil(a.t0 / step) * step; t <= a.t1 + 1e-9; t += step)
    s += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g} s</text>",
                     x_of(a, t), y1 + 18, std::round(t / step) * step);
  return s;
}

// Counts to colours: log scale from pale yellow to dark purple, as heatmaps usually are.
std::string heat_colour(double f) {
  static const int stops[][3] = {
      {255, 245, 190}, {253, 174, 97}, {215, 48, 39}, {120, 28, 109}, {40, 10, 70}};
  f = std::clamp(f, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(f));
  const double k = f - i;
  auto mix = [&](int c) { return static_cast<int>(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * k); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2));
}

}  // namespace

std::string lines(const std::string& title, const std::string& unit, const std::vector<Series>& series,
                  const TimeAxis& axis, const Marks& marks) {
  double peak = 0;
  for (const Series& s : series)
    for (double v : s.values) peak = std::max(peak, v);
  if (peak <= 0) peak = 1;
  std::string out = open_svg(kTop + kPlotH + kBottom + 4, title);
  out += frame(axis, marks, kPlotH);
  out += fmt::format(
      "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{} {}</text>"
      "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>"
      "<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
      kLeft - 4, kTop + 10, short_number(peak), escape_markup(unit), kLeft - 4, kTop + kPlotH, kLeft, kTop,
      kLeft + kPlotW, kTop);
  double lx = kLeft + 7.5 * title.size() + 24;  // the legend follows the title
  for (const Series& s : series) {
    std::string pts;
    for (size_t c = 0; c < s.values.size(); c++)
      pts += fmt::format("{:.1f},{:.1f} ", x_of(axis, axis.t0 + (c + 0.5) * axis.col_s),
                         kTop + kPlotH - s.values[c] / peak * kPlotH);
    out += fmt::format("<polyline class=\"series\" stroke=\"{}\" points=\"{}\"><title>{}</title></polyline>",
                       s.colour, pts, escape_markup(s.name));
    out += fmt::format(
        "<rect x=\"{:.0f}\" y=\"7\" width=\"10\" height=\"10\" fill=\"{}\"/>"
        "<text class=\"tick\" x=\"{:.0f}\" y=\"16\">{}</text>",
        lx, s.colour, lx + 14, escape_markup(s.name));
    lx += 30 + 7 * s.name.size();
  }
  return out + "</svg>";
}

std::string heatmap(const std::string& title, const std::vector<std::vector<uint32_t>>& counts, int row0,
                    const TimeAxis& axis, const Marks& marks) {
  const size_t rows = counts.empty() ? 0 : counts[0].size();
  const double row_h = std::clamp(kPlotH / std::max<size_t>(rows, 1), 8.0, 16.0), plot_h = row_h * rows;
  uint32_t peak = 1;
  for (const auto& col : counts)
    for (uint32_t n : col) peak = std::max(peak, n);
  std::string out = open_svg(kTop + plot_h + kBottom + 4, title);
  out += frame(axis, marks, plot_h);
  for (size_t r = 0; r < rows; r++)
    if (r % 2 == 0 || rows < 8)
      out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>",
                         kLeft - 4, kTop + plot_h - r * row_h - row_h / 2 + 4,
                         format_duration_us(std::ldexp(1.0, row0 + static_cast<int>(r) + 8) / 1e3));
  const double col_w = kPlotW / std::max<size_t>(axis.cols, 1);
  for (size_t c = 0; c < counts.size(); c++)
    for (size_t r = 0; r < rows; r++)
      if (uint32_t n = counts[c][r])
        out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.1f}\" fill=\"{}\"/>",
                           kLeft + c * col_w, kTop + plot_h - (r + 1) * row_h, col_w + 0.3, row_h,
                           heat_colour(std::log1p(n) / std::log1p(peak)));
  out += fmt::format(
      "<text class=\"tick\" x=\"{}\" y=\"16\" text-anchor=\"end\">colour: packets per cell, log scale, "
      "darkest = {}</text>",
      kLeft + kPlotW, peak);
  return out + "</svg>";
}

std::string bars(const std::string& title, const std::vector<std::vector<double>>& buckets,
                 const std::string& colour) {
  constexpr double w = 370, left = 8, plot_w = w - 2 * left, plot_h = 80, top = 24;
  double peak = 1;
  for (const auto& b : buckets) peak = std::max(peak, b[2]);
  std::string out = fmt::format(
      "<svg class=\"bars\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\">"
      "<text x=\"{}\" y=\"16\" class=\"ct\">{}</text>",
      w, top + plot_h + 20, left, escape_markup(title));
  const double bw = plot_w / std::max<size_t>(buckets.size(), 1);
  for (size_t i = 0; i < buckets.size(); i++) {
    const double h = buckets[i][2] / peak * plot_h;
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
        "<title>{} .. {}: {} gaps</title></rect>",
        left + i * bw + 1, top + plot_h - h, std::max(1.0, bw - 2), h, colour,
        format_duration_us(buckets[i][0]), format_duration_us(buckets[i][1]),
        static_cast<uint64_t>(buckets[i][2]));
  }
  if (!buckets.empty())
    out += fmt::format(
        "<text class=\"tick\" x=\"{}\" y=\"{}\">{}</text><text class=\"tick\" x=\"{}\" y=\"{}\" "
        "text-anchor=\"end\">{}</text>",
        left, top + plot_h + 14, format_duration_us(buckets.front()[0]), w - left, top + plot_h + 14,
        format_duration_us(buckets.back()[1]));
  return out + "</svg>";
}

}  // namespace tunlat::charts
