// SPDX-License-Identifier: MIT
// A packet told in one line from its flow and summary.
#include <gtest/gtest.h>

#include "core/model/flow.h"

using namespace tunlat;

TEST(Flows, APacketInOneLine) {
  const FlowKey tcp{0x0800, 6, 4, {10, 0, 0, 1}, {10, 0, 0, 2}, 40000, 5201};
  EXPECT_EQ(packet_line(&tcp, PacketSummary{1, 7, 0, 0, 0x02, 0}, 0, Dir::Tx),
            "TCP SYN 10.0.0.1:40000 > 10.0.0.2:5201 seq 7 len 0");
  EXPECT_EQ(packet_line(&tcp, PacketSummary{1, 9, 8, 0, 0x10, 0}, 1448, Dir::Rx),
            "TCP data 10.0.0.2:5201 > 10.0.0.1:40000 seq 9 len 1448");
  EXPECT_EQ(packet_kind(&tcp, PacketSummary{1, 9, 8, 0, 0x10, 0}, 0), "TCP ACK");
  const FlowKey icmp{0x0800, 1, 4, {10, 0, 0, 1}, {10, 0, 0, 2}, 0, 77};
  EXPECT_EQ(packet_line(&icmp, PacketSummary{2, 3, 0, 0 << 8, 0, 0}, 0, Dir::Rx),
            "ICMP echo reply 10.0.0.2 > 10.0.0.1 id 77 seq 3");
  const FlowKey unreach{0x0800, 1, 4, {10, 0, 0, 1}, {10, 0, 0, 2}, 0, 0};
  EXPECT_EQ(packet_line(&unreach, PacketSummary{3, 0, 0, 3 << 8 | 1, 0, 0}, 0, Dir::Tx),
            "ICMP destination unreachable 10.0.0.1 > 10.0.0.2");
  const FlowKey ns6{0x86dd, 58, 6, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {0xff, 2}, 0, 0};
  EXPECT_EQ(packet_kind(&ns6, PacketSummary{4, 0, 0, 135 << 8, 0, 0}, 0), "ICMPv6 neighbour solicitation");
  const FlowKey arp{0x0806, 0, 0, {}, {}, 0, 0};
  EXPECT_EQ(packet_line(&arp, PacketSummary{5}, 0, Dir::Tx), "ARP");
  EXPECT_EQ(packet_line(nullptr, PacketSummary{}, 0, Dir::Tx), "packet");
}
