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

static std::string icmp_kind(uint8_t proto, uint16_t type_code) {
  const int type = type_code >> 8, code = type_code & 0xff;
  const bool v6 = proto == 58;
  const char* name = nullptr;
  if (!v6) {
    switch (type) {
      case 0:
        name = "echo reply";
        break;
      case 3:
        name = "destination unreachable";
        break;
      case 8:
        name = "echo request";
        break;
      case 11:
        name = "time exceeded";
        break;
      default:
        break;
    }
  } else {
    switch (type) {
      case 1:
        name = "destination unreachable";
        break;
      case 3:
        name = "time exceeded";
        break;
      case 128:
        name = "echo request";
        break;
      case 129:
        name = "echo reply";
        break;
      case 133:
        name = "router solicitation";
        break;
      case 134:
        name = "router advertisement";
        break;
      case 135:
        name = "neighbour solicitation";
        break;
      case 136:
        name = "neighbour advertisement";
        break;
      default:
        break;
    }
  }
  const char* p = v6 ? "ICMPv6" : "ICMP";
  return name ? fmt::format("{} {}", p, name) : fmt::format("{} type {} code {}", p, type, code);
}

static bool is_icmp_echo(const FlowKey& k, const PacketSummary& s) {
  const int type = s.win >> 8;
  return k.proto == 1 ? (type == 0 || type == 8) : (type == 128 || type == 129);
}

std::string packet_kind(const FlowKey* k, const PacketSummary& s, uint32_t payload) {
  if (!k || (k->ethertype == 0 && k->family == 0)) return "packet";
  if (k->family == 4 || k->family == 6) {
    switch (k->proto) {
      case 1:
      case 58:
        return icmp_kind(k->proto, s.win);
      case 6:
        if (s.tcp_flags & 0x04) return "TCP RST";
        if (s.tcp_flags & 0x02) return (s.tcp_flags & 0x10) ? "TCP SYN-ACK" : "TCP SYN";
        if (s.tcp_flags & 0x01) return "TCP FIN";
        return payload ? "TCP data" : "TCP ACK";
      case 17:
        return "UDP datagram";
      default:
        break;
    }
  }
  return flow_protocol(*k);
}

std::string packet_line(const FlowKey* k, const PacketSummary& s, uint32_t payload, Dir d) {
  std::string line = packet_kind(k, s, payload);
  if (!k || (k->family != 4 && k->family != 6)) return line;
  const bool out = d == Dir::Tx;  // TX goes from the host's side (a) to the peer's (b)
  line += fmt::format(" {} > {}", flow_endpoint(*k, out), flow_endpoint(*k, !out));
  if ((k->proto == 1 || k->proto == 58) && is_icmp_echo(*k, s))
    line += fmt::format(" id {} seq {}", k->pb, s.seq);
  else if (k->proto == 6)
    line += fmt::format(" seq {} len {}", s.seq, payload);
  else if (k->proto == 17)
    line += fmt::format(" len {}", payload);
  return line;
}

}  // namespace tunlat
