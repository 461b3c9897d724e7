// SPDX-License-Identifier: MIT
// Turns journeys and the event stream into per-direction latency, pacing and drop statistics.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/analyse/flows.h"
#include "core/analyse/histogram.h"
#include "core/analyse/stalls.h"
#include "core/correlate/correlator.h"
#include "core/model/device_model.h"

namespace tunlat {

struct ThreadStat {
  std::string comm;
  uint64_t packets = 0;
};

// A process (tgid) and the threads (tid) of it that moved the packets.
struct ProcStat {
  std::string comm;  // its main thread's (tid == pid) if that one was seen, else the first's
  uint64_t packets = 0;
  std::map<uint32_t, ThreadStat> threads;

  void add(uint32_t pid, uint32_t tid, const std::string& thread_comm);
};

struct DropStat {
  uint64_t count = 0;
  uint32_t pid = 0;  // the last process seen dropping it
  std::string comm;
  std::map<uint32_t, ThreadStat> threads;  // of every process seen dropping it, by tid
};

// A drop of an skb not the device's that hurts its tunnel (TL_DROP_ELSEWHERE), by where
// it happened: scope (TL_DS_*), reason, location, and the owner's socket (underlay).
struct ElsewhereKey {
  uint16_t scope;
  int32_t reason;
  uint64_t location;
  uint64_t socket;  // its inode: whose underlay it was (TraceInfo owners' sockets), or 0
  bool operator<(const ElsewhereKey& o) const {
    return std::tie(scope, reason, location, socket) < std::tie(o.scope, o.reason, o.location, o.socket);
  }
};
struct ElsewhereDrops {
  uint64_t count = 0, bytes = 0;
};

// Bounds of the maps keyed by what a recording says (pids, drop reasons and locations,
// CPUs): a hostile file must not grow them without end. Beyond them, packets are counted
// under one "others" entry: pid kOtherPids, drop key kOtherDrops; CPUs from kMaxCpus on
// under the last CPU slot.
inline constexpr size_t kMaxProcs = 1024;
inline constexpr size_t kMaxDropKeys = 1024;
inline constexpr size_t kMaxCpus = 8192;           // the kernel's own NR_CPUS limit on x86
inline constexpr size_t kMaxThreadsPerProc = 256;  // per process or drop key; others under tid 0
inline constexpr uint32_t kOtherPids = 0;          // no packet names pid 0 as its reader or writer
inline constexpr std::pair<int32_t, uint64_t> kOtherDrops{INT32_MIN, 0};

// Everything measured for one direction. Span indices follow kTxSpans / kRxSpans.
// How fast a span releases packets while it holds a queue (its service rate): each packet
// that was already waiting when the one before it left took the time between the two to
// be served. A tbf's rate, a reader's speed, whatever arrives and however long idle. Fed in
// the order packets leave, which TX journeys end in.
struct SpanExit {
  uint64_t last_ns = 0;  // when the last packet left
  uint64_t busy_ns = 0, busy_bytes = 0, busy_packets = 0;
  void add(uint64_t enter, uint64_t leave, uint32_t len) {
    if (leave < last_ns) return;  // a moment late, from another CPU
    if (last_ns && enter < leave && enter <= last_ns) {
      busy_ns += leave - last_ns;
      busy_bytes += len;
      busy_packets++;
    }
    last_ns = leave;
  }
  double mbit_s() const { return busy_ns ? busy_bytes * 8e3 / static_cast<double>(busy_ns) : 0; }
  double pps() const { return busy_ns ? busy_packets * 1e9 / static_cast<double>(busy_ns) : 0; }
};

struct DirStats {
  uint64_t packets = 0, bytes = 0;
  uint64_t first_ts = 0, last_ts = 0;                      // first point of the first / last packet counted
  std::array<Histogram, kMaxSpans> spans;                  // indexed as spans_of(dir)
  std::array<SpanExit, kMaxSpans> exits;                   // as spans
  std::array<Histogram, kPoints> gaps;                     // pacing: gap to the previous packet at each point
  std::array<uint64_t, kPoints> passed{};                  // events at each point
  std::array<std::vector<uint64_t>, kPoints> cpus;         // packets per CPU at each point
  std::map<uint32_t, ProcStat> procs;                      // reader (TX) or writer (RX) by pid (tgid)
  std::map<uint32_t, ProcStat> receivers;                  // RX: the applications that read the packets
  std::map<std::pair<int32_t, uint64_t>, DropStat> drops;  // (reason, location)
  uint64_t dropped = 0;
  uint64_t evicted = 0;        // free never arrived and the packet never finished its path
  uint64_t unfinished = 0;     // still in flight when the trace ended
  uint64_t free_untraced = 0;  // finished its path; its free has no tracepoint
  uint64_t unread = 0;         // RX: a TCP socket took its data, no read of it was seen
                               // (merged into the segment queued before it, or never read)
  uint64_t stray = 0;          // first seen mid-path (followed before the trace started)
  uint64_t no_queue = 0;       // TX: reached xmit without a queue point of its own or its
                               // GSO parent's (a segment of a parent not recognised as GSO)
  uint64_t segments = 0;       // GSO segments counted as packets
  uint64_t gso_parents = 0;    // GSO skbs split before the driver
  uint64_t gso_whole = 0;      // TX: GSO skbs handed to the driver whole (on a tun/tap: the
                               // VPN reads super-packets, offloads on its fd)
  uint64_t xmit_errors = 0;
  uint64_t negative = 0;  // spans that came out negative (clock skew): not counted

  void clear() { *this = DirStats(); }
};

// A packet passing a point, as pacing needs it: 16 bytes, so reordering them is cheap.
struct PointPass {
  uint64_t ts_ns;
  uint16_t cpu;
  uint8_t point, dir;
  uint32_t pad;

  // Does e count for pacing? A segment's copy of its parent's point is not a packet
  // passing it, and xmit_done is not a point a packet passes.
  static bool of(const PacketPass& e, PointPass& out) {
    if (e.point == TL_XMIT_DONE || (e.flags & TL_F_INHERITED)) return false;
    out = {e.ts_ns, e.cpu, e.point, e.dir, 0};
    return true;
  }
};
// Time alone: passes at the same ns give the same gaps and counts in any order.
inline bool reorder_before(const PointPass& a, const PointPass& b) { return a.ts_ns < b.ts_ns; }

// A stage that holds packets and releases none, as the live view sees it.
struct LiveStall {
  std::optional<Span> stage;  // the stuck queue span; nullopt when nothing is stuck
  uint64_t waiting = 0;       // packets in it
  uint64_t since_ns = 0;      // the last time one left it
  double stuck_s = 0;         // for how long, as of the question
};

// What else wants every pass and every counted packet: the visual reports' timeline, flame
// and packet log (core/analyse/visuals.h). Called after the statistics are counted.
class AnalysisObserver {
 public:
  virtual ~AnalysisObserver() = default;
  virtual void on_pass(const PointPass& p) = 0;
  virtual void on_packet(const Journey& j) = 0;  // counted as a packet of its direction
  virtual void on_device_kind(DeviceKind) {}     // the device's model: its spans' names
};

// Two observers where the analysis takes one: the visual reports and --pcapng.
class ObserverPair : public AnalysisObserver {
 public:
  ObserverPair(AnalysisObserver* a, AnalysisObserver* b) : a_(a), b_(b) {}
  void on_pass(const PointPass& p) override {
    a_->on_pass(p);
    b_->on_pass(p);
  }
  void on_packet(const Journey& j) override {
    a_->on_packet(j);
    b_->on_packet(j);
  }
  void on_device_kind(DeviceKind k) override {
    a_->on_device_kind(k);
    b_->on_device_kind(k);
  }

 private:
  AnalysisObserver *a_, *b_;
};

class Analysis : public JourneySink {
 public:
  // stall_ns: a queue stage that holds packets and releases none for this long is stuck.
  explicit Analysis(uint64_t stall_ns = 200'000'000, DeviceKind kind = DeviceKind::Tap);
  // The device's model (a recording says it in its header, before its events): which TX
  // stage is a queue, and the spans' names.
  void set_device_kind(DeviceKind k);
  DeviceKind device_kind() const { return kind_; }
  ListView<SpanDef> spans(Dir d) const { return spans_of(d, kind_); }

  void on_pass(const PointPass& p);  // every point passed, in time order per direction and point
  void on_drop_elsewhere(const DropElsewhere& d);
  const std::map<ElsewhereKey, ElsewhereDrops>& drops_elsewhere() const { return elsewhere_; }
  void on_journey(const Journey& j, End how) override;
  // The trace ended at end_ns, after the last journey: closes what is still stuck.
  void finish(uint64_t end_ns);

  // nullptr (the default) costs one predictable branch per pass and per packet, so the
  // analysis runs at full speed when no visual output is asked for.
  void set_observer(AnalysisObserver* o) {
    observer_ = o;
    if (o) o->on_device_kind(kind_);
  }
  AnalysisObserver* observer() const { return observer_; }

  const DirStats& total(Dir d) const { return total_[static_cast<int>(d)]; }
  FlowTable& flows() { return flows_; }
  const FlowTable& flows() const { return flows_; }
  // Stuck stalls of every watched stage, in the order they began.
  std::vector<Stall> stalls() const;
  uint64_t stall_threshold_ns() const { return stall_ns_; }
  // Is a TX queue stage stuck now (CLOCK_MONOTONIC)? From the passes seen so far, which
  // lag the kernel by the reorder window: lag_ns is added to the threshold.
  LiveStall stuck_now(uint64_t now_ns, uint64_t lag_ns) const;

 private:
  void count(DirStats& s, const Journey& j);
  uint64_t stall_ns_;
  // TX packets' journeys end in the order they leave the tun ring (at the VPN's read and
  // free), as StageWatch needs. RX packets' end in no such order (their frees are often
  // not traced): their stages are not watched yet.
  DeviceKind kind_;
  std::vector<StageWatch> watches_;
  std::map<ElsewhereKey, ElsewhereDrops> elsewhere_;  // at most kMaxDropKeys, then one "others"
  std::array<DirStats, 2> total_;
  FlowTable flows_;
  // The reader/writer is nearly always the same process: skip the map lookup then.
  std::array<uint32_t, 2> last_pid_{};
  std::array<ProcStat*, 2> last_proc_{};

  std::array<std::array<uint64_t, kPoints>, 2> last_at_{};
  AnalysisObserver* observer_ = nullptr;
};

// What happened between two snapshots of the same totals: the live view's interval.
DirStats since(const DirStats& now, const DirStats& before);

// The time a packet reached the end of a span, with the fallbacks docs/design.md describes.
uint64_t span_end(const Journey& j, const SpanDef& sd);

}  // namespace tunlat
