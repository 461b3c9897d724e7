// SPDX-License-Identifier: MIT
// The devices a trace names: --dev DEV (in --netns) or NETNS/DEV, and those --pid holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/netns.h"

namespace tunlat {

// A device to trace, as the user named it.
struct Target {
  std::string label;  // "tap0", "accA/tap0"; --pid's: NETNS/DEV (its ip netns name, or the pid)
  Netns ns;
  Device dev;
};

// Each of devs: DEV in netns, or NETNS/DEV (the last '/' splits: a netns may be a path);
// then each tun/tap device process pid holds (0: none). Throws Fatal: a bad spec or the
// same device twice (usage), a namespace or device not found, a pid that holds none.
std::vector<Target> resolve_targets(const std::vector<std::string>& devs, const std::string& netns,
                                    uint32_t pid);

}  // namespace tunlat
