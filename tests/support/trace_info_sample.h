// SPDX-License-Identifier: MIT
// A sample TraceInfo for tests (unit and fuzz): tap0 (ifindex 3) in namespace vpnA, owned by
// openvpn 4252, with two drop reasons and one drop location. The capture window and clock
// offset are left at zero: each test sets its own, and changes whatever else it depends on.
#pragma once

#include "core/model/trace_info.h"

namespace tunlat::test {

inline TraceInfo sample_trace_info() {
  TraceInfo info;
  info.tunlat_version = "0.1.0";
  info.kernel = "6.18.44";
  info.dev_name = "tap0";
  info.ifindex = 3;
  info.netns_name = "vpnA";
  info.netns_inode = 4026532300;
  info.kind = DeviceKind::Tap;
  info.owners = {{4252, "openvpn", {81234}}};
  info.drop_reasons = {{2, "SKB_DROP_REASON_NOT_SPECIFIED"}, {5, "SKB_DROP_REASON_FULL_RING"}};
  info.symbols = {{0xffffffff81000010ull, "tun_net_xmit"}};
  return info;
}

}  // namespace tunlat::test
