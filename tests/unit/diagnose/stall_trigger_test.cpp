// SPDX-License-Identifier: MIT
// What ended a stuck stall (seed 004): the unrelated packet whose arrival woke the reader,
// not merely the first packet out; and no such claim where timing does not support it.
#include <gtest/gtest.h>

#include <sstream>

#include "core/diagnose/findings.h"
#include "core/pipeline.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr uint64_t kMs = 1000;  // in the test streams' microseconds
constexpr uint32_t kReader = 4252, kIperf = 555, kPing = 777;
constexpr uint32_t kTcpFlow = 1, kIcmpFlow = 2;

TraceInfo info_from_zero() {
  TraceInfo i = sample_trace_info();
  i.start_ns = 0;
  return i;
}

// A TX packet that the kernel named (its summary in its first event) and whose sender it
// saw at queue: queued at q, handed to the device 2 us later, read at r by the reader.
std::vector<Event> tx(uint64_t q, uint64_t skb, uint32_t gen, uint64_t r, const PacketSummary& s,
                      uint32_t payload, uint32_t sender, uint32_t reader = kReader) {
  Event first = Ev{q, skb, gen, TL_QUEUE, Dir::Tx, 0, sender, "", TL_F_FIRST};
  set_summary(first, s, payload);
  return {first, Ev{q + 2, skb, gen, TL_XMIT}, Ev{r, skb, gen, TL_READ, Dir::Tx, 1, reader},
          Ev{r + 2, skb, gen, TL_FREE, Dir::Tx, 1, reader}};
}

// A transfer through an OpenVPN-like reader: the flows and the threads' names first, as
// ingest passes them on, then packets in the order they leave the ring.
struct Lab {
  Pipeline p;
  uint64_t skb = 0x1000;
  uint32_t gen = 1, seq = 1000;

  Lab() {
    p.push(flow_event(FlowKey{0x0800, 6, 4, {10, 8, 0, 1}, {10, 8, 0, 2}, 40112, 5201}, kTcpFlow, 1));
    p.push(flow_event(FlowKey{0x0800, 1, 4, {10, 8, 0, 1}, {10, 8, 0, 2}, 0, 7}, kIcmpFlow, 1));
    p.push(Ev{1, 0, 0, TL_COMM, Dir::Tx, 0, kReader, "openvpn"});
    p.push(Ev{1, 0, 0, TL_COMM, Dir::Tx, 0, kIperf, "iperf3"});
    p.push(Ev{1, 0, 0, TL_COMM, Dir::Tx, 0, kPing, "ping"});
  }
  void push(const std::vector<Event>& evs) {
    for (const Event& e : evs) p.push(e);
  }
  // A TCP segment of 1448 bytes queued by iperf3 (or by `sender`) at q, read at r.
  void tcp(uint64_t q, uint64_t r, uint32_t sender = kIperf) {
    push(tx(q, skb++, gen++, r, PacketSummary{kTcpFlow, seq, 1, 500, 0x10, 0}, 1448, sender));
    seq += 1448;
  }
  void ping(uint64_t q, uint64_t r, uint32_t sender = kPing) {
    push(tx(q, skb++, gen++, r, PacketSummary{kIcmpFlow, 1, 0, 8 << 8, 0, 0}, 56, sender));
  }
  // n segments 100 us apart from `from`, each read at once.
  uint64_t prompt(uint64_t from, int n) {
    for (int i = 0; i < n; i++) tcp(from + i * 100, from + i * 100 + 30);
    return from + n * 100;
  }
};

}  // namespace

// Seed 004: the TCP segments wait in the ring until a ping of another flow goes through,
// then the reader reads them all, the ping last.
TEST(StallTrigger, AStallEndedByAnUnrelatedPingIsPutDownToThePing) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  // The reader holds: 20 segments queue, 100 us apart, for a second.
  const uint64_t held_from = t, ping_at = t + 1000 * kMs, read_from = ping_at + 50;
  for (int i = 0; i < 20; i++) lab.tcp(held_from + i * 100, read_from + i * 10);
  lab.ping(ping_at, read_from + 200);
  lab.prompt(read_from + 300, 20);
  lab.p.flush();

  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  const Stall& s = stalls[0];
  EXPECT_EQ(s.stage, Span::Ring);
  EXPECT_EQ(s.queued, 21u);  // the 20 segments and the ping entered before the first read
  EXPECT_EQ(s.start_ns, (held_from + 2) * kUs);
  EXPECT_EQ(s.end_ns, read_from * kUs);
  ASSERT_TRUE(s.triggered) << "the ping's arrival was not found";
  EXPECT_EQ(s.trigger.arrive_ns, ping_at * kUs);
  EXPECT_EQ(s.trigger.arrive_point, TL_QUEUE);
  EXPECT_EQ(s.trigger.pid, kPing);
  EXPECT_EQ(comm_string(s.trigger.comm), "ping");
  EXPECT_EQ(s.trigger.sum.flow, kIcmpFlow);
  EXPECT_TRUE(s.trigger.new_flow);
  EXPECT_EQ(comm_string(s.ended_by.comm), "openvpn");  // the first out is still known
  EXPECT_EQ(s.ended_by.sum.flow, kTcpFlow);

  Json doc = summarized(info_from_zero(), lab.p);
  ASSERT_EQ(doc["stalls"].size(), 1u);
  const Json& e = doc["stalls"][0]["ended_by"];
  EXPECT_EQ(e["cause"], "arrival");
  EXPECT_EQ(e["packet"], "ICMP echo request");
  EXPECT_EQ(e["summary"], "ICMP echo request 10.8.0.1 > 10.8.0.2 id 7 seq 1");
  EXPECT_EQ(e["flow"], "ICMP 10.8.0.1 <> 10.8.0.2 id 7");
  EXPECT_EQ(e["comm"], "ping");
  EXPECT_EQ(e["pid"], kPing);
  EXPECT_EQ(e["point"], "queue");
  EXPECT_NEAR(e["lead_us"].get<double>(), 50.0, 0.01);
  EXPECT_EQ(e["resumed_by"]["comm"], "openvpn");
  EXPECT_EQ(e["resumed_by"]["point"], "read");
  const Json& first = doc["stalls"][0]["first_out"];
  EXPECT_EQ(first["comm"], "openvpn");
  EXPECT_EQ(first["point"], "read");
  EXPECT_EQ(first["summary"], "TCP data 10.8.0.1:40112 > 10.8.0.2:5201 seq 73400 len 1448")
      << "the first out is the oldest waiting segment";

  std::ostringstream text;
  render_report(text, doc);
  EXPECT_NE(text.str().find("ended by ICMP echo request from ping (pid 777) arriving 50.0 us before openvpn "
                            "(pid 4252) read again"),
            std::string::npos)
      << text.str();
  const auto findings = diagnose(info_from_zero(), lab.p.analysis());
  ASSERT_FALSE(findings.empty());
  EXPECT_NE(
      findings[0].verdict.find("until openvpn (pid 4252) read again, 50.0 us after an ICMP echo request "
                               "from ping (pid 777) arrived"),
      std::string::npos)
      << findings[0].verdict;
}

// The reader stopped (SIGSTOP) while the sender kept its pace: a segment of the very flow
// that waits arrived 3 ms before the reader came back, one of a stream 10 ms apart. That
// is no evidence it woke the reader.
TEST(StallTrigger, ASteadyStreamDuringAStopIsNoTrigger) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t read_from = t + 993 * kMs;  // 3 ms after the last of the stream
  for (int i = 0; i < 100; i++) lab.tcp(t + i * 10 * kMs, read_from + i * 10);
  lab.prompt(read_from + 2000, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_FALSE(stalls[0].triggered);
  Json doc = summarized(info_from_zero(), lab.p);
  EXPECT_EQ(doc["stalls"][0]["ended_by"]["cause"], "leave");
  EXPECT_EQ(doc["stalls"][0]["ended_by"]["point"], "read");
  EXPECT_EQ(doc["stalls"][0]["ended_by"]["comm"], "openvpn");
}

// After a long quiet, a segment of the waiting flow (a retransmission) arrives and the
// reader reads 40 us later: that arrival did wake it, though its flow is not new.
TEST(StallTrigger, ALoneArrivalAfterAQuietIsATriggerEvenOfTheWaitingFlow) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t rto_at = t + 800 * kMs, read_from = rto_at + 40;
  lab.tcp(t, read_from);
  lab.tcp(rto_at, read_from + 10);
  lab.prompt(read_from + 100, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  ASSERT_TRUE(stalls[0].triggered);
  EXPECT_FALSE(stalls[0].trigger.new_flow);
  EXPECT_EQ(stalls[0].trigger.arrive_ns, rto_at * kUs);
  EXPECT_EQ(stalls[0].trigger.pid, kIperf);
}

// A packet the reader queued itself (a VPN whose write of an ACK made TCP send more, in
// its own system call) came just before its read: it was running, not woken.
TEST(StallTrigger, APacketQueuedByTheReaderItselfIsNoTrigger) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t own_at = t + 1000 * kMs, read_from = own_at + 20;
  lab.tcp(t, read_from);
  lab.push(tx(own_at, lab.skb++, lab.gen++, read_from + 10, PacketSummary{kIcmpFlow, 1, 0, 8 << 8, 0, 0}, 56,
              kReader));
  lab.prompt(read_from + 100, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_FALSE(stalls[0].triggered);
}

// A ping 80 ms before the reader came back is outside the window a wake-up takes.
TEST(StallTrigger, AnArrivalLongBeforeTheResumptionIsNoTrigger) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t ping_at = t + 1000 * kMs, read_from = ping_at + 80 * kMs;
  lab.tcp(t, read_from);
  lab.ping(ping_at, read_from + 10);
  lab.prompt(read_from + 100, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_FALSE(stalls[0].triggered);
  EXPECT_EQ(stalls[0].queued, 2u);
}

// The ping amid a stream the held reader lets pile up: the stream's own packets keep
// coming up to the end, one of them even closer to the read than the ping (as it came in
// tunlat's own lab, 0.4 ms before a read 10 ms after the ping). It came where a stream 10
// ms apart puts one by chance 1 time in 25; the ping, the one new flow of the second-long
// stall, 1 time in 100: the ping is taken.
TEST(StallTrigger, APingAmidAStreamIsTheTrigger) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t ping_at = t + 1001 * kMs, late_at = t + 10106 * kMs / 10, read_from = t + 1011 * kMs;
  for (int i = 0; i <= 100; i++) lab.tcp(t + i * 10 * kMs, read_from + i * 10);
  lab.ping(ping_at, read_from + 1020);
  lab.tcp(late_at, read_from + 1030);
  lab.prompt(read_from + 2000, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  ASSERT_TRUE(stalls[0].triggered);
  EXPECT_EQ(stalls[0].trigger.sum.flow, kIcmpFlow);
  EXPECT_EQ(stalls[0].trigger.pid, kPing);
  EXPECT_EQ(stalls[0].trigger.arrive_ns, ping_at * kUs);
  EXPECT_EQ(stalls[0].queued, 103u);
}

// Without the ping, the stream's last packet alone: 0.4 ms before the read after a 9.6 ms
// gap qualifies (1 in 24), and is taken, as the best there is.
TEST(StallTrigger, WithoutThePingTheCloseStreamPacketIsTaken) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t late_at = t + 10106 * kMs / 10, read_from = t + 1011 * kMs;
  for (int i = 0; i <= 100; i++) lab.tcp(t + i * 10 * kMs, read_from + i * 10);
  lab.tcp(late_at, read_from + 1030);
  lab.prompt(read_from + 2000, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  ASSERT_TRUE(stalls[0].triggered);
  EXPECT_EQ(stalls[0].trigger.arrive_ns, late_at * kUs);
  EXPECT_FALSE(stalls[0].trigger.new_flow);
}

// The reader stopped on a busy VPN where a new flow comes every 10 ms: one arriving 3 ms
// before it came back is what the stream of new flows makes likely anyway.
TEST(StallTrigger, NewFlowsAsFrequentAsTheLeadAreNoTrigger) {
  Lab lab;
  uint64_t t = lab.prompt(1000, 50);
  const uint64_t read_from = t + 993 * kMs;
  lab.tcp(t, read_from);
  for (uint32_t i = 1; i < 100; i++)
    lab.push(tx(t + i * 10 * kMs, lab.skb++, lab.gen++, read_from + i * 10,
                PacketSummary{100 + i, 1, 0, 0, 0x02, 0}, 0, kIperf));
  lab.prompt(read_from + 2000, 20);
  lab.p.flush();
  const auto stalls = lab.p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_FALSE(stalls[0].triggered);
}
