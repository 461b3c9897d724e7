// SPDX-License-Identifier: MIT
// `tunlat monitor`: every tun/tap device of the host (or those named), aggregated in the
// kernel and served to Prometheus at /metrics (docs/monitor.md).
#pragma once

#include <string>
#include <vector>

namespace tunlat {

struct MonitorArgs {
  std::vector<std::string> devs;   // device name globs, or NETNS/GLOB; none: every device
  std::vector<std::string> netns;  // namespaces (ip netns names or inodes); none: all
  std::string listen = "127.0.0.1:9477";
  double stall_ms = 200;  // a stage holding packets and releasing none this long stalls
  double duration_s = 0;  // 0: until SIGINT/SIGTERM
  double scan_s = 1;      // how often devices are looked for
  uint32_t sample = 1;    // follow 1 packet in this many (bpf/monitor.bpf.c)
  bool verbose = false;
};

int run_monitor(const MonitorArgs& a);

// "ADDR:PORT" or "[ADDR6]:PORT" as civetweb takes it; throws Fatal (exit 2) naming what
// is wrong. Exposed for tests.
std::string check_listen(const std::string& listen);

}  // namespace tunlat
