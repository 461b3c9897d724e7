// SPDX-License-Identifier: MIT
// Per direction: the span that holds the packets longest, and where the pacing comes from.
#include "core/analyse/bottleneck.h"

#include <algorithm>

namespace tunlat {

std::array<int, 3> path_points(Dir d) {
  return d == Dir::Tx ? std::array<int, 3>{TL_QUEUE, TL_XMIT, TL_READ}
                      : std::array<int, 3>{TL_INJECT, TL_RECEIVE, TL_DELIVER};
}

int dominant_span(Dir d, const DirStats& s) {
  int best = -1;
  uint64_t best_sum = 0;
  const auto spans = spans_of(d);
  for (size_t i = 0; i < spans.size(); i++) {
    if (spans[i].name == "total") continue;
    if (s.spans[i].sum() > best_sum) best_sum = s.spans[i].sum(), best = static_cast<int>(i);
  }
  return best;
}

std::optional<std::string> pacing_origin(Dir d, const DirStats& s) {
  auto pts = path_points(d);
  std::array<double, 3> gap{};
  for (int i = 0; i < 3; i++) {
    if (s.gaps[pts[i]].count() < kMinPacketsForVerdict) return std::nullopt;
    gap[i] = static_cast<double>(std::max<uint64_t>(s.gaps[pts[i]].quantile(0.5), 1));
  }
  if (gap[2] <= 1.5 * gap[0]) return "upstream";
  int worst = gap[1] / gap[0] >= gap[2] / gap[1] ? 0 : 1;
  return std::string(spans_of(d)[worst].name);
}

}  // namespace tunlat
