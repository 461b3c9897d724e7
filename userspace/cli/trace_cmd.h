// SPDX-License-Identifier: MIT
// `tunlat trace`: attach to a live device, show live blocks, end with the final report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/final_report.h"
#include "cli/pcapng_out.h"

namespace tunlat {

struct TraceArgs {
  std::vector<std::string> devs;  // DEV, or NETNS/DEV; several: each its own report
  std::string netns;              // of a plain DEV
  uint32_t pid = 0;               // also every tun/tap device this process holds
  double duration_s = 0;          // 0 = until Ctrl-C / SIGTERM
  double interval_s = 1;
  std::string json_path;
  std::string record_path;  // every event, for `tunlat report`
  uint32_t sample = 1;      // follow 1 packet in N
  std::string filter;       // pcap-filter expression: follow only the packets it takes
  double stall_ms = 200;    // a queue stage releasing nothing this long is a stall
  bool verbose = false;
  bool quiet = false;  // no live blocks
  VisualArgs visual;
  PcapngArgs pcapng;  // --pcapng: the kernel sends each followed packet's first bytes
  bool sched = true;  // follow the owners' scheduling; --no-sched turns it off
};

int run_trace(const TraceArgs& a);

}  // namespace tunlat
