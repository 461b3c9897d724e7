// SPDX-License-Identifier: MIT
// The VPN process's figures over a whole trace, as the summary and the findings both read them.
#include "core/analyse/vpn_figures.h"

namespace tunlat {

VpnFigures vpn_figures_of(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v) {
  const uint64_t dur = info.end_ns > info.start_ns ? info.end_ns - info.start_ns : 0;
  const double bytes = static_cast<double>(a.total(Dir::Tx).bytes + a.total(Dir::Rx).bytes);
  return v.figures(dur, dur ? bytes * 8e3 / static_cast<double>(dur) : 0);
}

}  // namespace tunlat
