// SPDX-License-Identifier: MIT
// The VPN process's figures over a whole trace, as the summary and the findings both read them.
#pragma once

#include "core/analyse/analysis.h"
#include "core/analyse/vpn.h"
#include "core/model/trace_info.h"

namespace tunlat {

// VpnAnalysis::figures() given the trace's duration and its TX+RX Mbit/s.
VpnFigures vpn_figures_of(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v);

}  // namespace tunlat
