// SPDX-License-Identifier: MIT
// Stalls, the pacing origin and the ranked findings, on synthetic TX streams.
#include <gtest/gtest.h>

#include "core/analyse/bottleneck.h"
#include "core/diagnose/findings.h"
#include "core/pipeline.h"
#include "core/report/summary.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr uint64_t kMs = 1000;  // in the test streams' microseconds

// Packets queued every gap_us, each read at max(its xmit + 20 us, the previous read +
// read_gap_us): a FIFO tun ring drained no faster than the reader's pace. Pushed in the
// order they leave the ring, as ingest passes them on.
struct Flow {
  uint64_t next_q = 1000, last_read = 0;
  uint64_t skb = 0x1000;
  uint32_t gen = 1;
  void send(V1Pipeline& p, int n, uint64_t gap_us, uint64_t read_gap_us, uint64_t hold_until = 0,
            const char* comm = "openvpn") {
    for (int i = 0; i < n; i++, next_q += gap_us) {
      uint64_t x = next_q + 2;
      uint64_t r = std::max({x + 20, last_read + read_gap_us, hold_until});
      last_read = r;
      for (const Event& e : tx_packet(next_q, skb++, gen++, 2, r - x, 4252, comm)) p.push(e);
    }
  }
};

TraceInfo info_from_zero() {
  TraceInfo i = sample_trace_info();
  i.start_ns = 0;
  return i;
}

}  // namespace

TEST(Stalls, AReaderStoppedTwoSecondsIsOneStuckStallInTheRing) {
  V1Pipeline p;
  Flow f;
  f.send(p, 100, 100, 0);  // 10 kpps, read at once
  // The reader stops for 2 s: the next 50 packets (100 us apart) wait in the ring.
  const uint64_t stop_at = f.last_read;
  f.send(p, 50, 100, 0, stop_at + 2000 * kMs);
  f.next_q = f.last_read + 100;  // the sender resumes after the reader did
  f.send(p, 100, 100, 0);
  p.flush();
  const auto stalls = p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  const Stall& s = stalls[0];
  EXPECT_EQ(s.stage, Span::Ring);
  // The ring was empty until the first of them came, 80 us after the last read.
  EXPECT_EQ(s.start_ns, (stop_at + 80) * kUs);
  EXPECT_NEAR(static_cast<double>(s.end_ns - s.start_ns), 2e9, 1e6);
  EXPECT_EQ(s.queued, 50u);  // the packets that waited through it
  EXPECT_FALSE(s.ongoing);
  EXPECT_EQ(s.end_point, TL_READ);
  EXPECT_EQ(comm_string(s.ended_by.comm), "openvpn");
  EXPECT_EQ(s.before.size(), StageWatch::kFlightRecorder);  // what passed just before it
  EXPECT_EQ(s.before.back().leave_ns, stop_at * kUs);
  EXPECT_EQ(s.ended_by.enter_ns, s.start_ns);  // the first to wait ended it: FIFO

  const auto findings = diagnose(info_from_zero(), p.analysis());
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].kind, FindingKind::Stall);
  EXPECT_EQ(findings[0].severity, Severity::Critical);
  EXPECT_NE(findings[0].verdict.find("50 packets waited in the tun ring until openvpn (pid 4252) read again"),
            std::string::npos)
      << findings[0].verdict;
}

TEST(Stalls, AReaderThatNeverComesBackIsAnOngoingStall) {
  V1Pipeline p;
  Flow f;
  f.send(p, 100, 100, 0);
  const uint64_t last = f.last_read;
  // 5 packets handed to the device and never read: only their first points arrive.
  for (int i = 0; i < 5; i++) {
    const uint64_t q = last + 100 + i * 100;
    p.push(Ev{q, 0x9000u + i, 900u + i, TL_QUEUE});
    p.push(Ev{q + 2, 0x9000u + i, 900u + i, TL_XMIT});
  }
  p.flush((last + 3000 * kMs) * kUs);
  const auto stalls = p.analysis().stalls();
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_TRUE(stalls[0].ongoing);
  EXPECT_EQ(stalls[0].queued, 5u);
  EXPECT_NEAR(static_cast<double>(stalls[0].end_ns - stalls[0].start_ns), 2.9995e9, 2e6);
}

TEST(Stalls, AReaderPacedAt200MsIsItsPaceNotAStall) {
  V1Pipeline p;
  Flow f;
  f.send(p, 40, 20 * kMs, 200 * kMs);  // reads every 200 ms, the stall threshold
  p.flush();
  EXPECT_TRUE(p.analysis().stalls().empty());
  const auto pace = pacing_of(Dir::Tx, p.analysis().total(Dir::Tx), DeviceKind::Tap);
  ASSERT_TRUE(pace);
  EXPECT_EQ(pace->origin, Span::Ring);
  EXPECT_EQ(pace->rule, PacingRule::StandingQueue);
  EXPECT_NEAR(static_cast<double>(pace->period_ns), 200e6, 200e6 * 0.02);
}

TEST(Pacing, AShapedReaderPacesEvenWhenTheSenderGapsAreLarge) {
  // The sender's gaps (15 ms) are the echo of the reader's pace (7.5 ms a packet) through
  // TCP's ACK clock; what matters is the queue the ring holds.
  V1Pipeline p;
  Flow f;
  f.send(p, 20, 1 * kMs, 7500);  // a burst queues
  f.send(p, 200, 7400, 7500);    // then the sender follows the reader
  p.flush();
  const auto pace = pacing_of(Dir::Tx, p.analysis().total(Dir::Tx), DeviceKind::Tap);
  ASSERT_TRUE(pace);
  EXPECT_EQ(pace->origin, Span::Ring);
  EXPECT_NEAR(static_cast<double>(pace->period_ns), 7.5e6, 7.5e6 * 0.02);
  const auto findings = diagnose(info_from_zero(), p.analysis());
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0].kind, FindingKind::Pacing);
  EXPECT_NE(findings[0].verdict.find("openvpn (pid 4252) reads one packet every 7.50 ms"), std::string::npos)
      << findings[0].verdict;
}

TEST(Pacing, AStageReleasingAtItsOwnPeriodPacesWithAShallowQueue) {
  // A tbf or a reader at 3 ms a packet, the sender a little faster: fewer than
  // kStandingQueue packets wait on average, but the stage is never idle and its releases
  // are regular. (kernel.openvpn_findings' tbf once held 3.5 packets so: "upstream".)
  V1Pipeline p;
  Flow f;
  f.send(p, 120, 2900, 3000);
  p.flush();
  const auto pace = pacing_of(Dir::Tx, p.analysis().total(Dir::Tx), DeviceKind::Tap);
  ASSERT_TRUE(pace);
  EXPECT_EQ(pace->origin, Span::Ring);
  EXPECT_EQ(pace->rule, PacingRule::StandingQueue);
  EXPECT_GE(pace->queued, kStandingQueuePeriodic);
  EXPECT_LT(pace->queued, kStandingQueue) << "the case the periodic rule is for";
  EXPECT_NEAR(static_cast<double>(pace->period_ns), 3e6, 3e6 * 0.02);
}

TEST(Pacing, ASenderThatPacesItselfIsUpstreamAndHealthy) {
  V1Pipeline p;
  Flow f;
  f.send(p, 150, 12 * kMs, 0);  // ping -f at a silent peer: 12 ms apart, read at once
  p.flush();
  const auto pace = pacing_of(Dir::Tx, p.analysis().total(Dir::Tx), DeviceKind::Tap);
  ASSERT_TRUE(pace);
  EXPECT_EQ(pace->origin, std::nullopt);  // upstream
  EXPECT_EQ(pace->rule, PacingRule::NoQueue);
  for (const Finding& fd : diagnose(info_from_zero(), p.analysis()))
    EXPECT_EQ(fd.severity, Severity::Info) << fd.verdict;  // nothing alarming
  EXPECT_TRUE(p.analysis().stalls().empty());
}

TEST(Stalls, LiveViewSeesAStageHoldingPacketsThatNoneLeaves) {
  V1Pipeline p;
  Flow f;
  f.send(p, 20, 100, 0);
  const uint64_t last = f.last_read * kUs;
  p.push(Ev{f.last_read + 50, 0x7777, 777, TL_QUEUE});
  p.push(Ev{f.last_read + 52, 0x7777, 777, TL_XMIT});
  p.flush();
  EXPECT_FALSE(p.analysis().stuck_now(last + 100'000'000, 0).stage.has_value());  // 0.1 s: not yet
  const LiveStall s = p.analysis().stuck_now(last + 900'000'000, 400'000'000);
  EXPECT_EQ(s.stage, Span::Ring);
  EXPECT_EQ(s.waiting, 1u);
}

TEST(Stalls, SummaryListsStallsWithWhatEndedThemAndTheFlightRecorder) {
  V1Pipeline p;
  Flow f;
  f.send(p, 20, 100, 0);
  f.send(p, 5, 100, 0, f.last_read + 500 * kMs);
  p.flush();
  Json doc = summarized(info_from_zero(), p);
  ASSERT_EQ(doc["stalls"].size(), 1u);
  const Json& s = doc["stalls"][0];
  EXPECT_EQ(s["kind"], "stuck");
  EXPECT_EQ(s["stage"], "ring");
  EXPECT_EQ(s["queued"], 5u);
  EXPECT_NEAR(s["duration_ms"].get<double>(), 500.0, 1.0);
  EXPECT_EQ(s["ended_by"]["comm"], "openvpn");
  EXPECT_EQ(s["ended_by"]["point"], "read");
  EXPECT_EQ(s["flight_recorder"].size(), StageWatch::kFlightRecorder);
  EXPECT_EQ(doc["findings"][0]["kind"], "stall");
  EXPECT_EQ(doc["findings"][0]["severity"], "warning");  // under a second
  EXPECT_EQ(doc["verdicts"][0], doc["findings"][0]["summary"]);
}

TEST(Stalls, APacketWhoseLeavingWasNotSeenIsNoOngoingStall) {
  // Its read was lost; packets that came after it left the ring, so it was not stuck there.
  V1Pipeline p;
  Flow f;
  p.push(Ev{900, 0x8888, 888, TL_QUEUE});
  p.push(Ev{902, 0x8888, 888, TL_XMIT});
  f.send(p, 100, 100, 0);
  p.flush((f.last_read + 3000 * kMs) * kUs);
  EXPECT_TRUE(p.analysis().stalls().empty());
}

// Span is a place in kTxSpans / kRxSpans: each maps to its index and back, and its name is
// the SpanDef's there (the one table of span names).
TEST(Span, IsItsPlaceInTheSpanTables) {
  for (Dir d : kDirs) {
    const auto spans = spans_of(d);
    for (size_t i = 0; i < spans.size(); i++) {
      const Span s = span_at(d, i);
      EXPECT_EQ(span_index(s), i);
      EXPECT_EQ(span_name(s, DeviceKind::Tap), spans[i].name);
      EXPECT_EQ(span_def(d, s).from, spans[i].from);
      EXPECT_EQ(span_def(d, s).to, spans[i].to);
    }
  }
  EXPECT_EQ(span_name(Span::Ring, DeviceKind::Tap), "ring");
  EXPECT_EQ(span_name(Span::Socket, DeviceKind::Tap), "socket");
  EXPECT_EQ(span_name(Span::Total, DeviceKind::Tap), "total");
}
