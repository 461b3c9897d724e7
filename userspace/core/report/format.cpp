// SPDX-License-Identifier: MIT
// Numbers for people: durations, byte counts and rates, in every text output.
#include "core/report/format.h"

#include <fmt/format.h>

namespace tunlat {

std::string format_duration_us(double v) {
  if (v >= 1e6) return fmt::format("{:.2f} s", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.2f} ms", v / 1e3);
  if (v >= 1) return fmt::format("{:.1f} us", v);
  return fmt::format("{:.0f} ns", v * 1000);
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, u++;
  return u ? fmt::format("{:.2f} {}", b, units[u]) : fmt::format("{:.0f} B", b);
}

std::string format_rate(double pps) {
  if (pps >= 1e6) return fmt::format("{:.2f} Mpps", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:.2f} kpps", pps / 1e3);
  return fmt::format("{:.1f} pps", pps);
}

}  // namespace tunlat
