// SPDX-License-Identifier: MIT
// The summary's "vpn" object: the VPN process's state, time per packet, threads and CPUs.
#pragma once

#include <cstdint>
#include <ostream>

#include "core/analyse/vpn.h"
#include "core/model/json.h"
#include "core/model/trace_info.h"

namespace tunlat {

class Analysis;

Json vpn_json(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v);
// Its text, from the JSON: nothing when there is no "vpn" object (older summaries).
void render_vpn(std::ostream& out, const Json& doc);

}  // namespace tunlat
