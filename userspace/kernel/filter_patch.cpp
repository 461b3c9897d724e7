// SPDX-License-Identifier: MIT
// The user's pcap filter written over the programs' filter regions (filter_patch.h).
#include "kernel/filter_patch.h"

#include <bpf/libbpf.h>

#include <cstring>
#include <string>

#include "core/filter/cbpf_translate.h"
#include "fatal.h"

namespace tunlat {

namespace {

// The region at insns[i], if one starts there: the registers it names.
bool region_at(const bpf_insn* insns, size_t n, size_t i, FilterRegs& regs) {
  if (i + TL_FILTER_REGION > n) return false;
  const bpf_insn& ld = insns[i];
  if (ld.code != (BPF_LD | BPF_DW | BPF_IMM) || ld.dst_reg != 0 ||
      static_cast<uint32_t>(ld.imm) != TL_FILTER_MAGIC_LO ||
      static_cast<uint32_t>(insns[i + 1].imm) != TL_FILTER_MAGIC_HI)
    return false;
  // Two moves into the verdict's register: from the machine's, then from the packet's.
  const bpf_insn &machine = insns[i + 2], &packet = insns[i + 3];
  if (machine.code != (BPF_ALU64 | BPF_MOV | BPF_X) || packet.code != machine.code ||
      packet.dst_reg != machine.dst_reg)
    throw Fatal("the BPF programs' filter region is not as compiled (no moves after its marker)");
  regs.machine = machine.src_reg;
  regs.packet = packet.src_reg;
  regs.verdict = machine.dst_reg;
  for (size_t j = i + 4; j < i + TL_FILTER_REGION; j++)
    if (insns[j].code != (BPF_ALU64 | BPF_MOV | BPF_K) || insns[j].dst_reg != regs.verdict ||
        insns[j].imm != 0)
      throw Fatal("the BPF programs' filter region is not as compiled (instruction " + std::to_string(j - i) +
                  ")");
  return true;
}

}  // namespace

int filter_regions(const bpf_program* p) {
  const size_t n = bpf_program__insn_cnt(p);
  const bpf_insn* insns = bpf_program__insns(p);
  int regions = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    FilterRegs regs;
    if (!region_at(insns, n, i, regs)) continue;
    regions++;
    i += TL_FILTER_REGION - 1;
  }
  return regions;
}

int patch_filter(bpf_object* obj, const std::vector<tl_cbpf_insn>& prog) {
  static_assert(sizeof(bpf_insn) == sizeof(EbpfInsn), "the translation's instructions are struct bpf_insn");
  int patched = 0;
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, obj) {
    const size_t n = bpf_program__insn_cnt(p);
    std::vector<bpf_insn> insns(bpf_program__insns(p), bpf_program__insns(p) + n);
    bool changed = false;
    for (size_t i = 0; i + 1 < n; i++) {
      FilterRegs regs;
      if (!region_at(insns.data(), n, i, regs)) continue;
      std::vector<EbpfInsn> code;
      std::string err;
      if (!translate_filter(prog, regs, TL_FILTER_REGION, code, err)) throw Fatal(err, kExitUsage);
      std::memcpy(&insns[i], code.data(), code.size() * sizeof(bpf_insn));
      i += TL_FILTER_REGION - 1;
      changed = true;
      patched++;
    }
    // Same length: the relocations libbpf applies at load still point where they did.
    if (changed && bpf_program__set_insns(p, insns.data(), n) != 0)
      throw Fatal(std::string("cannot patch the filter into ") + bpf_program__name(p));
  }
  return patched;
}

}  // namespace tunlat
