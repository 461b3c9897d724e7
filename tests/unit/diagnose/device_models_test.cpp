// SPDX-License-Identifier: MIT
// Issue 31: each device kind gets the model it has. A WireGuard device's TX packets wait
// in `vpn` (xmit -> the same skb queued on the underlay), never in a tun ring; a device
// nothing reads (lo, a NIC) has no handoff stage to stall; a veth's is its peer's receive.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "core/model/device_model.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

TraceInfo info_of(DeviceKind k, const char* dev) {
  TraceInfo i = sample_trace_info();
  i.kind = k;
  i.dev_name = dev;
  i.owners.clear();  // a kernel VPN has no process holding it
  i.start_ns = 0;
  i.end_ns = 10'000'000'000;
  return i;
}

PipelineOptions options_of(DeviceKind k) {
  PipelineOptions o;
  o.kind = k;
  return o;
}

// n packets 1 ms apart from t_us on; each handed on `handoff_us` after its xmit (by a
// kernel worker, as WireGuard's tx worker sends it); none with handoff_us < 0.
void send(V1Pipeline& p, uint64_t t_us, uint64_t& skb, uint32_t& gen, int n, int64_t handoff_us) {
  for (int i = 0; i < n; i++, t_us += 1000, skb += 0x100, gen++) {
    p.push(Ev{t_us, skb, gen, TL_QUEUE});
    p.push(Ev{t_us + 2, skb, gen, TL_XMIT});
    if (handoff_us >= 0) p.push(Ev{t_us + 2 + handoff_us, skb, gen, TL_READ, Dir::Tx, 1, 77, "kworker/1:2"});
  }
}

std::string findings_text(const Json& doc) {
  std::string all;
  for (auto& f : doc["findings"]) all += f.dump() + "\n";
  return all;
}

}  // namespace

TEST(DeviceModel, KindsAreNamedAsTheyAreRecorded) {
  for (DeviceKind k : {DeviceKind::Tap, DeviceKind::Tun, DeviceKind::Macvtap, DeviceKind::WireGuard,
                       DeviceKind::Ovpn, DeviceKind::Veth, DeviceKind::Other})
    EXPECT_EQ(parse_device_kind(device_kind_name(k)), k) << device_kind_name(k);
  EXPECT_EQ(device_kind_name(DeviceKind::WireGuard), "wireguard");
  EXPECT_EQ(parse_device_kind("something-new"), DeviceKind::Other);
}

TEST(DeviceModel, EachKindNamesItsHandoffSpanOnTheSamePoints) {
  const auto tun = spans_of(Dir::Tx);
  for (DeviceKind k : {DeviceKind::Tap, DeviceKind::WireGuard, DeviceKind::Veth, DeviceKind::Other}) {
    const auto s = spans_of(Dir::Tx, k);
    ASSERT_EQ(s.size(), tun.size());
    for (size_t i = 0; i < s.size(); i++) EXPECT_EQ(s[i].from, tun[i].from);
  }
  EXPECT_EQ(spans_of(Dir::Tx, DeviceKind::Tap)[1].name, "ring");
  EXPECT_EQ(spans_of(Dir::Tx, DeviceKind::WireGuard)[1].name, "vpn");
  EXPECT_EQ(spans_of(Dir::Tx, DeviceKind::Veth)[1].name, "peer");
  EXPECT_TRUE(spans_of(Dir::Tx, DeviceKind::WireGuard)[1].queue);
  EXPECT_FALSE(spans_of(Dir::Tx, DeviceKind::Other)[1].queue);  // nothing takes from it
  EXPECT_FALSE(carries_ethernet(DeviceKind::WireGuard));
  EXPECT_TRUE(carries_ethernet(DeviceKind::Veth));
}

// The report that filed the issue: packets a device without a ring handed to its driver,
// none "read", were called a TX stall in the tun ring.
TEST(DeviceModel, ADeviceNothingReadsHasNoRingToStallIn) {
  for (DeviceKind k : {DeviceKind::Other, DeviceKind::Tap}) {
    V1Pipeline p(options_of(k));
    uint64_t skb = 0x10000;
    uint32_t gen = 1;
    send(p, 1000, skb, gen, 200, -1);
    p.flush(3'000'000'000);
    const Json doc = summarized(info_of(k, "lo"), p);
    const std::string text = findings_text(doc);
    if (k == DeviceKind::Tap) {  // the same passes on a tap: its reader never came
      EXPECT_NE(text.find("tun ring"), std::string::npos) << text;
      continue;
    }
    EXPECT_TRUE(p.analysis().stalls().empty());
    EXPECT_EQ(text.find("ring"), std::string::npos) << text;
    EXPECT_EQ(text.find("stood still"), std::string::npos) << text;
    // TX ends at xmit: the total is the qdisc's time, for every packet.
    EXPECT_EQ(doc["directions"]["tx"]["spans"]["total"]["count"], 200)
        << doc["directions"]["tx"]["spans"].dump();
  }
}

TEST(DeviceModel, WireGuardsPacketsWaitInVpnAndAStallThereNamesItsQueues) {
  V1Pipeline p(options_of(DeviceKind::WireGuard));
  uint64_t skb = 0x10000;
  uint32_t gen = 1;
  send(p, 1000, skb, gen, 300, 40);  // encrypted and sent 40 us after xmit
  // No handshake with the peer for 2 s: packets staged, none sent; then all of them go.
  const uint64_t stop = 1000 + 300 * 1000;
  for (int i = 0; i < 20; i++, skb += 0x100, gen++) {
    const uint64_t q = stop + i * 1000;
    p.push(Ev{q, skb, gen, TL_QUEUE});
    p.push(Ev{q + 2, skb, gen, TL_XMIT});
    p.push(Ev{stop + 2'000'000 + i, skb, gen, TL_READ, Dir::Tx, 1, 77, "kworker/1:2"});
  }
  send(p, stop + 2'000'100, skb, gen, 100, 40);
  p.flush();
  const Json doc = summarized(info_of(DeviceKind::WireGuard, "wg0"), p);
  const Json& spans = doc["directions"]["tx"]["spans"];
  ASSERT_TRUE(spans.contains("vpn")) << spans.dump();
  EXPECT_FALSE(spans.contains("ring"));
  EXPECT_EQ(spans["vpn"]["count"], 420);
  EXPECT_NEAR(spans["vpn"]["p50_us"].get<double>(), 40, 40 * 0.2);
  const std::string text = findings_text(doc);
  EXPECT_EQ(text.find("tun ring"), std::string::npos) << text;
  EXPECT_NE(text.find("WireGuard's queues"), std::string::npos) << text;
  EXPECT_NE(text.find("wg show wg0"), std::string::npos) << text;
  ASSERT_EQ(doc["stalls"].size(), 1u) << doc["stalls"].dump();
  EXPECT_EQ(doc["stalls"][0]["stage"], "vpn");
}

// A recording says its device's kind in its header: `tunlat report` builds the same model.
TEST(DeviceModel, ASettingMadeAfterTheStartRebuildsTheStages) {
  V1Pipeline p;  // made before the recording's header was read: a tap's model
  p.analysis().set_device_kind(DeviceKind::Other);
  uint64_t skb = 0x10000;
  uint32_t gen = 1;
  send(p, 1000, skb, gen, 100, -1);
  p.flush(3'000'000'000);
  EXPECT_TRUE(p.analysis().stalls().empty());
  EXPECT_EQ(p.analysis().spans(Dir::Tx)[1].name, "handoff");
}

// TCP through kernel WireGuard: GSO skbs reach wg0 whole and it segments them itself; the
// segments are skbs never seen on wg0. The figures then cover part of the traffic: said.
TEST(DeviceModel, AKernelVpnSegmentingItselfIsToldAsCoveringPartOfTheTraffic) {
  V1Pipeline p(options_of(DeviceKind::WireGuard));
  uint64_t skb = 0x10000;
  uint32_t gen = 1;
  send(p, 1000, skb, gen, 50, 40);  // pings: followed to the underlay
  for (int i = 0; i < 100; i++, skb += 0x100, gen++) {
    const uint64_t q = 100'000 + i * 1000;
    p.push(Ev{q, skb, gen, TL_QUEUE, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, 20 * 1448});
    p.push(Ev{q + 2, skb, gen, TL_XMIT, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, 20 * 1448});
    p.push(Ev{q + 5, skb, gen, TL_FREE});  // consumed once segmented
  }
  p.flush();
  const Json doc = summarized(info_of(DeviceKind::WireGuard, "wg0"), p);
  const Json* found = nullptr;
  for (auto& f : doc["findings"])
    if (f["kind"] == "offload") found = &f;
  ASSERT_NE(found, nullptr) << doc["findings"].dump();
  EXPECT_EQ((*found)["severity"], "warning");
  EXPECT_EQ((*found)["evidence"]["gso_skbs"], 100);
  const std::string text = (*found)["summary"].get<std::string>() + (*found)["remedy"].get<std::string>();
  EXPECT_NE(text.find("segments itself"), std::string::npos) << text;
  EXPECT_NE(text.find("ethtool -K wg0 tso off gso off"), std::string::npos) << text;

  // A tap's GSO skbs are not the device's doing: no such finding there.
  V1Pipeline t;
  skb = 0x10000;
  for (int i = 0; i < 100; i++, skb += 0x100, gen++) {
    const uint64_t q = 1000 + i * 1000;
    t.push(Ev{q, skb, gen, TL_QUEUE, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, 20 * 1448});
    t.push(Ev{q + 2, skb, gen, TL_XMIT, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, 20 * 1448});
    t.push(Ev{q + 40, skb, gen, TL_READ, Dir::Tx, 1, 4252, "openvpn"});
  }
  t.flush();
  const std::string tap = findings_text(summarized(info_of(DeviceKind::Tap, "tap0"), t));
  EXPECT_EQ(tap.find("segments itself"), std::string::npos) << tap;
}

// A macvtap's TX is what its VM reads: a frame arriving for it starts at `xmit` (no queue
// point: none of the host's qdiscs is on its way), waits in the macvtap's queue (`ring`)
// and is read by the VM. Its report says so, and never "tun ring" nor a missing queue.
TEST(DeviceModel, AMacvtapsFramesStartAtXmitAndWaitInItsQueue) {
  V1Pipeline p(options_of(DeviceKind::Macvtap));
  uint64_t skb = 0x10000;
  uint32_t gen = 1;
  for (int i = 0; i < 200; i++, skb += 0x100, gen++) {
    const uint64_t t = 1000 + i * 1000;
    p.push(Ev{t, skb, gen, TL_XMIT});
    p.push(Ev{t + 50, skb, gen, TL_READ, Dir::Tx, 1, 4242, "qemu-system-x86"});
  }
  p.flush(3'000'000'000);
  TraceInfo info = info_of(DeviceKind::Macvtap, "mvt0");
  const Json doc = summarized(info, p);
  const Json& tx = doc["directions"]["tx"];
  EXPECT_EQ(tx["spans"]["ring"]["count"], 200) << tx["spans"].dump();
  EXPECT_EQ(tx["spans"]["total"]["count"], 200);  // xmit -> read
  EXPECT_NEAR(tx["spans"]["total"]["p50_us"].get<double>(), 50, 50 * 0.2);
  EXPECT_EQ(tx["spans"]["qdisc"]["count"], 0);
  EXPECT_FALSE(tx["notes"].contains("no_queue") && tx["notes"]["no_queue"] != 0) << tx["notes"].dump();
  EXPECT_EQ(handoff_of(DeviceKind::Macvtap), Handoff::Reader);
  EXPECT_EQ(handoff_place(DeviceKind::Macvtap), "the macvtap's queue");

  std::ostringstream out;
  render_report(out, doc);
  const std::string text = out.str();
  EXPECT_NE(text.find("TX (lower device -> mvt0 -> VM)"), std::string::npos) << text;
  EXPECT_NE(text.find("RX (VM -> mvt0 -> lower device)"), std::string::npos) << text;
  EXPECT_EQ(text.find("tun ring"), std::string::npos) << text;
  EXPECT_EQ(text.find("  qdisc "), std::string::npos) << text;  // a span no packet had: no row
  EXPECT_EQ(path_label(Dir::Tx, DeviceKind::Tap, "tap0"), "host -> tap0 -> reader");
  EXPECT_EQ(path_label(Dir::Rx, DeviceKind::Tap, "tap0"), "writer -> tap0 -> host");
}

// A kernel VPN's RX packet is the skb its underlay received, decrypted in place: followed
// from that arrival (its inject), `vpn` runs to the device's receive. One whose arrival was
// not seen (TL_F_LATE_START: its inject is the device's own) counts, but has no `vpn`.
TEST(DeviceModel, AKernelVpnsRxWaitsInVpnFromTheUnderlaysReceive) {
  V1Pipeline p(options_of(DeviceKind::WireGuard));
  uint64_t skb = 0x10000;
  uint32_t gen = 1;
  for (int i = 0; i < 120; i++, skb += 0x100, gen++) {
    const uint64_t t = 1000 + i * 1000;
    const uint16_t late = i < 20 ? TL_F_LATE_START : 0;
    p.push(Ev{t, skb, gen, TL_INJECT, Dir::Rx, 0, 0, "", late});
    p.push(Ev{t + (late ? 3 : 80), skb, gen, TL_RECEIVE, Dir::Rx});
    p.push(Ev{t + (late ? 10 : 87), skb, gen, TL_DELIVER, Dir::Rx});
  }
  p.flush(3'000'000'000);
  const Json doc = summarized(info_of(DeviceKind::WireGuard, "wg0"), p);
  const Json& rx = doc["directions"]["rx"];
  EXPECT_EQ(rx["packets"], 120);
  ASSERT_TRUE(rx["spans"].contains("vpn")) << rx["spans"].dump();
  EXPECT_FALSE(rx["spans"].contains("backlog"));
  EXPECT_EQ(rx["spans"]["vpn"]["count"], 100);
  EXPECT_NEAR(rx["spans"]["vpn"]["p50_us"].get<double>(), 80, 80 * 0.2);
  EXPECT_EQ(rx["spans"]["total"]["count"], 100);
  EXPECT_EQ(rx["spans"]["stack"]["count"], 120);  // the device's receive on: every packet
  // On a tap the same flag means nothing: a VPN's write is where its RX starts.
  EXPECT_EQ(spans_of(Dir::Rx, DeviceKind::Tap)[0].name, "backlog");
}
