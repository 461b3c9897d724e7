// SPDX-License-Identifier: MIT
// pcap-filter expressions compiled by libpcap into the classic BPF the programs run,
// translated (cbpf_translate.h).
#include "core/filter/pcap_filter.h"

#include "core/filter/cbpf_translate.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace tunlat {

namespace {

// What the translation takes: the classes and modes pcap_compile emits, forward jumps
// that land inside the program, scratch words in range, a return at the end.
bool runnable(const std::vector<tl_cbpf_insn>& p, std::string& err) {
  const size_t n = p.size();
  for (size_t i = 0; i < n; i++) {
    const tl_cbpf_insn& in = p[i];
    const uint32_t cls = TL_CLASS(in.code), mode = TL_MODE(in.code);
    if ((cls == TL_LD || cls == TL_LDX) && (mode == TL_ABS || mode == TL_IND) && in.k >= 0x80000000u) {
      err = "the filter uses Linux's special loads (e.g. vlan or ifindex), which tunlat cannot apply";
      return false;
    }
    if ((cls == TL_LD || cls == TL_LDX) && mode == TL_MEM && in.k >= TL_CBPF_MEMWORDS) {
      err = "the filter uses scratch memory beyond its 16 words";
      return false;
    }
    if ((cls == TL_ST || cls == TL_STX) && in.k >= TL_CBPF_MEMWORDS) {
      err = "the filter uses scratch memory beyond its 16 words";
      return false;
    }
    if (cls == TL_JMP) {
      const uint64_t to_t = i + 1 + (TL_OP(in.code) == TL_JA ? uint64_t{in.k} : uint64_t{in.jt});
      const uint64_t to_f = i + 1 + (TL_OP(in.code) == TL_JA ? uint64_t{in.k} : uint64_t{in.jf});
      if (to_t >= n || to_f >= n) {
        err = "the compiled filter jumps outside itself";
        return false;
      }
    }
  }
  if (n == 0 || TL_CLASS(p[n - 1].code) != TL_RET) {
    err = "the compiled filter does not end with a return";
    return false;
  }
  return true;
}

}  // namespace

bool compile_filter(const std::string& expr, bool ether, std::vector<tl_cbpf_insn>& out, std::string& err) {
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> dead(pcap_open_dead(ether ? DLT_EN10MB : DLT_RAW, 65535),
                                                  pcap_close);
  if (!dead) {
    err = "libpcap cannot open a dead handle";
    return false;
  }
  bpf_program prog{};
  if (pcap_compile(dead.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    err = pcap_geterr(dead.get());
    return false;
  }
  out.clear();
  for (u_int i = 0; i < prog.bf_len; i++)
    out.push_back({prog.bf_insns[i].code, prog.bf_insns[i].jt, prog.bf_insns[i].jf, prog.bf_insns[i].k});
  pcap_freecode(&prog);
  if (out.size() > TL_FILTER_MAX) {
    err = "the filter compiles to " + std::to_string(out.size()) + " instructions; tunlat runs at most " +
          std::to_string(TL_FILTER_MAX) + " in the kernel: make it simpler";
    return false;
  }
  if (!runnable(out, err)) return false;
  // What the loader will write into the programs (any registers: they do not change its length).
  std::vector<EbpfInsn> code;
  return translate_filter(out, FilterRegs{6, 7, 6}, TL_FILTER_REGION, code, err);
}

}  // namespace tunlat
