// SPDX-License-Identifier: MIT
// Names of flows for reports: made from numbers only, so they need no escaping.
#include "core/model/flow.h"

#include <arpa/inet.h>
#include <fmt/format.h>

namespace tunlat {

std::string flow_protocol(const FlowKey& k) {
  if (k.family == 4 || k.family == 6) {
    switch (k.proto) {
      case 6:
        return "TCP";
      case 17:
        return "UDP";
      case 1:
        return "ICMP";
      case 58:
        return "ICMPv6";
      default:
        return fmt::format("IPv{} proto {}", k.family, k.proto);
    }
  }
  if (k.ethertype == 0x0806) return "ARP";
  if (k.ethertype == 0) return "unknown";
  return fmt::format("ethertype 0x{:04x}", k.ethertype);
}

static bool has_ports(const FlowKey& k) { return k.proto == 6 || k.proto == 17; }

std::string flow_endpoint(const FlowKey& k, bool side_a) {
  const auto& addr = side_a ? k.a : k.b;
  char buf[INET6_ADDRSTRLEN] = "";
  if (k.family == 4)
    inet_ntop(AF_INET, addr.data(), buf, sizeof(buf));
  else if (k.family == 6)
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
  else
    return "";
  if (!has_ports(k)) return buf;
  return k.family == 6 ? fmt::format("[{}]:{}", buf, side_a ? k.pa : k.pb)
                       : fmt::format("{}:{}", buf, side_a ? k.pa : k.pb);
}

std::string flow_name(const FlowKey& k) {
  std::string proto = flow_protocol(k);
  if (k.family != 4 && k.family != 6) return proto;
  std::string s = fmt::format("{} {} <> {}", proto, flow_endpoint(k, true), flow_endpoint(k, false));
  if ((k.proto == 1 || k.proto == 58) && k.pb) s += fmt::format(" id {}", k.pb);
  return s;
}

}  // namespace tunlat
