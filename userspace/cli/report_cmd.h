// SPDX-License-Identifier: MIT
// `tunlat report FILE`: the same analysis as a live trace, from a recording, unprivileged.
#pragma once

#include <string>

#include "cli/final_report.h"
#include "cli/pcapng_out.h"

namespace tunlat {

struct ReportArgs {
  std::string recording;
  std::string second;  // the tunnel's other end, recorded apart: the two are merged
  std::string json_path;
  double stall_ms = 200;  // as trace's
  VisualArgs visual;
  PcapngArgs pcapng;
};

int run_report(const ReportArgs& a);

}  // namespace tunlat
