// SPDX-License-Identifier: MIT
// Packets and pcap-filter expressions the filter is checked on against libpcap: many
// kinds of IP packet (and, on a tap, ARP and LLDP frames), and expressions of every kind
// (hosts, nets, ports, ranges, protocols, IPv6, tcp[tcpflags], and/or/not, lengths).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tunlat::filter_cases {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}

// The L4 header and payload of a packet.
inline Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, size_t payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);
  put32(b, 2000);
  b.push_back(5 << 4);
  b.push_back(flags);
  put16(b, 65535);
  put32(b, 0);
  b.resize(b.size() + payload, 0xab);
  return b;
}
inline Bytes udp(uint16_t sport, uint16_t dport, size_t payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<uint16_t>(8 + payload));
  put16(b, 0);
  b.resize(b.size() + payload, 0xcd);
  return b;
}
inline Bytes icmp(uint8_t type, uint16_t id, uint16_t seq) {
  Bytes b{type, 0, 0, 0};
  put16(b, id);
  put16(b, seq);
  b.resize(b.size() + 56, 0x11);
  return b;
}
inline Bytes ipv4(uint32_t src, uint32_t dst, uint8_t proto, const Bytes& l4, uint16_t frag = 0) {
  Bytes b{0x45, 0};
  put16(b, static_cast<uint16_t>(20 + l4.size()));
  put16(b, 1);
  put16(b, frag);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  put32(b, src);
  put32(b, dst);
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}
inline Bytes ipv6(uint8_t src_last, uint8_t dst_last, uint8_t next, const Bytes& l4) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<uint16_t>(l4.size()));
  b.push_back(next);
  b.push_back(64);
  for (uint8_t last : {src_last, dst_last}) {
    Bytes a{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
    b.insert(b.end(), a.begin(), a.end());
  }
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}
inline Bytes ether(uint16_t type, const Bytes& payload, uint8_t dst_last = 2) {
  Bytes b{0x02, 0, 0, 0, 0, dst_last, 0x02, 0, 0, 0, 0, 1};
  put16(b, type);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}
inline Bytes arp() {
  Bytes b;
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, 1);
  Bytes rest{2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

inline constexpr uint32_t A = 0x0a000001, B = 0x0a000002, C = 0xc0a80105;

// IP packets of many kinds; for a tap each in an Ethernet frame.
inline std::vector<Bytes> ip_packets() {
  return {
      ipv4(A, B, 6, tcp(40000, 5201, 0x02, 0)),
      ipv4(B, A, 6, tcp(5201, 40000, 0x12, 0)),
      ipv4(A, B, 6, tcp(40000, 5201, 0x18, 1400)),
      ipv4(B, A, 6, tcp(5201, 40000, 0x10, 0)),
      ipv4(A, B, 6, tcp(40000, 5201, 0x11, 0)),
      ipv4(A, B, 6, tcp(40000, 5201, 0x04, 0)),
      ipv4(A, C, 6, tcp(33000, 443, 0x18, 200)),
      ipv4(A, B, 17, udp(50000, 5202, 64)),
      ipv4(B, A, 17, udp(5202, 50000, 1200)),
      ipv4(A, C, 17, udp(53000, 53, 40)),
      ipv4(A, B, 1, icmp(8, 7, 1)),
      ipv4(B, A, 1, icmp(0, 7, 1)),
      ipv4(A, B, 47, Bytes(40, 0)),
      ipv4(A, B, 17, udp(50000, 5202, 64), 0x0010),
      ipv6(1, 2, 6, tcp(40000, 5201, 0x18, 100)),
      ipv6(2, 1, 6, tcp(5201, 40000, 0x10, 0)),
      ipv6(1, 2, 17, udp(50000, 5202, 64)),
      ipv6(1, 2, 58, icmp(128, 9, 3)),
      ipv6(2, 1, 58, icmp(129, 9, 3)),
      ipv4(A, B, 6, tcp(5000, 5500, 0x10, 10)),
  };
}

inline std::vector<Bytes> tap_packets() {
  std::vector<Bytes> out;
  for (const Bytes& p : ip_packets()) out.push_back(ether((p[0] >> 4) == 6 ? 0x86dd : 0x0800, p));
  out.push_back(ether(0x0806, arp(), 0xff));
  out.push_back(ether(0x88cc, Bytes(50, 0)));
  return out;
}

inline const std::vector<std::string> kExpressions = {
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "ip",
    "ip6",
    "arp",
    "host 10.0.0.1",
    "src host 10.0.0.2",
    "dst host 192.168.1.5",
    "net 10.0.0.0/24",
    "not net 192.168.0.0/16",
    "port 5201",
    "tcp port 5201",
    "udp port 5202",
    "src port 40000",
    "dst port 443 or dst port 53",
    "portrange 5000-5300",
    "tcp portrange 5201-5300",
    "tcp[tcpflags] & tcp-syn != 0",
    "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
    "tcp[tcpflags] == tcp-ack",
    "tcp[tcpflags] & tcp-rst != 0",
    "icmp[icmptype] == icmp-echo",
    "icmp[icmptype] == icmp-echoreply",
    "ip proto 47",
    "ip6 and tcp",
    "ip6 host fd00::1",
    "ip6 net fd00::/64 and udp",
    "icmp6 and ip6[40] == 128",
    "tcp and not port 5201",
    "(tcp or udp) and host 10.0.0.2",
    "not (tcp or udp)",
    "greater 1000",
    "less 100",
    "ip[6:2] & 0x1fff != 0",
    "udp and len > 200",
    "tcp and (tcp[tcpflags] & tcp-push != 0) and dst port 5201",
    "host 10.0.0.1 and host 10.0.0.2 and not icmp",
    "ether host 02:00:00:00:00:02",
    "ether broadcast",
    "ether proto 0x88cc",
};

}  // namespace tunlat::filter_cases
