// SPDX-License-Identifier: MIT
// --pcapng on synthetic events: the blocks a reader needs, each packet's bytes and comment.
#include "core/report/pcapng.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/ingest/record_unpack.h"
#include "events.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

// One block read back: its type, body, and options by code (the last of a code wins, and
// every comment is kept).
struct ReadBlock {
  uint32_t type = 0;
  std::string body;  // after type and length, up to the options
  std::map<uint16_t, std::string> opts;
  std::vector<std::string> comments;
};

uint32_t u32_at(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint16_t u16_at(const std::string& s, size_t at) {
  uint16_t v;
  std::memcpy(&v, s.data() + at, 2);
  return v;
}

// Parses a whole file; fails the test on a malformed block. fixed: the bytes of each
// block type's body before its options (the EPB's depend on its captured length).
std::vector<ReadBlock> parse(const std::string& file) {
  std::vector<ReadBlock> out;
  size_t at = 0;
  while (at < file.size()) {
    EXPECT_LE(at + 12, file.size());
    const uint32_t type = u32_at(file, at), len = u32_at(file, at + 4);
    EXPECT_EQ(len % 4, 0u);
    EXPECT_LE(at + len, file.size());
    EXPECT_EQ(u32_at(file, at + len - 4), len) << "trailing length of block " << type;
    const std::string body = file.substr(at + 8, len - 12);
    size_t fixed = type == 0x0A0D0D0A ? 16 : type == 1 ? 8 : 20 + ((u32_at(body, 12) + 3) & ~3u);
    ReadBlock b{type, body.substr(0, fixed), {}, {}};
    for (size_t o = fixed; o + 4 <= body.size();) {
      const uint16_t code = u16_at(body, o), n = u16_at(body, o + 2);
      if (code == 0) break;
      b.opts[code] = body.substr(o + 4, n);
      if (code == 1) b.comments.push_back(b.opts[code]);
      o += 4 + ((n + 3) & ~3u);
    }
    out.push_back(b);
    at += len;
    if (len == 0) break;
  }
  return out;
}

std::vector<uint8_t> frame(size_t n) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; i++) f[i] = static_cast<uint8_t>(i * 7 + 3);
  return f;
}

// A packet's bytes as ingest hands them on.
void push_bytes(Pipeline& p, uint64_t ts_us, uint64_t skb, uint32_t gen, Dir d, const std::vector<uint8_t>& f,
                uint32_t wirelen) {
  Event who{};
  who.ts_ns = ts_us * kUs;
  who.skb = skb;
  who.gen = gen;
  who.dir = static_cast<uint8_t>(d);
  who.len = wirelen;
  std::vector<Event> evs;
  append_bytes_events(who, static_cast<uint32_t>(f.size()), 0, f.data(), f.size(), evs);
  for (const Event& e : evs) p.push(e);
}

TraceInfo tap_info() {
  TraceInfo info;
  info.tunlat_version = "test";
  info.dev_name = "tap0";
  info.netns_name = "vpn";
  info.kind = DeviceKind::Tap;
  info.clock_offset_ns = 1'700'000'000'000'000'000;
  info.drop_reasons[2] = "SKB_DROP_REASON_NOT_SPECIFIED";
  info.symbols[0xffffffff81000010] = "tun_net_xmit";
  return info;
}

}  // namespace

TEST(PcapngDuration, ThreeSignificantDigitsAndAUnit) {
  EXPECT_EQ(pcapng_duration(535), "535ns");
  EXPECT_EQ(pcapng_duration(26'400), "26.4us");
  EXPECT_EQ(pcapng_duration(5'700'000), "5.70ms");
  EXPECT_EQ(pcapng_duration(5'830'000), "5.83ms");
  EXPECT_EQ(pcapng_duration(1'000), "1.00us");
  EXPECT_EQ(pcapng_duration(999'600), "1000us");  // rounding carried: still 3 digits and a unit
  EXPECT_EQ(pcapng_duration(1'200'000'000), "1.20s");
}

TEST(PacketBytes, EventsCarryEveryByteInOrder) {
  const std::vector<uint8_t> f = frame(128);
  Event who{};
  who.skb = 0x1000;
  who.gen = 9;
  who.len = 1500;
  std::vector<Event> evs;
  append_bytes_events(who, 128, 0, f.data(), f.size(), evs);
  ASSERT_EQ(evs.size(), 3u);  // 44 + 44 + 40
  std::vector<uint8_t> back;
  for (const Event& e : evs) {
    PacketBytes b;
    ASSERT_TRUE(packet_bytes_of(e, b));
    EXPECT_EQ(b.offset, back.size());
    EXPECT_EQ(b.caplen, 128u);
    EXPECT_EQ(b.wirelen, 1500u);
    EXPECT_EQ(b.skb, 0x1000u);
    back.insert(back.end(), b.data.begin(), b.data.begin() + b.n);
  }
  EXPECT_EQ(back, f);
  Event bad = evs[0];
  bad.code = static_cast<int32_t>(44 << 16 | 100 << 8 | 128);  // past the capture
  PacketBytes b;
  EXPECT_FALSE(packet_bytes_of(bad, b));
}

TEST(PacketBytes, KernelRecordsUnpackIntoPieces) {
  const std::vector<uint8_t> f = frame(100);
  std::vector<Event> evs;
  for (uint32_t at : {0u, 64u}) {
    tl_record r{};
    std::memcpy(r.bytes.data, f.data() + at, std::min<size_t>(64, f.size() - at));
    r.end.point = TL_BYTES;
    r.end.aux = 0xffff888012345600;
    r.end.pid = 77;
    r.end.tid = 1514;
    r.end.flags = TL_RX;
    r.end.code = static_cast<int32_t>(at << 16 | 100);
    unpack_record(r, evs);
  }
  std::vector<uint8_t> back;
  for (const Event& e : evs) {
    PacketBytes b = decoded<PacketBytes>(e);
    EXPECT_EQ(b.gen, 77u);
    EXPECT_EQ(b.dir, TL_RX);
    EXPECT_EQ(b.offset, back.size());
    back.insert(back.end(), b.data.begin(), b.data.begin() + b.n);
  }
  EXPECT_EQ(back, f);
}

TEST(Pcapng, OneInterfaceAndOnePacketBlockPerPacketCounted) {
  const TraceInfo info = tap_info();
  std::ostringstream out;
  Pipeline p;
  PcapngOutput pcap(out, info, 100, {});
  p.set_bytes_sink(&pcap);
  p.analysis().set_observer(&pcap);

  p.push(comm_event(1, 4252, "openvpn", 1));
  // Packet 1: TX, bytes before its points (as the kernel sends them); ring 5.70 ms.
  const std::vector<uint8_t> f1 = frame(128);
  push_bytes(p, 20, 0x1000, 1, Dir::Tx, f1, 1514);
  for (const Event& e : tx_packet(10, 0x1000, 1, 26, 5700)) p.push(e);
  // Packet 2: TX without bytes (a recording made without them), dropped at xmit.
  p.push(Ev{100, 0x2000, 2, TL_QUEUE});
  p.push(Ev{110, 0x2000, 2, TL_XMIT});
  Event drop = Ev{120, 0x2000, 2, TL_FREE, Dir::Tx, 0, 0, "", TL_F_DROP, 2};
  drop.aux = 0xffffffff81000010;
  p.push(drop);
  // Packet 3: RX, written by the VPN and read by iperf3.
  const std::vector<uint8_t> f3 = frame(60);
  push_bytes(p, 200, 0x3000, 3, Dir::Rx, f3, 60);
  p.push(Ev{200, 0x3000, 3, TL_INJECT, Dir::Rx, 0, 4252, "openvpn", 0, 0, 0, 0, 60});
  p.push(Ev{210, 0x3000, 3, TL_RECEIVE, Dir::Rx});
  p.push(comm_event(211, 999, "iperf3", 0));
  p.push(Ev{230, 0x3000, 3, TL_DELIVER, Dir::Rx, 0, 999, "iperf3"});
  p.push(Ev{231, 0x3000, 3, TL_FREE, Dir::Rx});
  p.flush();

  ASSERT_EQ(p.analysis().total(Dir::Tx).packets, 2u);
  ASSERT_EQ(p.analysis().total(Dir::Rx).packets, 1u);
  const std::vector<ReadBlock> blocks = parse(out.str());
  ASSERT_EQ(blocks.size(), 2u + 3u);
  EXPECT_EQ(blocks[0].type, 0x0A0D0D0Au);
  EXPECT_EQ(u32_at(blocks[0].body, 0), 0x1A2B3C4Du);
  const ReadBlock& idb = blocks[1];
  EXPECT_EQ(idb.type, 1u);
  EXPECT_EQ(u16_at(idb.body, 0), kLinktypeEthernet);
  EXPECT_EQ(u32_at(idb.body, 4), 100u);  // snaplen
  EXPECT_EQ(idb.opts.at(2), "tap0");
  EXPECT_EQ(idb.opts.at(3), "tap tap0 in netns vpn");
  EXPECT_EQ(idb.opts.at(9), std::string(1, '\x09'));

  std::map<std::string, const ReadBlock*> by_dir;
  for (size_t i = 2; i < blocks.size(); i++) {
    const ReadBlock& b = blocks[i];
    EXPECT_EQ(b.type, 6u);
    ASSERT_EQ(b.comments.size(), 1u);
    EXPECT_EQ(b.opts.at(5).size(), 8u);  // epb_packetid
    by_dir[b.comments[0]] = &b;
  }
  const std::string c1 =
      "tunlat dir=tx qdisc=26.0us ring=5.70ms copy=2.00us total=5.73ms reader=openvpn/4252 cpu=1";
  const std::string c2 = "tunlat dir=tx qdisc=10.0us drop=NOT_SPECIFIED@tun_net_xmit";
  const std::string c3 =
      "tunlat dir=rx backlog=10.0us stack=20.0us total=30.0us writer=openvpn/4252 cpu=0 "
      "receiver=iperf3/999";
  ASSERT_TRUE(by_dir.count(c1)) << out.str().size();
  ASSERT_TRUE(by_dir.count(c2));
  ASSERT_TRUE(by_dir.count(c3));

  const ReadBlock& e1 = *by_dir[c1];
  EXPECT_EQ(u32_at(e1.body, 0), 0u);  // interface
  const uint64_t ts1 = uint64_t{u32_at(e1.body, 4)} << 32 | u32_at(e1.body, 8);
  EXPECT_EQ(ts1, info.clock_offset_ns + 10 * kUs);  // its first point, queue
  EXPECT_EQ(u32_at(e1.body, 12), 100u);             // captured: the snaplen
  EXPECT_EQ(u32_at(e1.body, 16), 1514u);            // on the wire
  EXPECT_EQ(e1.body.substr(20, 100), std::string(f1.begin(), f1.begin() + 100));
  EXPECT_EQ(u32_at(e1.opts.at(2), 0), kEpbOutbound);

  const ReadBlock& e2 = *by_dir[c2];
  EXPECT_EQ(u32_at(e2.body, 12), 0u);    // no bytes came
  EXPECT_EQ(u32_at(e2.body, 16), 100u);  // its skb's length

  const ReadBlock& e3 = *by_dir[c3];
  EXPECT_EQ(u32_at(e3.body, 12), 60u);
  EXPECT_EQ(e3.body.substr(20, 60), std::string(f3.begin(), f3.end()));
  EXPECT_EQ(u32_at(e3.opts.at(2), 0), kEpbInbound);
  EXPECT_EQ(pcap.packets(), 3u);
  EXPECT_EQ(pcap.with_bytes(), 2u);
}

TEST(Pcapng, ATunIsRawIpAndNamesAreMadeSafe) {
  TraceInfo info = tap_info();
  info.kind = DeviceKind::Tun;
  info.dev_name = "tun0";
  std::ostringstream out;
  Pipeline p;
  PcapngOutput pcap(out, info, 128, {});
  p.analysis().set_observer(&pcap);
  p.push(comm_event(1, 7, "a b=c", 1));
  for (const Event& e : tx_packet(10, 0x1000, 1, 1, 2, 7, "a b=c")) p.push(e);
  p.flush();
  const std::vector<ReadBlock> blocks = parse(out.str());
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(u16_at(blocks[1].body, 0), kLinktypeRaw);
  ASSERT_EQ(blocks[2].comments.size(), 1u);
  EXPECT_NE(blocks[2].comments[0].find(" reader=a_b_c/7 "), std::string::npos) << blocks[2].comments[0];
}

TEST(Pcapng, PendingBytesAreBounded) {
  const TraceInfo info = tap_info();
  std::ostringstream out;
  PcapngOutput pcap(out, info, 128, {});
  const std::vector<uint8_t> f = frame(40);
  for (uint64_t i = 0; i < PcapngOutput::kMaxPending * 3; i++) {
    Event who{};
    who.skb = 0x1000 + i * 64;
    who.gen = static_cast<uint32_t>(i);
    std::vector<Event> evs;
    append_bytes_events(who, 40, 0, f.data(), f.size(), evs);
    pcap.on_bytes(decoded<PacketBytes>(evs[0]));
  }
  EXPECT_LE(pcap.pending(), PcapngOutput::kMaxPending);
}
