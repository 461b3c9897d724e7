// SPDX-License-Identifier: MIT
// Findings about TCP flows' own timing: Nagle meeting delayed ACKs (seed 003).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/diagnose/findings.h"
#include "core/format/format.h"
#include "core/format/units.h"
#include "core/model/flow.h"

namespace tunlat {

namespace {

// A pattern, not an accident: this many exchanges, and at least this share of the
// direction's small segments held until a delayed ACK (write-write-read holds one in two).
constexpr uint64_t kMinExchanges = 5;
constexpr double kMinShare = 0.1;
constexpr size_t kMaxFlowFindings = 3;  // the flows that waited longest

std::string dur(uint64_t ns) { return format_duration_us(static_cast<double>(ns) / 1e3); }

struct Candidate {
  const FlowStat* flow;
  Dir dir;
};

Finding nagle_finding(const FlowStat& f, Dir d) {
  const FlowDirStats& s = f.dirs[static_cast<int>(d)];
  const NagleStats& n = s.nagle;
  const std::string flow = flow_name(f.key);
  // The data's sender: the host's side for TX, the side behind the device for RX.
  const std::string sender = flow_endpoint(f.key, d == Dir::Tx),
                    receiver = flow_endpoint(f.key, d != Dir::Tx);
  const uint64_t span = s.last_ts > s.first_ts ? s.last_ts - s.first_ts : 0;
  const double share =
      span ? std::min(1.0, static_cast<double>(n.wait.sum()) / static_cast<double>(span)) : 0;
  Finding fd;
  fd.kind = FindingKind::NagleDelayedAck;
  fd.severity = Severity::Warning;
  fd.weight = static_cast<double>(n.wait.sum());
  fd.verdict = fmt::format(
      "{}: Nagle meets delayed ACK (write-write-read): {} times {} held a small segment until {} "
      "acknowledged the "
      "one before, {} late (p50{}); each exchange waited {} (p50, p90 {}){}",
      flow, n.exchanges, sender, receiver, dur(n.ack_delay.quantile(0.5)),
      s.rtt.count() ? ", its fastest ACK " + dur(s.rtt.min()) : "", dur(n.wait.quantile(0.5)),
      dur(n.wait.quantile(0.9)), span ? fmt::format(", {:.0f} % of the flow's time", share * 100) : "");
  fd.evidence = {{"exchanges", n.exchanges},
                 {"small_segments", n.small_segments},
                 {"wait_p50_us", us(n.wait.quantile(0.5))},
                 {"wait_p90_us", us(n.wait.quantile(0.9))},
                 {"ack_delay_p50_us", us(n.ack_delay.quantile(0.5))},
                 {"ack_delay_p90_us", us(n.ack_delay.quantile(0.9))},
                 {"fastest_ack_us", s.rtt.count() ? Json(us(s.rtt.min())) : Json(nullptr)},
                 {"waited_s", std::round(static_cast<double>(n.wait.sum()) / 1e6) / 1e3},
                 {"share_of_time", span ? Json(std::round(share * 1000) / 1000) : Json(nullptr)}};
  fd.where = Json{{"direction", dir_name(d)}, {"stage", nullptr},    {"process", nullptr}, {"flow", flow},
                  {"sender", sender},         {"receiver", receiver}};
  fd.remedy = fmt::format(
      "set TCP_NODELAY on the sender ({}), or have it write each request whole (one write, writev, "
      "TCP_CORK); "
      "else have the receiver ({}) ACK at once: TCP_QUICKACK after each read, or the route's quickack 1",
      sender, receiver);
  return fd;
}

}  // namespace

void nagle_findings(const Analysis& a, std::vector<Finding>& out) {
  std::vector<Candidate> found;
  for (const auto& [id, f] : a.flows().flows()) {
    if (!f.defined || id == kOtherFlow) continue;
    for (Dir d : kDirs) {
      const NagleStats& n = f.dirs[static_cast<int>(d)].nagle;
      if (n.exchanges >= kMinExchanges && static_cast<double>(n.exchanges) >= kMinShare * n.small_segments)
        found.push_back({&f, d});
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const Candidate& x, const Candidate& y) {
    return x.flow->dirs[static_cast<int>(x.dir)].nagle.wait.sum() >
           y.flow->dirs[static_cast<int>(y.dir)].nagle.wait.sum();
  });
  for (size_t i = 0; i < found.size() && i < kMaxFlowFindings; i++)
    out.push_back(nagle_finding(*found[i].flow, found[i].dir));
}

}  // namespace tunlat
