// SPDX-License-Identifier: MIT
// Kernel records in, point events out: the one door between the loader and the core.
#pragma once

#include <cstdint>

#include "core/ingest/address_join.h"
#include "core/ingest/record_merge.h"
#include "core/ingest/record_unpack.h"
#include "core/model/event.h"

namespace tunlat {

// The loader (kernel/tracer) hands in the records it reads from each ring; what comes out
// is what a recording holds: every record unpacked into its events, the rings merged in
// the order records were sent, and the packet of each record sent by address named
// (AddressJoin). A recording replays the same events into the same kind of sink.
class Ingest {
 public:
  Ingest(uint32_t rings, EventSink out) : merger_(rings), out_(std::move(out)) {}

  // A record read from ring `ring`, in the order the ring holds them.
  void add(uint32_t ring, const tl_record& r) { unpack_record(r, merger_.pending(ring), &flows_); }
  // Passes on the events of every record sent before watermark (CLOCK_MONOTONIC ns); later
  // ones wait, for a ring may still publish a record sent just before it.
  void release(uint64_t watermark) {
    merger_.release(watermark, [this](const Event& e) { join_.push(e, out_); });
  }
  // The end of the trace: every record, and the packets AddressJoin still holds.
  void finish() {
    release(UINT64_MAX);
    join_.flush(out_);
  }

  const AddressJoinStats& joins() const { return join_.stats(); }
  const FlowIdStats& flows() const { return flows_.stats(); }

 private:
  FlowIds flows_;
  RecordMerger merger_;
  AddressJoin join_;
  EventSink out_;
};

}  // namespace tunlat
