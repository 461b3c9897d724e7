// SPDX-License-Identifier: MIT
// The translated filter run in the kernel on packets (bpf/filter_selftest.bpf.c), apart
// from libpcap's headers: its struct bpf_insn is not the kernel's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cbpf.h"

namespace tunlat {

// Loads prog translated into the region of the self-test program and runs it on each
// packet (its first TL_SNAP bytes, as the kernel's copy): verdicts, true for a match.
// in_place: the region reads the bytes through a pointer that loads from anywhere, as the
// programs read a packet in place (Linux 6.17+). Returns false with the reason if it
// cannot (no BPF here, or no such loads: then `skip` is set).
bool run_in_kernel(const std::vector<tl_cbpf_insn>& prog, const std::vector<std::vector<uint8_t>>& packets,
                   bool in_place, std::vector<bool>& verdicts, std::string& why, bool& skip);

}  // namespace tunlat
