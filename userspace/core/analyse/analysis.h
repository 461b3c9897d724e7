// SPDX-License-Identifier: MIT
// Turns journeys and the event stream into per-direction latency, pacing and drop statistics.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/correlate/correlator.h"
#include "core/analyse/histogram.h"

namespace tunlat {

struct ProcStat {
  std::string comm;
  uint64_t packets = 0;
};

struct DropStat {
  uint64_t count = 0;
  uint32_t pid = 0;  // the last process seen dropping it
  std::string comm;
};

// Everything measured for one direction. Span indices follow kTxSpans / kRxSpans.
struct DirStats {
  uint64_t packets = 0, bytes = 0;
  uint64_t first_ts = 0, last_ts = 0;  // first point of the first / last packet counted
  std::array<Histogram, kMaxSpans> spans;  // indexed as spans_of(dir)
  std::array<Histogram, kPoints> gaps;  // pacing: gap to the previous packet at each point
  std::array<uint64_t, kPoints> passed{};  // events at each point
  std::array<std::vector<uint64_t>, kPoints> cpus;  // packets per CPU at each point
  std::map<uint32_t, ProcStat> procs;  // reader (TX) or writer (RX) by pid
  std::map<std::pair<int32_t, uint64_t>, DropStat> drops;  // (reason, location)
  uint64_t dropped = 0;
  uint64_t evicted = 0;        // free never arrived and the packet never finished its path
  uint64_t unfinished = 0;     // still in flight when the trace ended
  uint64_t free_untraced = 0;  // finished its path; its free has no tracepoint
  uint64_t stray = 0;          // first seen mid-path (followed before the trace started)
  uint64_t segments = 0;       // GSO segments counted as packets
  uint64_t gso_parents = 0;    // GSO skbs split before the driver
  uint64_t xmit_errors = 0;
  uint64_t negative = 0;       // spans that came out negative (clock skew): not counted

  void clear() { *this = DirStats(); }
};

// A packet passing a point, as pacing needs it: 16 bytes, so reordering them is cheap.
struct PointPass {
  uint64_t ts_ns;
  uint16_t cpu;
  uint8_t point, dir;
  uint32_t pad;

  // Does e count for pacing? A segment's copy of its parent's point is not a packet
  // passing it, and xmit_done and comm records are not points a packet passes.
  static bool of(const Event& e, PointPass& out) {
    if (e.point >= kPoints || e.point == TL_XMIT_DONE || (e.flags & TL_F_INHERITED)) return false;
    out = {e.ts_ns, e.cpu, e.point, e.dir, 0};
    return true;
  }
};
// Time alone: passes at the same ns give the same gaps and counts in any order.
inline bool reorder_before(const PointPass& a, const PointPass& b) { return a.ts_ns < b.ts_ns; }

// What else wants every pass and every counted packet: the visual reports' timeline, flame
// and packet log (core/analyse/visuals.h). Called after the statistics are counted.
class AnalysisObserver {
 public:
  virtual ~AnalysisObserver() = default;
  virtual void on_pass(const PointPass& p) = 0;
  virtual void on_packet(const Journey& j) = 0;  // counted as a packet of its direction
};

class Analysis : public JourneySink {
 public:
  void on_pass(const PointPass& p);  // every point passed, in time order per direction and point
  void on_journey(const Journey& j, End how) override;

  // nullptr (the default) costs one predictable branch per pass and per packet, so the
  // analysis runs at full speed when no visual output is asked for.
  void set_observer(AnalysisObserver* o) { observer_ = o; }

  const DirStats& total(Dir d) const { return total_[static_cast<int>(d)]; }

 private:
  void count(DirStats& s, const Journey& j);
  std::array<DirStats, 2> total_;
  // The reader/writer is nearly always the same process: skip the map lookup then.
  std::array<uint32_t, 2> last_pid_{};
  std::array<ProcStat*, 2> last_proc_{};
  std::array<std::array<uint64_t, kPoints>, 2> last_at_{};
  AnalysisObserver* observer_ = nullptr;
};

// What happened between two snapshots of the same totals: the live view's interval.
DirStats since(const DirStats& now, const DirStats& before);

// The time a packet reached the end of a span, with the fallbacks docs/design.md describes.
uint64_t span_end(const Journey& j, int point);

}  // namespace tunlat
