// SPDX-License-Identifier: MIT
// Where each CPU's rings lie in the BPF records array, as the loader sizes and reads them.
#include "kernel/rings.h"

#include <algorithm>

namespace tunlat {

RingLayout RingLayout::for_cpus(uint32_t ncpu) {
  size_t n = kSpillBudget / sizeof(tl_record) / std::max<uint32_t>(ncpu, 1);
  uint32_t p = kSpillMin;
  while (p * 2 <= n && p < kSpillMax) p *= 2;
  return RingLayout{ncpu, p};
}

}  // namespace tunlat
