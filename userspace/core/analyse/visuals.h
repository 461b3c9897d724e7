// SPDX-License-Identifier: MIT
// What the visual reports need beyond the summary: timeline, flame data, a capped packet log.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/flame.h"
#include "core/analyse/timeline.h"

namespace tunlat {

// One packet as a per-packet trace shows it: its points' times and who moved it.
struct PacketTrace {
  std::array<uint64_t, kPoints> ts{};          // as Journey::ts, with span_end's fallbacks applied
  std::array<uint64_t, kMaxSpans> span_end{};  // each span's end as the analysis took it
  uint64_t drop_location = 0;
  uint32_t pid = 0, tid = 0, len = 0;
  int32_t drop_reason = 0;
  uint16_t flags = 0;
  Dir dir = Dir::Tx;
};

struct DropMark {
  uint64_t ts;
  Dir dir;
  int32_t reason;
  uint64_t location;
};

struct VisualOptions {
  // Packets kept one by one for the per-packet trace (Perfetto): the first this many.
  // 0 = none. Everything else (timeline, flame) covers the whole trace at bounded size.
  size_t packet_limit = 0;
  static constexpr size_t kMaxDrops = 10'000;   // drop marks kept one by one
  static constexpr size_t kMaxThreads = 4'096;  // thread names kept for metadata
};

// Fed by Analysis (set_observer) with every pass and every packet counted.
class Visuals : public AnalysisObserver {
 public:
  explicit Visuals(const VisualOptions& o = {}) : opts_(o) {
    packets_.reserve(std::min<size_t>(o.packet_limit, 1 << 16));  // fewer copies as it grows
  }

  void on_pass(const PointPass& p) override {
    timeline_.add_pass(p.dir == TL_RX ? Dir::Rx : Dir::Tx, p.point, p.ts_ns);
  }
  void on_packet(const Journey& j) override;
  void on_device_kind(DeviceKind k) override { kind_ = k; }

  // Once the pipeline is flushed, before reading timeline().
  void finish() { timeline_.settle(); }

  const Timeline& timeline() const { return timeline_; }
  const FlameData& flame() const { return flame_; }
  const std::vector<PacketTrace>& packets() const { return packets_; }
  size_t packets_not_kept() const { return packets_not_kept_; }
  const std::vector<DropMark>& drops() const { return drops_; }
  size_t packet_limit() const { return opts_.packet_limit; }
  // comm of the threads that moved kept packets, by tid, and their process by tid.
  const std::map<uint32_t, std::pair<uint32_t, std::string>>& threads() const { return threads_; }

 private:
  VisualOptions opts_;
  DeviceKind kind_ = DeviceKind::Tap;  // its spans' names and ends (on_device_kind)
  Timeline timeline_;
  FlameData flame_;
  std::vector<PacketTrace> packets_;
  size_t packets_not_kept_ = 0;
  std::vector<DropMark> drops_;
  std::map<uint32_t, std::pair<uint32_t, std::string>> threads_;
};

}  // namespace tunlat
