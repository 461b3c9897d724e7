// SPDX-License-Identifier: MIT
// Packet-time per frame path (device; direction; span; process; cpu ...) for flame graphs.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/analyse/histogram.h"
#include "core/model/device_model.h"
#include "core/model/event.h"

namespace tunlat {

// The frames a flame graph can stack under device and direction (--flame-by). Flow and
// state have no data yet (flows come with the TCP flow analysis, the reader's scheduler
// state with the VPN-process analysis): they are accepted and skipped, with a note.
enum class FlameKey { Span, Flow, Process, Cpu, State };
// Their names in --flame-by.
inline constexpr std::pair<std::string_view, FlameKey> kFlameKeyNames[] = {{"span", FlameKey::Span},
                                                                           {"flow", FlameKey::Flow},
                                                                           {"process", FlameKey::Process},
                                                                           {"cpu", FlameKey::Cpu},
                                                                           {"state", FlameKey::State}};

struct FlameBy {
  std::vector<FlameKey> keys;      // as asked, in order
  std::vector<std::string> notes;  // one line each for a frame with no data yet
};
// "span,flow,process" -> keys; an unknown name is an error (std::invalid_argument).
// explicit_: the user asked for these frames, so a frame without data gets a note.
FlameBy parse_flame_by(const std::string& list, bool explicit_);
inline constexpr const char* kDefaultFlameBy = "span,flow,process";

// The non-overlapping spans only (total excluded), so that widths add up to packet-time.
// Kept at the finest grain (direction, span, process, CPU): a frame path is a projection.
class FlameData {
 public:
  static constexpr size_t kMaxProcesses = 1024;  // more distinct pids go to pid 0 ("other")
  static constexpr uint16_t kMaxCpu = 1023;      // higher CPU numbers are counted as this one

  // ns spent by one packet in span `span` of d, moved on by pid; cpu = the CPU of the point
  // that ended the span (ring: the reader's CPU).
  void add(Dir d, size_t span, uint32_t pid, const char* comm, uint16_t cpu, uint64_t ns) {
    Proc& p = proc(d, pid, comm);
    if (cpu > kMaxCpu) cpu = kMaxCpu;
    const size_t i = static_cast<size_t>(cpu) * kMaxSpans + span;
    if (i >= p.cells.size()) p.cells.resize(i + 1);
    p.cells[i].add(ns);
  }

  struct Proc {
    std::string comm;
    std::vector<Histogram> cells;  // [cpu * kMaxSpans + span]: count, sum = packets, ns
  };
  const std::map<std::pair<int, uint32_t>, Proc>& procs() const { return procs_; }

 private:
  Proc& proc(Dir d, uint32_t pid, const char* comm) {
    const auto& last = last_[static_cast<int>(d)];
    return last.second && last.first == pid ? *last.second : find_proc(d, pid, comm);
  }
  Proc& find_proc(Dir d, uint32_t pid, const char* comm);
  std::map<std::pair<int, uint32_t>, Proc> procs_;  // (dir, pid)
  // Nearly every packet of a direction is moved by the same process: skip the lookup.
  std::array<std::pair<uint32_t, Proc*>, 2> last_{};
};

// One line of the folded output: a frame path and the packet-time under it.
struct FlameLeaf {
  std::vector<std::string> frames;  // outer to inner: device, direction, the --flame-by frames
  uint64_t us = 0;                  // weight: microseconds of packet-time, rounded
  Histogram latency;                // the spans added here (count = packets)
  int span = -1;                    // the span of every sample here, or -1 for a mix
  Dir dir = Dir::Tx;
};

// Leaves in path order; leaves weighing less than 1 us are left out (flame tools ignore
// them), so every output built from these adds up the same.
std::vector<FlameLeaf> flame_leaves(const FlameData& data, const std::string& device, DeviceKind kind,
                                    const std::vector<FlameKey>& by);

// A frame name for the folded format: ';' separates frames and a line ends at a newline.
std::string folded_frame(std::string s);

}  // namespace tunlat
