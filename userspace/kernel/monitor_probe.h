// SPDX-License-Identifier: MIT
// The monitor's BPF programs (bpf/monitor.bpf.c): loaded once for every device watched,
// told which devices those are, and read. Thin: what the numbers mean is the core's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "monitor.h"
}

namespace tunlat {

class KernelBtf;

// A device to watch and the index its counters go under (< TL_MON_DEVS).
struct WatchedDevice {
  uint64_t netns = 0;  // its namespace's inode
  uint32_t ifindex = 0;
  uint32_t index = 0;
};

struct MonitorDrop {
  tl_mon_drop_key key{};
  uint64_t count = 0;
};

class MonitorProbe {
 public:
  // Loads and attaches the programs, following 1 packet in `sample` (bpf/monitor.bpf.c).
  // Throws Fatal with libbpf's reason and a hint.
  MonitorProbe(const KernelBtf& btf, bool verbose, uint32_t sample = 1);
  ~MonitorProbe();
  MonitorProbe(const MonitorProbe&) = delete;
  MonitorProbe& operator=(const MonitorProbe&) = delete;

  // The devices watched from now on, replacing the last set. An index new to the set has
  // its counters zeroed first: a device that came back (another ifindex) starts afresh.
  void watch(const std::vector<WatchedDevice>& devices);
  // The sockets of the processes holding the devices (inode -> the device's index), from
  // now on: a drop on one is the device's underlay's (scope underlay).
  void set_owner_sockets(const std::vector<std::pair<uint64_t, uint32_t>>& socks);
  // What every CPU added up for the device at index, summed.
  tl_mon_dev_stats read(uint32_t index) const;
  // Its queue stages alone, summed (last_out_ns: the latest of the CPUs'): for polling.
  tl_mon_stage_stats read_stages(uint32_t index) const;
  // Drops of the watched devices' packets, summed over the CPUs.
  std::vector<MonitorDrop> drops() const;
  // "tunlat_monitor_bpf (...)": the variant loaded, for -v.
  const std::string& variant() const { return variant_; }

  struct Bpf;  // the skeleton, either variant (monitor_probe.cpp)

 private:
  std::unique_ptr<Bpf> bpf_;
  std::vector<WatchedDevice> watched_;
  std::string variant_;
  int ncpu_ = 1;
};

}  // namespace tunlat
