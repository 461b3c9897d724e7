// SPDX-License-Identifier: MIT
// Seed 001: GSO skbs cut into segments before the tun ring (offloads off on the VPN's fd)
// against GSO super-packets handed to the driver whole (offloads on).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "events.h"
#include "summarized.h"
#include "trace_info_sample.h"

using namespace tunlat;
using namespace tunlat::test;

namespace {

constexpr int kParents = 20, kSegs = 10, kDroppedPerParent = 2;

TraceInfo info() {
  TraceInfo i = sample_trace_info();
  i.start_ns = 0;
  i.end_ns = 1'000'000'000;
  return i;
}

Json offload_finding(const Json& doc) {
  for (auto& f : doc["findings"])
    if (f["kind"] == "offload") return f;
  return Json();
}

// Offloads off: every GSO skb queued 1 ms apart is segmented before the driver; the ring
// is full for the last kDroppedPerParent segments of each, which tun frees unread.
Json segmented() {
  V1Pipeline p;
  for (int i = 0; i < kParents; i++) {
    const uint64_t t = 1000 + i * 1000, parent = 0x10000 + i * 0x1000;
    const uint32_t pgen = 1 + i * 100;
    p.push(Ev{t, parent, pgen, TL_QUEUE, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, kSegs * 1448});
    p.push(Ev{t + 1, parent, pgen, TL_FREE});  // consumed by the segmentation
    for (int s = 0; s < kSegs; s++) {
      const uint64_t skb = parent + 0x10 * (s + 1), x = t + 2 + s;
      const uint32_t gen = pgen + 1 + s;
      p.push(Ev{x, skb, gen, TL_XMIT, Dir::Tx, 0, 0, "", TL_F_SEGMENT, 0, parent, pgen, 1448});
      if (s >= kSegs - kDroppedPerParent) {
        p.push(Ev{x, skb, gen, TL_FREE, Dir::Tx, 0, 0, "", TL_F_DROP, 5});  // FULL_RING
        continue;
      }
      p.push(Ev{x + 50, skb, gen, TL_READ, Dir::Tx, 1, 4252, "openvpn"});
      p.push(Ev{x + 51, skb, gen, TL_FREE, Dir::Tx, 1, 4252, "openvpn"});
    }
  }
  p.flush();
  return summarized(info(), p);
}

// Offloads on: the same GSO skbs reach the driver whole and the VPN reads each at once.
Json whole() {
  V1Pipeline p;
  for (int i = 0; i < kParents; i++) {
    const uint64_t t = 1000 + i * 1000, skb = 0x10000 + i * 0x1000;
    const uint32_t gen = 1 + i;
    p.push(Ev{t, skb, gen, TL_QUEUE, Dir::Tx, 0, 0, "", TL_F_GSO, 0, 0, 0, kSegs * 1448});
    p.push(Ev{t + 1, skb, gen, TL_XMIT, Dir::Tx, 0, 0, "", 0, 0, 0, 0, kSegs * 1448});
    p.push(Ev{t + 50, skb, gen, TL_READ, Dir::Tx, 1, 4252, "openvpn"});
    p.push(Ev{t + 51, skb, gen, TL_FREE, Dir::Tx, 1, 4252, "openvpn"});
  }
  p.flush();
  return summarized(info(), p);
}

}  // namespace

// The finding counts what the VPN read: segments tun dropped on a full ring were made
// (they count as segments) but never read, so they are no reads per second.
TEST(Offload, SegmentationFindingCountsReadsNotDroppedSegments) {
  const Json doc = segmented();
  const Json f = offload_finding(doc);
  ASSERT_FALSE(f.is_null());
  const uint64_t reads = kParents * (kSegs - kDroppedPerParent);
  EXPECT_EQ(f["evidence"]["gso_parents"], kParents);
  EXPECT_EQ(f["evidence"]["segments"], kParents * kSegs);
  EXPECT_EQ(f["evidence"]["segments_per_parent"], 10.0);
  EXPECT_EQ(f["evidence"]["reads"], reads);
  EXPECT_EQ(doc["directions"]["tx"]["points"]["read"]["count"], reads);
  // The packets' first points (the parents' queue, inherited) span 19 ms.
  const double per_s = std::round(reads / 0.019);
  EXPECT_EQ(f["evidence"]["reads_per_s"], per_s);
  EXPECT_NE(f["summary"].get<std::string>().find(fmt::format(", {:.0f} reads/s", per_s)), std::string::npos)
      << f["summary"];
  EXPECT_EQ(doc["directions"]["tx"]["dropped"], kParents * kDroppedPerParent);
  EXPECT_EQ(doc["directions"]["tx"]["anomalies"]["gso_whole"], 0);
}

// Offloads on: no segmentation finding; the super-packets are counted and said.
TEST(Offload, SuperPacketsReadWholeAreNoFindingButANote) {
  const Json doc = whole();
  EXPECT_TRUE(offload_finding(doc).is_null());
  const Json& an = doc["directions"]["tx"]["anomalies"];
  EXPECT_EQ(an["gso_whole"], kParents);
  EXPECT_EQ(an["gso_parents"], 0);
  EXPECT_EQ(an["segments"], 0);
  EXPECT_EQ(doc["directions"]["tx"]["packets"], kParents);
  std::ostringstream out;
  render_report(out, doc);
  EXPECT_NE(
      out.str().find("note: 20 GSO skbs reached the driver whole: the reader gets each as one super-packet"),
      std::string::npos)
      << out.str();
}
