// SPDX-License-Identifier: MIT
// An idle stall's phases and TCP's timer through the whole pipeline: the JSON summary's
// stalls[].phases and stalls[].timer, and the text report's lines for them (issue 29).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "core/pipeline.h"
#include "core/report/text_report.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr uint64_t kMs = 1000;  // in the events' microseconds

// TCP packets of flow 1 as the kernel sends them: TX queued, then handed to the device 2
// us later, read and freed by openvpn; RX written by openvpn, received 1 us later, taken.
struct Lab {
  Pipeline p;
  uint64_t skb = 0x1000;
  uint32_t gen = 1;
  Lab() {
    p.push(flow_event(FlowKey{0x0800, 6, 4, {10, 8, 0, 1}, {10, 8, 0, 2}, 40112, 5201}, 1, 1));
    p.push(Ev{1, 0, 0, TL_COMM, Dir::Tx, 0, 4252, "openvpn"});
  }
  void tx(uint64_t t, uint32_t seq, uint32_t payload) {
    Event first = Ev{t, skb, gen, TL_QUEUE, Dir::Tx, 0, 555, "", TL_F_FIRST};
    set_summary(first, PacketSummary{1, seq, 1, 500, 0x10, 0}, payload);
    for (const Event& e :
         {first, Event(Ev{t + 2, skb, gen, TL_XMIT}), Event(Ev{t + 20, skb, gen, TL_READ, Dir::Tx, 1, 4252}),
          Event(Ev{t + 22, skb, gen, TL_FREE, Dir::Tx, 1, 4252})})
      p.push(e);
    skb++, gen++;
  }
  void rx(uint64_t t, uint32_t ack, uint8_t flags = 0x10) {
    Event first = Ev{t, skb, gen, TL_INJECT, Dir::Rx, 0, 4252, "", TL_F_FIRST};
    set_summary(first, PacketSummary{1, 1, ack, 500, flags, 0}, 0);
    for (const Event& e : {first, Event(Ev{t + 1, skb, gen, TL_RECEIVE, Dir::Rx}),
                           Event(Ev{t + 3, skb, gen, TL_TAKEN, Dir::Rx})})
      p.push(e);
    skb++, gen++;
  }
};

}  // namespace

TEST(StallPhasesReport, JsonAndTextTellThePhasesAndTheTimer) {
  Lab lab;
  const uint64_t t0 = 1000 * kMs;
  for (uint32_t i = 0; i < 10; i++) {
    lab.tx(t0 - (20 - i) * kMs, 1 + i * 1000, 1000);
    lab.rx(t0 - (20 - i) * kMs + kMs / 2, 1 + (i + 1) * 1000);
  }
  for (uint32_t i = 10; i < 30; i++) lab.tx(t0, 1 + i * 1000, 1000);  // unacknowledged
  lab.tx(t0 + 200 * kMs, 10'001, 1000);                               // the hole sent again
  lab.tx(t0 + 600 * kMs, 10'001, 1000);
  for (uint64_t at = 2030; at < 2530; at += 10) lab.rx(t0 + at * kMs, 10'001);  // duplicate ACKs
  lab.rx(t0 + 2530 * kMs, 30'001);                                              // all acknowledged
  lab.p.flush(t0 + 4000 * kMs);
  TraceInfo info = sample_trace_info();
  info.start_ns = 0;
  const Json doc = summarized(info, lab.p);
  ASSERT_EQ(doc["stalls"].size(), 1u) << doc["stalls"].dump();
  const Json& st = doc["stalls"][0];
  ASSERT_EQ(st["phases"].size(), 2u) << st.dump();
  EXPECT_EQ(st["phases"][0]["kind"], "silent");
  EXPECT_EQ(st["phases"][0]["ended_by"]["cause"], "peer");
  EXPECT_EQ(st["phases"][0]["ended_by"]["point"], "receive");
  EXPECT_EQ(st["phases"][0]["hole_resent"], 2);
  EXPECT_EQ(st["phases"][1]["kind"], "hole");
  EXPECT_EQ(st["phases"][1]["dup_acks"], 50);
  EXPECT_EQ(st["phases"][1]["ended_by"]["cause"], "ack");
  EXPECT_EQ(st["ended_by"]["packet"], "TCP ACK 10.8.0.2:5201 > 10.8.0.1:40112 seq 1 len 0 ack 30001");
  EXPECT_EQ(st["timer"]["intervals_ms"], Json::array({200.0, 400.0}));
  // Nothing sent from the last send (handed to the device at 600.002 ms) to the ACK (1 us
  // after its write at 2530 ms): the longest the timer was seen to wait.
  EXPECT_EQ(st["timer"]["backoff_ms"], 1929.999);
  std::ostringstream text;
  render_report(text, doc);
  const std::string out = text.str();
  EXPECT_NE(out.find("      silent    at 1.000 s for 2.03 s: nothing from the peer, the hole sent again 2x;"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("      hole      at 3.030 s for 500.00 ms: 50 duplicate ACKs (50 packets);"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("      timer:    the hole sent again at 1.200 s (+200.00 ms), 1.600 s (+400.00 ms);"),
            std::string::npos)
      << out;
}
