// SPDX-License-Identifier: MIT
// What `tunlat monitor` knows at one moment, as plain data: each device watched with the
// kernel's sums for it, its stages' stalls and its owners' CPU time; the drops. The
// metrics (metrics.h) are made from this, so that they are tested without a kernel.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "monitor.h"
}

namespace tunlat {

struct StageState {
  uint64_t held = 0;
  uint64_t stalls = 0;
  double stall_seconds = 0;
};

struct OwnerCpu {
  uint32_t pid = 0;
  std::string comm;
  double cpu_seconds = 0;  // user + system since the process started
};

struct MonitoredDevice {
  std::string device;  // its name
  std::string netns;   // its namespace's `ip netns` name, else its inode in decimal
  tl_mon_dev_stats stats{};
  std::array<StageState, TL_MON_STAGES> stages{};
  std::vector<OwnerCpu> owners;
};

struct DropCount {
  size_t device = 0;  // index in MonitorSnapshot::devices
  int dir = 0;        // 0 TX, 1 RX
  std::string scope;  // "device" (its own packets) | "underlay" (its VPN's sockets)
  std::string reason, location;
  uint64_t count = 0;
};

struct MonitorSnapshot {
  std::vector<MonitoredDevice> devices;
  std::vector<DropCount> drops;
  std::string version;
  uint32_t sample = 1;  // 1 packet in this many followed: what only it tells counts this many
};

}  // namespace tunlat
