// SPDX-License-Identifier: MIT
// Flows as ingest names them: a packet's summary gives its flow an id once, for both
// directions; the host's own socket's records name the same flow.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <vector>

#include "core/analyse/flows.h"
#include "core/ingest/record_unpack.h"
#include "core/report/flows_report.h"
#include "events.h"

using namespace tunlat;
using tunlat::test::decoded;

namespace {

uint32_t ip4(const char* s) {
  uint32_t v;
  inet_pton(AF_INET, s, &v);
  return v;  // network order, as the kernel stores it
}

// A packet's first record (TX: at xmit) with its summary.
tl_record first_record(uint8_t dir, const tl_sum& sum, uint64_t skb, uint32_t gen) {
  tl_record r{};
  r.slot.skb = skb;
  r.slot.t0 = 1'000'000 + gen;
  r.slot.gen = gen;
  r.slot.len = 1514;
  r.slot.state = dir == TL_RX ? TL_ST_RX : 0;
  r.slot.unsent = dir == TL_RX ? 1 : (1 | 8);
  r.slot.start_flags = TL_F_FIRST;
  r.end.point = dir == TL_RX ? TL_RECEIVE : TL_POINT_COUNT;
  r.end.ts_ns = r.slot.t0 + 500;
  r.end.summary = 1;
  r.end.sum = sum;
  return r;
}

tl_sum tcp_sum(const char* src, const char* dst, uint16_t sp, uint16_t dp, uint32_t seq, uint16_t payload) {
  tl_sum s{};
  s.ethertype = 0x0800;
  s.proto = 6;
  s.saddr = ip4(src);
  s.daddr = ip4(dst);
  s.sport = sp;
  s.dport = dp;
  s.seq = seq;
  s.ack = 7;
  s.win = 512;
  s.payload = payload;
  s.tcp_flags = 0x10;
  return s;
}

}  // namespace

TEST(Flows, FirstRecordNamesItsFlowOnceForBothDirections) {
  FlowIds ids;
  std::vector<Event> out;
  unpack_record(first_record(TL_TX, tcp_sum("10.0.0.1", "10.0.0.2", 40000, 5201, 100, 1448), 0x1000, 1), out,
                &ids);
  ASSERT_EQ(out.size(), 3u);  // the flow's definition, then queue and xmit
  EXPECT_EQ(out[0].point, TL_FLOW);
  const FlowKey k = flow_key_of(out[0]);
  EXPECT_EQ(flow_name(k), "TCP 10.0.0.1:40000 <> 10.0.0.2:5201");
  EXPECT_TRUE(out[1].flags & TL_F_SUMMARY);
  EXPECT_FALSE(out[2].flags & TL_F_SUMMARY);
  const PacketSummary s = summary_of(out[1]);
  EXPECT_EQ(s.flow, out[0].pid);
  EXPECT_EQ(s.seq, 100u);
  EXPECT_EQ(out[1].aux, 1448u);

  // The reply, RX: the same flow, no second definition.
  out.clear();
  unpack_record(first_record(TL_RX, tcp_sum("10.0.0.2", "10.0.0.1", 5201, 40000, 9, 0), 0x2000, 2), out,
                &ids);
  ASSERT_EQ(out.size(), 2u);  // inject, receive
  EXPECT_EQ(summary_of(out[0]).flow, s.flow);
  EXPECT_EQ(ids.stats().flows, 1u);
}

TEST(Flows, Ipv6AddressesComeFromTheirRecord) {
  FlowIds ids;
  std::vector<Event> out;
  tl_record a{};
  a.end.point = TL_ADDR6;
  inet_pton(AF_INET6, "fd00::1", a.addr6.addr[0]);
  inet_pton(AF_INET6, "fd00::2", a.addr6.addr[1]);
  a.addr6.hash[0] = tl_addr6_hash(a.addr6.addr[0]);
  a.addr6.hash[1] = tl_addr6_hash(a.addr6.addr[1]);
  unpack_record(a, out, &ids);
  EXPECT_TRUE(out.empty());
  tl_sum s{};
  s.ethertype = 0x86dd;
  s.proto = 17;
  s.saddr = a.addr6.hash[0];
  s.daddr = a.addr6.hash[1];
  s.sport = 5353;
  s.dport = 53;
  unpack_record(first_record(TL_TX, s, 0x3000, 3), out, &ids);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(flow_name(flow_key_of(out[0])), "UDP [fd00::1]:5353 <> [fd00::2]:53");
}

TEST(Flows, OldRecordsAndCommsHaveNoFlow) {
  FlowIds ids;
  std::vector<Event> out;
  tl_record r = first_record(TL_TX, tcp_sum("10.0.0.1", "10.0.0.2", 1, 2, 3, 4), 0x1000, 1);
  r.end.summary = 0;  // what a kernel without summaries sends
  unpack_record(r, out, &ids);
  for (const Event& e : out) EXPECT_FALSE(e.flags & TL_F_SUMMARY);
  EXPECT_EQ(ids.stats().flows, 0u);
}

// The host's own socket: tcp_retransmit_skb names the socket's flow the way the flow's
// TX packets name it, and tcp_probe's samples come with the ACKs it takes (not data).
TEST(Flows, TheHostsOwnSocket) {
  FlowIds ids;
  std::vector<Event> out;
  const tl_sum sum = tcp_sum("10.0.0.1", "10.0.0.2", 40000, 5201, 1, 1448);
  unpack_record(first_record(TL_TX, sum, 0x1000, 1), out, &ids);
  ASSERT_EQ(ids.stats().flows, 1u);

  // As bpf/tunlat.bpf.c fills it from the socket: addresses in network order, ports in
  // host order, the host's side as a TX packet's source.
  tl_record re{};
  re.end.point = TL_RETRANS;
  re.end.ts_ns = 5'000'000;
  re.end.aux = 1514;
  re.end.summary = TL_X_SUM;
  re.end.code = 2;  // a GSO skb of two segments
  re.end.sum.ethertype = 0x0800;
  re.end.sum.proto = 6;
  re.end.sum.saddr = ip4("10.0.0.1");
  re.end.sum.daddr = ip4("10.0.0.2");
  re.end.sum.sport = 40000;
  re.end.sum.dport = 5201;
  out.clear();
  unpack_record(re, out, &ids);
  ASSERT_EQ(out.size(), 1u) << "the flow is known: no new definition";
  EXPECT_EQ(ids.stats().flows, 1u);
  ASSERT_TRUE(out[0].flags & TL_F_SUMMARY);
  EXPECT_EQ(summary_of(out[0]).flow, 1u);

  FlowTable t;
  t.define(decoded<FlowDefinition>(flow_event(FlowKey{0x0800, 6, 4, {}, {}, 40000, 5201}, 1, 0)));
  t.on_host_retransmit(decoded<HostRetransmit>(out[0]));
  t.on_host_retransmit(decoded<HostRetransmit>(out[0]));
  EXPECT_EQ(t.flows().at(1).dirs[0].host_retransmits, 4u) << "segments, not calls";
  EXPECT_EQ(t.host_retransmits(), 4u);

  // tcp_probe's sample rides on the TAKEN event, outside the comms.
  tl_record tk{};
  tk.slot.skb = 0x2000;
  tk.slot.gen = 9;
  tk.slot.state = TL_ST_RX;
  tk.end.point = TL_TAKEN;
  tk.end.ts_ns = 6'000'000;
  tk.end.summary = TL_X_TCP;
  tk.end.tcp = tl_tcp_sample{42, 1500, 30, 65535};
  out.clear();
  unpack_record(tk, out, &ids);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].flags & TL_F_TCP_SAMPLE);
  EXPECT_EQ(tcp_sample_of(out[0]).snd_cwnd, 42u);
  EXPECT_EQ(tcp_sample_of(out[0]).srtt_us, 1500u);

  Journey ack;
  ack.dir = Dir::Rx;
  ack.sum.flow = 1;
  ack.payload = 0;
  ack.has_tcp = true;
  for (uint32_t cwnd : {10u, 20u, 30u}) {
    ack.tcp = tl_tcp_sample{cwnd, cwnd * 100, cwnd / 2, 1000 * cwnd};
    t.count(ack, -1);
  }
  Journey data = ack;  // data taken by a local receiver: its cwnd says nothing
  data.payload = 1448;
  data.tcp.snd_cwnd = 99;
  t.count(data, -1);
  const LocalSocket& l = t.flows().at(1).dirs[0].local;
  EXPECT_EQ(l.samples, 3u);
  EXPECT_EQ(l.cwnd_last, 30u);
  EXPECT_EQ(l.cwnd_max, 30u);
  EXPECT_DOUBLE_EQ(l.cwnd_mean(), 20.0);
  EXPECT_EQ(l.in_flight_max, 15u);
  EXPECT_EQ(l.peer_window_min, 10000u);
  EXPECT_EQ(l.srtt.count(), 3u);

  const Json j = flows_json(t, "on");
  EXPECT_EQ(j["host_retransmits"], 4);
  EXPECT_EQ(j["flows"][0]["tx"]["host_retransmits"], 4);
  EXPECT_EQ(j["flows"][0]["tx"]["local_socket"]["cwnd_max"], 30);
  EXPECT_TRUE(j["flows"][0]["rx"]["local_socket"].is_null());
  // A recording made before the host's count existed: unknown, not 0.
  const Json old = flows_json(t, "");
  EXPECT_TRUE(old["host_retransmits"].is_null());
  EXPECT_TRUE(old["flows"][0]["tx"]["host_retransmits"].is_null());
}
