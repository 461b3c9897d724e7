// SPDX-License-Identifier: MIT
#include "cli/trace_targets.h"

#include <fmt/format.h>

#include "core/format/format.h"
#include "fatal.h"

namespace tunlat {

std::vector<Target> resolve_targets(const std::vector<std::string>& devs, const std::string& netns,
                                    uint32_t pid) {
  std::vector<Target> out;
  for (const std::string& spec : devs) {
    const size_t slash = spec.rfind('/');
    if (slash == 0 || slash + 1 == spec.size())
      throw Fatal(fmt::format("bad --dev '{}': give DEV or NETNS/DEV", term_safe(spec)), kExitUsage);
    if (slash != std::string::npos && !netns.empty())
      throw Fatal(fmt::format("--dev '{}' names its netns: give --netns only with plain device names",
                              term_safe(spec)),
                  kExitUsage);
    Target t;
    t.label = spec;
    t.ns = resolve_netns(slash == std::string::npos ? netns : spec.substr(0, slash));
    t.dev = resolve_device(t.ns, slash == std::string::npos ? spec : spec.substr(slash + 1));
    out.push_back(std::move(t));
  }
  if (pid) {
    const std::vector<NetnsDevice> held = devices_held_by(pid);
    if (held.empty()) throw Fatal(fmt::format("process {} holds no tun/tap device", pid));
    for (const NetnsDevice& d : held)
      out.push_back({(d.ns.name.empty() ? std::to_string(pid) : d.ns.name) + "/" + d.dev.name, d.ns, d.dev});
  }
  for (size_t i = 0; i < out.size(); i++)
    for (size_t k = 0; k < i; k++)
      if (out[k].ns.inode == out[i].ns.inode && out[k].dev.ifindex == out[i].dev.ifindex)
        throw Fatal(
            fmt::format("{} and {} are the same device", term_safe(out[k].label), term_safe(out[i].label)),
            kExitUsage);
  return out;
}

}  // namespace tunlat
