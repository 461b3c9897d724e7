// SPDX-License-Identifier: MIT
// The pcap filter translated into the BPF programs' own instructions (as pwru does), so
// that a packet is judged at the speed of compiled code, not of an interpreter's dispatch.
// The loader writes the translation over a region each program reserves for it
// (bpf/filter_region.bpf.h). Pure: instructions in, instructions out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cbpf.h"

namespace tunlat {

// struct bpf_insn's layout (linux/bpf.h), which this header cannot include: libpcap's
// cBPF instruction has the same name. regs: dst in the low 4 bits, src in the high.
struct EbpfInsn {
  uint8_t code;
  uint8_t regs;
  int16_t off;
  int32_t imm;
};
static_assert(sizeof(EbpfInsn) == 8, "struct bpf_insn is 8 bytes");

// The registers the region's code finds its machine in (a struct tl_cbpf, as a map
// value), the packet's first bytes in (the machine's copy, or the packet itself where the
// kernel lets loads read it in place: then any offset loads) and leaves its verdict in
// (0: no match). The region may use r0-r5 as it likes; these are among r6-r9 (machine
// and packet may be one: the copy is the machine's first field).
struct FilterRegs {
  uint8_t machine = 0, verdict = 0, packet = 0;
};

// Translates prog (checked runnable: compile_filter) into exactly `room` instructions:
// the filter, then a way out to the instruction after the region that the verifier can
// see every instruction on. Returns false, with the reason, if it does not fit.
bool translate_filter(const std::vector<tl_cbpf_insn>& prog, FilterRegs regs, size_t room,
                      std::vector<EbpfInsn>& out, std::string& err);

}  // namespace tunlat
