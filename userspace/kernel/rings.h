// SPDX-License-Identifier: MIT
// Where each CPU's rings lie in the BPF records array, as the loader sizes and reads them.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {
#include "tunlat.h"
}

namespace tunlat {

// Records per main (and nested) ring: 512 KiB, which stays in cache, written and read
// again within a few ms. Read every Tracer::kReadMs (10 ms), it holds ~400 k records/s on
// one CPU, ~2x what 64-byte UDP at full rate sends here (a TX packet takes two records,
// one per CPU it passes). Polling every 5 ms cost more in wake-ups than it saved.
inline constexpr uint32_t kRingRecords = 4096;
// The spill rings take what userspace cannot read in time, when it was not scheduled:
// at most this much memory together (CPUs x records x 128 bytes). With 64 Ki records per
// CPU, 64-byte UDP on a saturated 2-CPU machine lost nothing.
inline constexpr size_t kSpillBudget = 16u << 20;
inline constexpr uint32_t kSpillMin = 8192, kSpillMax = 65536;

// The rings of ncpu CPUs: TL_RINGS_PER_CPU each (main, nested, spill), laid out by
// tl_ring_first (bpf/tunlat.h), which the BPF writer uses too. Ring r is CPU r / 3's
// ring of kind r % 3.
struct RingLayout {
  uint32_t ncpu = 0;
  uint32_t spill_records = kSpillMin;  // a power of two in [kSpillMin, kSpillMax]

  static RingLayout for_cpus(uint32_t ncpu);  // the spill rings sized to kSpillBudget

  uint32_t rings() const { return ncpu * TL_RINGS_PER_CPU; }
  uint32_t total_records() const { return tl_ring_first(ncpu, 0, kRingRecords, spill_records); }
  uint32_t size(uint32_t ring) const {
    return tl_ring_size(ring % TL_RINGS_PER_CPU, kRingRecords, spill_records);
  }
  uint32_t first(uint32_t ring) const {
    return tl_ring_first(ring / TL_RINGS_PER_CPU, ring % TL_RINGS_PER_CPU, kRingRecords, spill_records);
  }
};

}  // namespace tunlat
