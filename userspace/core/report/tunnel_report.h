// SPDX-License-Identifier: MIT
// The whole tunnel in the summary ("tunnel", docs/json-schema.md) and the text report, and
// its findings: in which segment packets stood, and whose process held them.
#pragma once

#include <ostream>
#include <vector>

#include "core/diagnose/findings.h"
#include "core/model/json.h"
#include "core/tunnel/tunnel.h"

namespace tunlat {

// Stalls in the tunnel's segments: packets that waited stall_ns or more in one.
std::vector<Finding> tunnel_findings(const TunnelResult& r, uint64_t stall_ns);
// "tunnel": {paths[], clock_offset_us, clock_error_us, one_clock, findings[]}.
Json tunnel_json(const TunnelResult& r, uint64_t stall_ns);
// Its text section, from that JSON.
void render_tunnel(std::ostream& out, const Json& tunnel);
// What a segment is, as a sentence says it: "the underlay and accB/tap0's VPN socket".
std::string segment_place(Segment s, const std::string& from, const std::string& to);

}  // namespace tunlat
