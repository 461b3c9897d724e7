// SPDX-License-Identifier: MIT
// The user's pcap filter written, translated into BPF, over the region each program
// reserves for it (bpf/filter_region.bpf.h), between open and load.
#pragma once

#include <vector>

#include "cbpf.h"

struct bpf_object;
struct bpf_program;

namespace tunlat {

// Patches every region of every program of obj (opened, not loaded) with prog
// translated (core/filter/cbpf_translate). Returns how many regions it patched; throws
// Fatal with the reason if the translation does not fit or a region is not as compiled.
int patch_filter(bpf_object* obj, const std::vector<tl_cbpf_insn>& prog);

// The filter regions of one program as compiled: one per point of it that asks the
// filter (TL_FILTER_SITES over all programs, bpf/tunlat.h).
int filter_regions(const bpf_program* prog);

}  // namespace tunlat
