// SPDX-License-Identifier: MIT
// Nagle meeting delayed ACKs (seed 003): the write-write-read pattern on synthetic flows.
#include <gtest/gtest.h>

#include <sstream>

#include "core/diagnose/findings.h"
#include "core/model/flow.h"
#include "core/pipeline.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "summarized.h"

using namespace tunlat;

namespace {

constexpr uint64_t kUs = 1000, kMs = 1000 * kUs;
constexpr uint8_t kAckFlag = 0x10, kPsh = 0x08;

// One TCP connection through a tap: 10.77.0.1:40000 on the host, 10.77.0.2:7000 behind
// the device. Each packet takes its whole path (TX: queue .. free, read by "fwd"; RX:
// inject .. taken, and its read when it carries data), its summary on its first event.
class Conn {
 public:
  Conn() {
    FlowKey k;
    k.ethertype = 0x0800;
    k.proto = 6;
    k.family = 4;
    k.a = {10, 77, 0, 1};
    k.b = {10, 77, 0, 2};
    k.pa = 40000;
    k.pb = 7000;
    p.push(flow_event(k, 1, 1));
  }

  // The host sends payload bytes (0: a pure ACK), passing the device (xmit) at t.
  void tx(uint64_t t, uint32_t payload) {
    const uint64_t s = next_skb();
    Event q = ev(t - 5 * kUs, s, TL_QUEUE, Dir::Tx);
    q.flags |= TL_F_FIRST;
    set_summary(q, PacketSummary{1, host_seq, peer_seq, 512, static_cast<uint8_t>(flags(payload)), 0},
                payload);
    host_seq += payload;
    p.push(q);
    p.push(ev(t, s, TL_XMIT, Dir::Tx));
    p.push(ev(t + 10 * kUs, s, TL_READ, Dir::Tx, 91, "fwd"));
    Event f = ev(t + 12 * kUs, s, TL_FREE, Dir::Tx, 91, "fwd");
    f.flags |= TL_F_LAST;
    p.push(f);
  }
  // The peer's packet reaches the host's stack (receive) at t.
  void rx(uint64_t t, uint32_t payload) {
    const uint64_t s = next_skb();
    Event i = ev(t - 10 * kUs, s, TL_INJECT, Dir::Rx, 91, "fwd");
    i.flags |= TL_F_FIRST;
    set_summary(i, PacketSummary{1, peer_seq, host_seq, 512, static_cast<uint8_t>(flags(payload)), 0},
                payload);
    peer_seq += payload;
    p.push(i);
    p.push(ev(t, s, TL_RECEIVE, Dir::Rx));
    Event taken = ev(t + 5 * kUs, s, TL_TAKEN, Dir::Rx);
    taken.aux = payload;
    if (!payload) taken.flags |= TL_F_LAST | TL_F_CONSUMED;
    p.push(taken);
    if (payload) {
      Event d = ev(t + 20 * kUs, s, TL_DELIVER, Dir::Rx, 77, "app");
      d.flags |= TL_F_LAST;
      p.push(d);
    }
  }

  Json finish() {
    p.flush();
    TraceInfo info;
    info.dev_name = "tA";
    info.kind = DeviceKind::Tap;
    return summarized(info, p);
  }
  const NagleStats& nagle(Dir d) const {
    return p.analysis().flows().flows().at(1).dirs[static_cast<int>(d)].nagle;
  }

  Pipeline p;
  uint32_t host_seq = 1000, peer_seq = 5000;

 private:
  static int flags(uint32_t payload) { return payload ? kAckFlag | kPsh : kAckFlag; }
  uint64_t next_skb() { return 0x10000 + 0x100 * (++gen_ % 64); }
  Event ev(uint64_t ts, uint64_t skb, int point, Dir d, uint32_t pid = 0, const char* comm = "") {
    Event e{};
    e.ts_ns = ts;
    e.skb = skb;
    e.gen = gen_;
    e.point = static_cast<uint8_t>(point);
    e.dir = static_cast<uint8_t>(d);
    e.pid = e.tid = pid;
    std::snprintf(e.comm, sizeof e.comm, "%s", comm);
    e.len = 166;
    return e;
  }
  uint32_t gen_ = 0;
};

const Json* finding(const Json& doc, const std::string& kind) {
  for (const Json& f : doc["findings"])
    if (f["kind"] == kind) return &f;
  return nullptr;
}

// Delayed ACKs as Linux's timer gives them on a HZ=250 machine: 40, 44 or 48 ms.
uint64_t ack_delay(int i) { return 40 * kMs + (i % 3) * 4 * kMs; }

}  // namespace

// The client on the host writes 100 + 100 bytes and reads a 100-byte reply, Nagle on;
// the server delays its ACK of the first piece, the second leaves right after that ACK.
TEST(Nagle, WriteWriteReadWaitsForTheDelayedAckEveryExchange) {
  Conn c;
  uint64_t t = 1000 * kMs;
  constexpr int kExchanges = 30;
  for (int i = 0; i < kExchanges; i++) {
    c.tx(t, 100);  // D1 leaves at once
    const uint64_t a = t + ack_delay(i);
    c.rx(a, 0);                // the server's delayed ACK of D1
    c.tx(a + 30 * kUs, 100);   // D2, released by it
    c.rx(a + 80 * kUs, 0);     // the ACK of D2, at once (the read)
    c.rx(a + 100 * kUs, 100);  // the reply
    t = a + 150 * kUs;         // the next request right after the reply
  }
  const Json doc = c.finish();
  const NagleStats& n = c.nagle(Dir::Tx);
  EXPECT_EQ(n.exchanges, static_cast<uint64_t>(kExchanges));
  EXPECT_EQ(n.small_segments, 2u * kExchanges);
  EXPECT_EQ(c.nagle(Dir::Rx).exchanges, 0u);  // the replies wait for nothing
  // D2 - D1: the ACK's delay plus the 30 us it took D2 to follow.
  EXPECT_NEAR(static_cast<double>(n.wait.quantile(0.5)), 44.03e6, 44.03e6 * 0.02);
  EXPECT_EQ(n.wait.min(), 40 * kMs + 30 * kUs);
  EXPECT_EQ(n.wait.max(), 48 * kMs + 30 * kUs);
  EXPECT_EQ(n.ack_delay.min(), 40 * kMs);

  const Json* f = finding(doc, "nagle_delayed_ack");
  ASSERT_NE(f, nullptr) << doc["findings"].dump(2);
  EXPECT_EQ((*f)["severity"], "warning");
  EXPECT_EQ((*f)["evidence"]["exchanges"], kExchanges);
  EXPECT_NEAR((*f)["evidence"]["wait_p50_us"].get<double>(), 44030, 44030 * 0.02);
  EXPECT_NEAR((*f)["evidence"]["ack_delay_p50_us"].get<double>(), 44000, 44000 * 0.02);
  EXPECT_GT((*f)["evidence"]["share_of_time"].get<double>(), 0.95);  // the flow does little else
  EXPECT_EQ((*f)["evidence"]["fastest_ack_us"], 50.0);               // D2's ACK: the path itself is quick
  EXPECT_EQ((*f)["where"]["direction"], "tx");
  EXPECT_EQ((*f)["where"]["flow"], "TCP 10.77.0.1:40000 <> 10.77.0.2:7000");
  EXPECT_EQ((*f)["where"]["sender"], "10.77.0.1:40000");
  const std::string summary = (*f)["summary"];
  EXPECT_NE(summary.find("Nagle meets delayed ACK"), std::string::npos) << summary;
  EXPECT_NE(summary.find("30 times 10.77.0.1:40000 held a small segment until 10.77.0.2:7000"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("its fastest ACK 50.0 us"), std::string::npos) << summary;
  EXPECT_NE((*f)["remedy"].get<std::string>().find("TCP_NODELAY"), std::string::npos);
  EXPECT_NE((*f)["remedy"].get<std::string>().find("TCP_QUICKACK"), std::string::npos);

  std::ostringstream text;
  render_report(text, doc);
  EXPECT_NE(text.str().find("Nagle meets delayed ACK"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("try: set TCP_NODELAY"), std::string::npos) << text.str();
}

// The same client with TCP_NODELAY: both pieces leave at once and the reply answers
// them. Even a server slow enough that its delayed ACK comes before its reply releases
// nothing: the next request follows the reply, not the bare ACK.
TEST(Nagle, NoDelaySendsBothPiecesAtOnceAndNothingWaitsForAnAck) {
  Conn c;
  uint64_t t = 1000 * kMs;
  for (int i = 0; i < 30; i++) {
    c.tx(t, 100);
    c.tx(t + 15 * kUs, 100);
    if (i % 2) {  // a slow answer: the delayed ACK first, the reply 0.5 ms later
      c.rx(t + ack_delay(i), 0);
      c.rx(t + ack_delay(i) + 500 * kUs, 100);
      t += ack_delay(i) + 600 * kUs;  // 0.6 ms after the ACK: inside the gate
    } else {
      c.rx(t + 120 * kUs, 100);
      t += 200 * kUs;
    }
  }
  const Json doc = c.finish();
  EXPECT_EQ(c.nagle(Dir::Tx).small_segments, 60u);
  EXPECT_EQ(c.nagle(Dir::Tx).exchanges, 0u);
  EXPECT_EQ(finding(doc, "nagle_delayed_ack"), nullptr) << doc["findings"].dump(2);
}

// A bulk transfer: full segments, ACKs every second one, and at the end of each burst
// the receiver's delayed ACK of the odd segment out, which the next burst follows at
// once (the sender waited for window): full segments are never held by Nagle.
TEST(Nagle, BulkTransferIsNoNagle) {
  Conn c;
  uint64_t t = 1000 * kMs;
  for (int burst = 0; burst < 40; burst++) {
    for (int i = 0; i < 9; i++) {
      c.tx(t, 1448);
      t += 20 * kUs;
      if (i % 2) c.rx(t + 100 * kUs, 0);
    }
    t += 40 * kMs;
    c.rx(t, 0);  // the delayed ACK of the ninth: all acknowledged
    t += 30 * kUs;
  }
  const Json doc = c.finish();
  EXPECT_EQ(c.nagle(Dir::Tx).small_segments, 0u);
  EXPECT_EQ(c.nagle(Dir::Tx).exchanges, 0u);
  EXPECT_EQ(finding(doc, "nagle_delayed_ack"), nullptr) << doc["findings"].dump(2);
}

// The client behind the device, the server on the host: the host's delayed ACK leaves
// (TX) and the held piece comes back (RX) a round trip beyond the device later (5 ms,
// which the server's replies show as their RTT): RX exchanges, the host the receiver.
TEST(Nagle, ClientBehindTheDeviceWaitsForTheHostsDelayedAck) {
  Conn c;
  uint64_t t = 1000 * kMs;
  constexpr uint64_t kFar = 5 * kMs;
  constexpr int kExchanges = 20;
  for (int i = 0; i < kExchanges; i++) {
    c.rx(t, 100);
    const uint64_t a = t + 40 * kMs;
    c.tx(a, 0);                      // the host's delayed ACK
    c.rx(a + kFar, 100);             // D2 comes a round trip later
    c.tx(a + kFar + 50 * kUs, 100);  // the reply
    t = a + 2 * kFar + 100 * kUs;    // the next request, a round trip after the reply
  }
  const Json doc = c.finish();
  // The first exchange comes before any reply has shown the round trip beyond the device.
  EXPECT_EQ(c.nagle(Dir::Rx).exchanges, static_cast<uint64_t>(kExchanges - 1));
  EXPECT_EQ(c.nagle(Dir::Rx).wait.min(), 40 * kMs + kFar);
  const Json* f = finding(doc, "nagle_delayed_ack");
  ASSERT_NE(f, nullptr) << doc["findings"].dump(2);
  EXPECT_EQ((*f)["where"]["direction"], "rx");
  EXPECT_EQ((*f)["where"]["sender"], "10.77.0.2:7000");
  EXPECT_EQ((*f)["where"]["receiver"], "10.77.0.1:40000");
}
