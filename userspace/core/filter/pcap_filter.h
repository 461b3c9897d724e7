// SPDX-License-Identifier: MIT
// pcap-filter expressions compiled by libpcap into the classic BPF the programs interpret.
#pragma once

#include <string>
#include <vector>

#include "cbpf.h"

namespace tunlat {

// Compiles expr as tcpdump would for the device's link type (Ethernet for a tap,
// raw IP for a tun) and checks that the programs can run it (bpf/cbpf.h): at most
// TL_FILTER_MAX instructions, no Linux extension loads. Returns false with libpcap's
// message, or the reason it cannot run, in err.
bool compile_filter(const std::string& expr, bool ether, std::vector<tl_cbpf_insn>& out, std::string& err);

// Runs prog on a packet (its first TL_SNAP bytes seen, as in the kernel): the verdict.
uint32_t run_filter(const std::vector<tl_cbpf_insn>& prog, const uint8_t* pkt, uint32_t caplen,
                    uint32_t wirelen);

}  // namespace tunlat
