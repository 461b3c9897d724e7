// SPDX-License-Identifier: MIT
// Unpacks the kernel's ring records (bpf/tunlat.h tl_record) into point events.
#pragma once

#include <vector>

#include "core/ingest/flow_ids.h"
#include "core/model/event.h"

namespace tunlat {

static_assert(sizeof(tl_slot) == 64 && sizeof(tl_end) == 64 && sizeof(tl_record) == 128,
              "tl_record is shared with the BPF programs: its layout is fixed");

// Appends the events a record stands for, in path order: the slot's unsent stages, then
// the point that ended the record; or a lone TL_COMM event. With flows, a packet's first
// record names its flow (a TL_FLOW event first if the flow is new) and its first event
// carries the summary (TL_F_SUMMARY); TL_ADDR6 records teach flows IPv6 addresses.
void unpack_record(const tl_record& r, std::vector<Event>& out, FlowIds* flows = nullptr);

}  // namespace tunlat
