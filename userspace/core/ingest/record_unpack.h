// SPDX-License-Identifier: MIT
// Unpacks the kernel's ring records (bpf/tunlat.h tl_record) into point events.
#pragma once

#include <vector>

#include "core/model/event.h"

namespace tunlat {

static_assert(sizeof(tl_slot) == 64 && sizeof(tl_end) == 64 && sizeof(tl_record) == 128,
              "tl_record is shared with the BPF programs: its layout is fixed");

// Appends the events a record stands for, in path order: the slot's unsent stages, then
// the point that ended the record; or a lone TL_COMM event.
void unpack_record(const tl_record& r, std::vector<Event>& out);

}  // namespace tunlat
