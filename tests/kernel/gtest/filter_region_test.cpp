// SPDX-License-Identifier: MIT
// Issue 14: the pcap filter as the kernel runs it, translated into BPF and written over
// the programs' region, against libpcap's own verdicts (pcap_offline_filter on the same
// first TL_SNAP bytes): 42 expressions on tap frames and on tun packets, from a copy and
// read in place.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../../support/filter_cases.h"
#include "core/filter/pcap_filter.h"
#include "filter_region_runner.h"

namespace tunlat {
namespace {

using namespace filter_cases;

// compared: verdicts compared; telling: expressions that take some packets, not all.
void check(bool ether, bool in_place, int& compared, int& telling) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF";
  const std::vector<Bytes> packets = ether ? tap_packets() : ip_packets();
  pcap_t* dead = pcap_open_dead(ether ? DLT_EN10MB : DLT_RAW, 65535);
  ASSERT_NE(dead, nullptr);
  for (const std::string& expr : kExpressions) {
    bpf_program ref{};
    if (pcap_compile(dead, &ref, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      continue;  // e.g. ether on a tun
    std::vector<tl_cbpf_insn> prog;
    std::string err;
    ASSERT_TRUE(compile_filter(expr, ether, prog, err)) << expr << ": " << err;
    std::vector<bool> got;
    bool skip = false;
    if (!run_in_kernel(prog, packets, in_place, got, err, skip)) {
      pcap_freecode(&ref);
      pcap_close(dead);
      if (skip) GTEST_SKIP() << err;
      FAIL() << expr << ": " << err;
    }
    int matched = 0;
    for (size_t i = 0; i < packets.size(); i++) {
      pcap_pkthdr h{};
      h.len = static_cast<bpf_u_int32>(packets[i].size());
      h.caplen = std::min<bpf_u_int32>(h.len, TL_SNAP);
      const bool want = pcap_offline_filter(&ref, &h, packets[i].data()) != 0;
      EXPECT_EQ(got[i], want) << (ether ? "tap" : "tun") << (in_place ? " in place" : "") << " '" << expr
                              << "' on packet " << i << " of " << packets[i].size() << " bytes";
      matched += want;
      compared++;
    }
    telling += matched > 0 && matched < static_cast<int>(packets.size());
    pcap_freecode(&ref);
  }
  pcap_close(dead);
}

TEST(FilterRegion, AgreesWithLibpcapOnTapFrames) {
  int compared = 0, telling = 0;
  check(true, false, compared, telling);
  if (testing::Test::IsSkipped()) return;
  EXPECT_GE(compared, 30 * 20);
  EXPECT_GE(telling, 38);
}

TEST(FilterRegion, AgreesWithLibpcapOnTunPackets) {
  int compared = 0, telling = 0;
  check(false, false, compared, telling);
  if (testing::Test::IsSkipped()) return;
  EXPECT_GE(compared, 30 * 20);
  EXPECT_GE(telling, 30);
}

// The same filters reading the packet where it lies (6.17+), both link types.
TEST(FilterRegion, AgreesWithLibpcapReadingInPlace) {
  for (bool ether : {true, false}) {
    int compared = 0, telling = 0;
    check(ether, true, compared, telling);
    if (testing::Test::IsSkipped()) return;
    EXPECT_GE(compared, 30 * 20);
    EXPECT_GE(telling, 30);
  }
}

}  // namespace
}  // namespace tunlat
