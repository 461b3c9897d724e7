// SPDX-License-Identifier: MIT
// Writes a crafted recording that grows every table of `tunlat report` it can (issue 19).
//
//   hostile_recording FILE EVENTS
//
// Time stands (nearly) still, so no TTL ever ends a packet and every point waits in its
// reorder window; each packet is new and never freed; every finished one has a pid, a
// drop reason and location, a thread and a CPU of its own; GSO parents pile up. Before
// memory was bounded, `tunlat report` of such a file took ~200 times its size in RSS.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/record/recording.h"

using namespace tunlat;

namespace {

Event ev(uint64_t k, uint64_t skb, int point, int dir, uint16_t flags = 0) {
  Event e{};
  e.ts_ns = 1'000'000'000 + k / 64;  // 1 ns per 64 packets: time stands still
  e.skb = skb;
  e.gen = static_cast<uint32_t>(k) + 1;
  e.point = static_cast<uint8_t>(point);
  e.dir = static_cast<uint8_t>(dir);
  e.cpu = static_cast<uint16_t>(k);  // up to 65535
  e.tid = static_cast<uint32_t>(k) + 1;
  e.pid = e.tid;
  e.flags = flags;
  e.len = 1500;
  std::snprintf(e.comm, sizeof e.comm, "t%u", static_cast<unsigned>(k % 1000000000u));
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FILE EVENTS\n", argv[0]);
    return 2;
  }
  const uint64_t events = std::strtoull(argv[2], nullptr, 10);
  TraceInfo info;
  info.tunlat_version = "0.1.0";
  info.dev_name = "tap0";
  info.kind = DeviceKind::Tap;
  info.start_ns = 1'000'000'000;
  RecordingWriter w(argv[1], info);
  for (uint64_t k = 0, n = 0; n < events; k++, n += 5) {
    w.write(ev(k, k << 8, TL_QUEUE, TL_TX));           // never freed: waits in the correlator
    Event in = ev(k, (k << 8) | 1, TL_INJECT, TL_RX);  // a writer pid of its own ...
    Event drop = ev(k, (k << 8) | 1, TL_FREE, TL_RX, TL_F_DROP);
    drop.code = static_cast<int32_t>(k);  // ... and a drop reason and location of its own
    drop.aux = 0xffffffff81000000ull + k;
    w.write(in);
    w.write(drop);
    w.write(ev(k, (k << 8) | 2, TL_QUEUE, TL_TX, TL_F_GSO));  // a GSO parent, segmented
    w.write(ev(k, (k << 8) | 2, TL_FREE, TL_TX, TL_F_GSO));
  }
  info.end_ns = info.start_ns + 1'000'000'000;
  w.finish(info);
  return 0;
}
