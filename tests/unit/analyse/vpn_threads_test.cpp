// SPDX-License-Identifier: MIT
// A multi-threaded VPN (wireguard-go): its time per packet, reads of the device paired in
// order with underlay sends, per thread (a thread sends what it read) or per process
// (threads hand packets over, as wireguard-go's goroutines do), sends of sockets that are
// not the VPN's left out; and its reader waiting for a CPU behind its own threads.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr uint32_t kVpn = 4252;           // the owner (sample_trace_info's openvpn)
constexpr uint64_t kUnderlay = 81234;     // its socket, as sample_trace_info has it
constexpr uint64_t kOtherSocket = 99999;  // someone else's: a softirq's TCP ACK

// A TX packet queued at t_us and read by thread tid of the VPN 5 us later.
void read_by(Pipeline& p, uint64_t t_us, uint64_t skb, uint32_t gen, uint32_t tid) {
  for (Event e : tx_packet(t_us, skb, gen, 1, 4, kVpn, "wireguard-go")) {
    if (e.point == TL_READ || e.point == TL_FREE) e.tid = tid;
    p.push(e);
  }
}

// An underlay send by thread tid of the VPN, from socket ino.
void send_by(Pipeline& p, uint64_t t_us, uint32_t tid, uint64_t ino = kUnderlay) {
  Event e{};
  e.ts_ns = t_us * kUs;
  e.point = TL_SEND;
  e.pid = kVpn;
  e.tid = tid;
  e.aux = 1500;
  e.flags = TL_IO_SOCK;
  e.skb = ino;
  p.push(e);
}

// A scheduler record of owner thread tid: its state from t_us on; other, the task that
// ran instead (preempted) or before it (switched in).
void sched(Pipeline& p, uint64_t t_us, uint32_t tid, int state, uint32_t other = 0, const char* comm = "",
           uint16_t flags = 0) {
  Event e{};
  e.ts_ns = t_us * kUs;
  e.point = TL_SCHED;
  e.pid = kVpn;
  e.tid = tid;
  e.code = state;
  e.aux = other;
  e.flags = flags;
  std::strncpy(e.comm, comm, sizeof e.comm - 1);
  p.push(e);
}

// The owner's first scheduler record: what makes the trace one with --sched.
void sched_on(Pipeline& p, uint32_t tid) { sched(p, 0, tid, TL_TS_RUNNING); }

Json summary_of(Pipeline& p) {
  p.flush();
  TraceInfo info = sample_trace_info();
  info.start_ns = 0;
  info.end_ns = 100'000'000;
  info.sched = "on";
  return summarized(info, p);
}

std::string text_of(const Json& doc) {
  std::ostringstream out;
  render_report(out, doc);
  return out.str();
}

}  // namespace

// wireguard-go: one goroutine reads the device, others send, on whatever threads the Go
// runtime gives them; packets leave in the order they were read, each 100 us later. A
// sending thread that also read a packet now and then must not take that packet out of
// turn; a softirq sending someone else's ACK in its time is no send of the VPN's.
TEST(VpnPairing, ThreadsThatHandPacketsOverArePairedPerProcessInOrder) {
  Pipeline p;
  p.set_underlay_sockets({kUnderlay});
  sched_on(p, 101);
  constexpr int n = 40;
  // Reads every 10 us by thread 101, every fifth by 102; sends 100 us after each read, by
  // 102 and 103 in turn.
  std::vector<std::pair<uint64_t, int>> timeline;  // (time, read i / send -(i+1))
  for (int i = 0; i < n; i++)
    timeline.push_back({1000 + 10 * i, i}), timeline.push_back({1100 + 10 * i, -(i + 1)});
  std::stable_sort(timeline.begin(), timeline.end());
  for (auto [t, what] : timeline) {
    if (what >= 0) {
      read_by(p, t - 5, 0x1000 + 0x100 * what, 1 + what, what % 5 == 0 ? 102 : 101);
    } else {
      send_by(p, t, -what % 2 ? 102 : 103);
      if (-what == 20) send_by(p, t + 1, 102, kOtherSocket);
    }
  }
  const Json doc = summary_of(p);
  const Json& tx = doc["vpn"]["per_packet"]["tx"];
  EXPECT_EQ(tx["in"], n);
  EXPECT_EQ(tx["out"], n);
  EXPECT_EQ(tx["other_sockets"], 1);
  EXPECT_EQ(tx["paired_by"], "process");
  EXPECT_EQ(tx["paired"], n);
  EXPECT_EQ(tx["one_to_one"], true);
  // Every packet took 100 us from its read to its send (the histogram's resolution aside).
  EXPECT_NEAR(tx["p50_us"].get<double>(), 100.0, 2.0);
  EXPECT_NEAR(tx["p99_us"].get<double>(), 100.0, 2.0);
  EXPECT_NEAR(tx["mean_us"].get<double>(), 100.0, 2.0);
  EXPECT_LT(tx["same_thread_share"].get<double>(), 0.5);
  const std::string text = text_of(doc);
  EXPECT_NE(text.find("in order per process: its threads hand packets over"), std::string::npos) << text;
  EXPECT_NE(text.find("1 sends of sockets not the VPN's left out"), std::string::npos) << text;
}

// OpenVPN: one thread reads a packet and sends it 30 us later.
TEST(VpnPairing, OneThreadThatReadsAndSendsIsPairedPerThread) {
  Pipeline p;
  p.set_underlay_sockets({kUnderlay});
  sched_on(p, kVpn);
  for (int i = 0; i < 20; i++) {
    read_by(p, 1000 + 100 * i, 0x1000 + 0x100 * i, 1 + i, kVpn);
    send_by(p, 1000 + 100 * i + 5 + 30, kVpn);
  }
  const Json doc = summary_of(p);
  const Json& tx = doc["vpn"]["per_packet"]["tx"];
  EXPECT_EQ(tx["paired_by"], "thread");
  EXPECT_EQ(tx["paired"], 20);
  EXPECT_EQ(tx["same_thread_share"], 1.0);
  EXPECT_NEAR(tx["p50_us"].get<double>(), 30.0, 1.0);
}

// Worker threads that each send what they read: 102 reads first and sends 50 us later,
// 101 reads 1 us after it and sends 10 us later. In order per process would pair across
// them (11 and 49 us); per thread gives each its own time.
TEST(VpnPairing, WorkersThatSendWhatTheyReadArePairedPerThread) {
  Pipeline p;
  p.set_underlay_sockets({kUnderlay});
  sched_on(p, 101);
  for (int i = 0; i < 20; i++) {
    const uint64_t t = 1000 + 100 * i;
    read_by(p, t - 5, 0x1000 + 0x200 * i, 1 + 2 * i, 102);
    read_by(p, t + 1 - 5, 0x1100 + 0x200 * i, 2 + 2 * i, 101);
    send_by(p, t + 11, 101);
    send_by(p, t + 50, 102);
  }
  const Json doc = summary_of(p);
  const Json& tx = doc["vpn"]["per_packet"]["tx"];
  EXPECT_EQ(tx["paired_by"], "thread");
  EXPECT_EQ(tx["same_thread_share"], 1.0);
  EXPECT_NEAR(tx["p50_us"].get<double>(), 10.0, 0.5);
  EXPECT_NEAR(tx["p99_us"].get<double>(), 50.0, 1.0);
}

// RX: the VPN's reads of its underlay socket (sock_recv_length) pair with its writes into
// the device; a read of a socket not its own (one the VPN opened after the trace began,
// or whatever) is left out and counted.
TEST(VpnPairing, UnderlayReadsOfOtherSocketsAreLeftOut) {
  Pipeline p;
  p.set_underlay_sockets({kUnderlay});
  sched_on(p, kVpn);
  auto uread = [&](uint64_t t_us, uint64_t ino) {
    Event e{};
    e.ts_ns = t_us * kUs;
    e.point = TL_UREAD;
    e.pid = kVpn;
    e.tid = kVpn;
    e.aux = 148;
    e.flags = TL_IO_SOCK;
    e.skb = ino;
    p.push(e);
  };
  for (int i = 0; i < 10; i++) {
    const uint64_t t = 1000 + 100 * i;
    uread(t, kUnderlay);
    uread(t + 1, kOtherSocket);
    for (Event e :
         std::vector<Event>{Ev{t + 40, 0x5000u + 0x100 * i, 1u + i, TL_INJECT, Dir::Rx, 0, kVpn, "openvpn"},
                            Ev{t + 41, 0x5000u + 0x100 * i, 1u + i, TL_RECEIVE, Dir::Rx}})
      p.push(e);
  }
  const Json doc = summary_of(p);
  const Json& rx = doc["vpn"]["per_packet"]["rx"];
  EXPECT_EQ(rx["in"], 10);
  EXPECT_EQ(rx["out"], 10);
  EXPECT_EQ(rx["other_sockets"], 10);
  EXPECT_EQ(rx["one_to_one"], true);
  EXPECT_NEAR(rx["p50_us"].get<double>(), 40.0, 1.0);
  EXPECT_NE(text_of(doc).find("10 reads of sockets not the VPN's left out"), std::string::npos)
      << text_of(doc);
}

// Recordings from before the socket was recorded (no TL_IO_SOCK), or a trace that knew no
// socket of the owners': every send counts, as it did.
TEST(VpnPairing, SendsOfUnknownSocketsCount) {
  Pipeline p;  // no underlay sockets known
  sched_on(p, kVpn);
  for (int i = 0; i < 10; i++) {
    read_by(p, 1000 + 100 * i, 0x1000 + 0x100 * i, 1 + i, kVpn);
    send_by(p, 1000 + 100 * i + 20, kVpn, kOtherSocket);
  }
  const Json doc = summary_of(p);
  const Json& tx = doc["vpn"]["per_packet"]["tx"];
  EXPECT_EQ(tx["out"], 10);
  EXPECT_EQ(tx["other_sockets"], 0);
  EXPECT_EQ(tx["paired"], 10);
}

// wireguard-go on fewer CPUs than it has busy threads: its reader waits for a CPU mostly
// behind its own other threads (an encryption goroutine's), once behind another task.
// That is the VPN's own load: said so, with the other task named after it.
TEST(VpnThreads, AReaderWaitingBehindItsOwnThreadsIsNoOtherTasksContention) {
  Pipeline p;
  sched(p, 0, 101, TL_TS_RUNNING);
  sched(p, 0, 102, TL_TS_RUNNABLE, 0, "", TL_SF_WOKEN);
  sched(p, 1000, 101, TL_TS_RUNNABLE, 102, "wireguard-go", TL_SF_PREEMPTED);
  sched(p, 1000, 102, TL_TS_RUNNING, 101, "wireguard-go");
  sched(p, 1600, 102, TL_TS_RUNNABLE, 101, "wireguard-go", TL_SF_PREEMPTED);
  sched(p, 1600, 101, TL_TS_RUNNING, 102, "wireguard-go");
  sched(p, 2000, 101, TL_TS_RUNNABLE, 999, "cpuhog", TL_SF_PREEMPTED);
  sched(p, 2200, 101, TL_TS_RUNNING, 999, "cpuhog");
  // 150 packets handed to the device while 102 ran, 50 while cpuhog did; 101 reads each
  // once it runs again.
  for (int i = 0; i < 200; i++) {
    const uint64_t xmit = i < 150 ? 1000 + 4 * i : 2000 + 4 * (i - 150);
    const uint64_t read = i < 150 ? 1600 + i : 2200 + (i - 150);
    const uint64_t skb = 0x1000 + 0x100 * i;
    const uint32_t gen = 1 + i;
    for (Event e : std::vector<Event>{Ev{xmit - 1, skb, gen, TL_QUEUE}, Ev{xmit, skb, gen, TL_XMIT},
                                      Ev{read, skb, gen, TL_READ, Dir::Tx, 1, kVpn, "wireguard-go"},
                                      Ev{read + 1, skb, gen, TL_FREE, Dir::Tx, 1, kVpn, "wireguard-go"}}) {
      e.tid = 101;
      p.push(e);
    }
  }
  const Json doc = summary_of(p);
  const Json& rw = doc["vpn"]["ring_wait"];
  // Of 62.8 ms of ring wait: 45.3 ms runnable behind 102 (600 - 4 i us each of the first
  // 150), 5.1 ms behind cpuhog (200 - 4 j us each of the last 50), the rest running.
  EXPECT_EQ(rw["ms"], 62.8);
  EXPECT_EQ(rw["vpn_threads_share"], 0.721);
  bool own = false, hog = false;
  for (auto& o : rw["ran_instead"]) {
    if (o["tid"] == 102) own = o["vpn_thread"].get<bool>() && o["share"] == 0.721;
    if (o["tid"] == 999) hog = !o["vpn_thread"].get<bool>() && o["share"] == 0.081;
  }
  EXPECT_TRUE(own && hog) << rw["ran_instead"];
  Json contention;
  for (auto& f : doc["findings"])
    if (f["kind"] == "cpu_contention") contention = f;
  ASSERT_FALSE(contention.is_null()) << doc["findings"];
  const std::string summary = contention["summary"].get<std::string>();
  EXPECT_NE(summary.find("its own other threads ran instead for"), std::string::npos) << summary;
  EXPECT_NE(summary.find(", cpuhog (tid 999) for"), std::string::npos) << summary;
  EXPECT_EQ(contention["evidence"]["ran_instead"]["tid"], 999);
  // Raised: 50.4 ms runnable over 200 packets, 252 us each (>= 100 us).
  EXPECT_EQ(contention["severity"], "warning");
  EXPECT_NEAR(contention["evidence"]["runnable_us_per_packet"].get<double>(), 252, 1);
  EXPECT_NE(contention["remedy"].get<std::string>().find("its threads need more CPU"), std::string::npos);
}

// The writer side (issue 16): between its underlay read and its write into the device,
// what the writing thread did. A reader thread hands each packet to a writer that sleeps
// 60 us of the 100, waits 10 us for a CPU (the hog ran), and runs the last 30.
TEST(VpnThreads, TheWritersStatesBetweenReadAndWrite) {
  Pipeline p;
  p.set_underlay_sockets({kUnderlay});
  constexpr uint32_t kReader = 301, kWriter = 302;
  sched_on(p, kReader);
  for (int i = 0; i < 10; i++) {
    const uint64_t t = 1000 + 1000 * i;
    Event r{};
    r.ts_ns = t * kUs;
    r.point = TL_UREAD;
    r.pid = kVpn;
    r.tid = kReader;
    r.aux = 148;
    r.flags = TL_IO_SOCK;
    r.skb = kUnderlay;
    p.push(r);
    sched(p, t, kWriter, TL_TS_SLEEPING);
    sched(p, t + 60, kWriter, TL_TS_RUNNABLE, 0, "", TL_SF_WOKEN);
    sched(p, t + 61, kWriter, TL_TS_RUNNABLE, 777, "hog", TL_SF_PREEMPTED);
    sched(p, t + 70, kWriter, TL_TS_RUNNING, 777, "hog");
    Event w = Ev{t + 100, 0x5000u + 0x100 * i, 1u + i, TL_INJECT, Dir::Rx, 0, kVpn, "vpn"};
    w.tid = kWriter;
    p.push(w);
    p.push(Ev{t + 101, 0x5000u + 0x100 * i, 1u + i, TL_RECEIVE, Dir::Rx});
  }
  const Json doc = summary_of(p);
  const Json& rx = doc["vpn"]["per_packet"]["rx"];
  ASSERT_EQ(rx["paired"], 10);
  const Json& st = rx["passer_states"];
  ASSERT_TRUE(st.is_object()) << rx;
  EXPECT_NEAR(st.value("sleeping", 0.0), 0.6, 0.011) << st;
  EXPECT_NEAR(st.value("runnable", 0.0), 0.1, 0.011) << st;
  EXPECT_NEAR(st.value("running", 0.0), 0.3, 0.011) << st;
  EXPECT_NE(text_of(doc).find("the writing thread meanwhile: running 30 %"), std::string::npos)
      << text_of(doc);
}

// A reader stopped 300 ms while one packet waited, in a trace where packets waited 10 s in
// all: 3 % of the ring's waiting, yet a stop as long as a stall is said.
TEST(VpnThreads, AStopAsLongAsAStallIsSaidWhateverItsShare) {
  Pipeline p;
  p.set_underlay_sockets({kUnderlay});
  sched_on(p, kVpn);
  uint64_t t = 1000;
  for (int i = 0; i < 10000; i++, t += 1100)
    for (Event e : tx_packet(t, 0x1000 + 0x100 * (i % 512), 1 + i, 1, 1000, kVpn, "openvpn")) p.push(e);
  sched(p, t, kVpn, TL_TS_STOPPED);
  sched(p, t + 300'000, kVpn, TL_TS_RUNNING);
  for (Event e : tx_packet(t + 10, 0x99000, 20000, 1, 300'000, kVpn, "openvpn")) p.push(e);
  const Json doc = summary_of(p);
  bool said = false;
  for (auto& f : doc["findings"]) said |= f["kind"] == "stopped_reader";
  EXPECT_TRUE(said) << doc["findings"];
  EXPECT_LT(doc["vpn"]["ring_wait"]["states"]["stopped"]["share"].get<double>(), 0.05);
}
