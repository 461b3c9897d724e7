// SPDX-License-Identifier: MIT
// The filter's regions as compiled, in both skeletons (opened, not loaded: no privilege):
// one per point that asks the filter, in the programs of those points. The loader refuses
// a filter with fewer than TL_FILTER_SITES; this says so before it runs, should the
// compiler stop inlining pkt_wanted into each of them (one region then serves several).
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "kernel/filter_patch.h"
extern "C" {
#include "tunlat.h"  // the skeletons' types: struct tl_config
}
#include "tunlat_bpf.skel.h"
#include "tunlat_bpf_compat.skel.h"

using namespace tunlat;

namespace {

// Section -> regions, for the programs that have any.
std::map<std::string, int> regions_of(bpf_object* obj) {
  std::map<std::string, int> out;
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, obj) {
    if (int n = filter_regions(p)) out[bpf_program__section_name(p)] += n;
  }
  return out;
}

const std::map<std::string, int> kExpected = {
    {"raw_tp/net_dev_queue", 2},           {"raw_tp/qdisc_enqueue", 1},  // queue; a macvtap VM's write
    {"raw_tp/netif_receive_skb", 1},                                     // a frame for a macvtap's VM
    {"raw_tp/net_dev_start_xmit", 1},      {"raw_tp/netif_rx_entry", 1},
    {"raw_tp/netif_receive_skb_entry", 1}, {"raw_tp/netif_receive_skb_list_entry", 1},
    {"raw_tp/napi_gro_receive_entry", 1},
};

}  // namespace

TEST(FilterSites, OneRegionPerPointThatAsksTheFilter) {
  int total = 0;
  for (const auto& [section, n] : kExpected) total += n;
  EXPECT_EQ(total, TL_FILTER_SITES);

  tunlat_bpf* fast = tunlat_bpf__open();
  ASSERT_NE(fast, nullptr);
  EXPECT_EQ(regions_of(fast->obj), kExpected);
  tunlat_bpf__destroy(fast);

  tunlat_bpf_compat* compat = tunlat_bpf_compat__open();
  ASSERT_NE(compat, nullptr);
  EXPECT_EQ(regions_of(compat->obj), kExpected);
  tunlat_bpf_compat__destroy(compat);
}
