// SPDX-License-Identifier: MIT
// What is known about a trace besides its events: the device, its owners, the kernel's names.
#include "core/model/trace_info.h"

#include <fmt/format.h>

namespace tunlat {

std::string TraceInfo::drop_reason_name(int32_t reason) const {
  auto it = drop_reasons.find(reason);
  if (it == drop_reasons.end()) return std::to_string(reason);
  const std::string& n = it->second;
  for (std::string_view prefix : {"SKB_DROP_REASON_", "SKB_"})
    if (n.rfind(prefix, 0) == 0) return n.substr(prefix.size());
  return n;
}

std::string TraceInfo::location_name(uint64_t addr) const {
  auto it = symbols.find(addr);
  return it != symbols.end() ? it->second : fmt::format("{:#x}", addr);
}

const Owner* TraceInfo::owner_of_socket(uint64_t inode) const {
  for (const Owner& o : owners)
    for (uint64_t s : o.sockets)
      if (s == inode) return &o;
  return nullptr;
}

}  // namespace tunlat
