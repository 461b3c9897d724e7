// SPDX-License-Identifier: MIT
#include "filter_region_runner.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "fatal.h"
#include "filter_selftest.skel.h"
#include "filter_selftest_in_place.skel.h"
#include "kernel/filter_patch.h"
#include "kernel/kernel_info.h"

namespace tunlat {

namespace {

// Either self-test skeleton: the same globals and program, another region input.
template <class Skel>
bool run_skeleton(Skel* (*open)(), void (*destroy)(Skel*), int (*load)(Skel*),
                  const std::vector<tl_cbpf_insn>& prog, const std::vector<std::vector<uint8_t>>& packets,
                  std::vector<bool>& verdicts, std::string& why, bool& skip) {
  std::unique_ptr<Skel, void (*)(Skel*)> skel(open(), destroy);
  if (!skel) {
    why = std::string("cannot open the self-test program: ") + std::strerror(errno);
    return false;
  }
  try {
    if (patch_filter(skel->obj, prog) != 1) {
      why = "the self-test program does not have exactly one filter region";
      return false;
    }
  } catch (const Fatal& f) {
    why = f.what();
    return false;
  }
  if (int err = load(skel.get())) {
    why = std::string("BPF cannot load here: ") + std::strerror(-err);
    skip = err == -EPERM || err == -EACCES;
    return false;
  }
  verdicts.clear();
  // As the programs copy: only the bytes the filter looks at (tl_cbpf_snap).
  const uint32_t snap = tl_cbpf_snap(prog.data(), static_cast<uint32_t>(prog.size()));
  for (const std::vector<uint8_t>& pkt : packets) {
    tl_cbpf& m = skel->bss->machine;
    const uint32_t caplen = std::min<uint32_t>({static_cast<uint32_t>(pkt.size()), snap, TL_SNAP});
    std::memset(&m, 0, sizeof(m));
    std::memcpy(m.pkt, pkt.data(), caplen);
    tl_cbpf_reset(&m, caplen, static_cast<uint32_t>(pkt.size()));
    skel->bss->verdict = 0xdead;
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.run_filter), &opts) != 0) {
      why = std::string("cannot run the self-test program: ") + std::strerror(errno);
      return false;
    }
    if (skel->bss->verdict == 0xdead) {
      why = "the self-test program did not run";
      return false;
    }
    verdicts.push_back(skel->bss->verdict != 0);
  }
  return true;
}

}  // namespace

bool run_in_kernel(const std::vector<tl_cbpf_insn>& prog, const std::vector<std::vector<uint8_t>>& packets,
                   bool in_place, std::vector<bool>& verdicts, std::string& why, bool& skip) {
  skip = false;
  if (!in_place)
    return run_skeleton(filter_selftest__open, filter_selftest__destroy, filter_selftest__load, prog, packets,
                        verdicts, why, skip);
  try {
    if (!KernelBtf().loads_anywhere()) {
      why = "this kernel does not let BPF programs load from anywhere (Linux 6.17+): the programs copy";
      skip = true;
      return false;
    }
  } catch (const Fatal& f) {
    why = f.what();
    skip = true;
    return false;
  }
  return run_skeleton(filter_selftest_in_place__open, filter_selftest_in_place__destroy,
                      filter_selftest_in_place__load, prog, packets, verdicts, why, skip);
}

}  // namespace tunlat
