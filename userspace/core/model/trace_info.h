// What is known about a trace besides its events: the device, its owners, the kernel's names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tunlat {

struct Owner {
  uint32_t pid = 0;
  std::string comm;
};

struct TraceInfo {
  std::string tunlat_version;
  std::string kernel;  // uname release of the traced machine
  std::string dev_name;
  uint32_t ifindex = 0;
  std::string netns_name;  // as given (ip netns name, path or pid); empty = tunlat's own
  uint64_t netns_inode = 0;
  std::string kind;  // "tap" | "tun" | "other"
  std::vector<Owner> owners;
  int64_t clock_offset_ns = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC: event ts -> wall clock
  uint64_t start_ns = 0, end_ns = 0;  // CLOCK_MONOTONIC bounds of the capture
  uint64_t events_lost = 0;           // events the kernel could not write (ring full)
  uint32_t sample = 1;                // 1 packet in this many was followed (--sample)
  std::map<int32_t, std::string> drop_reasons;  // enum skb_drop_reason, from the kernel's BTF
  std::map<uint64_t, std::string> symbols;      // drop locations -> function name
};

}  // namespace tunlat
