// SPDX-License-Identifier: MIT
// pcap-filter expressions compiled by libpcap into the classic BPF the programs run
// (translated into their own instructions: cbpf_translate.h).
#pragma once

#include <string>
#include <vector>

#include "cbpf.h"

namespace tunlat {

// Compiles expr as tcpdump would for the device's link type (Ethernet for a tap,
// raw IP for a tun) and checks that the programs can run it: at most TL_FILTER_MAX
// instructions, no Linux extension loads, a translation that fits their region. Returns
// false with libpcap's message, or the reason it cannot run, in err.
bool compile_filter(const std::string& expr, bool ether, std::vector<tl_cbpf_insn>& out, std::string& err);

}  // namespace tunlat
