// SPDX-License-Identifier: MIT
// Packet-time per frame path (device; direction; span; process; cpu ...) for flame graphs.
#include "core/analyse/flame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tunlat {

FlameBy parse_flame_by(const std::string& list, bool explicit_) {
  FlameBy out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string name = list.substr(start, end - start);
    start = end + 1;
    const auto* k = std::find_if(std::begin(kFlameKeyNames), std::end(kFlameKeyNames),
                                 [&](const auto& kn) { return kn.first == name; });
    if (k == std::end(kFlameKeyNames)) {
      throw std::invalid_argument(
          fmt::format("--flame-by: unknown frame '{}' (span, flow, process, cpu, state)", name));
    }
    switch (k->second) {
      case FlameKey::Span:
      case FlameKey::Process:
      case FlameKey::Cpu:
        out.keys.push_back(k->second);
        break;
      case FlameKey::Flow:
        // Reserved: a flow frame will sit here (between span and process by default) once
        // the flow analysis exists; until then there is nothing to split by.
        if (explicit_)
          out.notes.push_back(
              "--flame-by flow: no flow data yet (TCP flows are not analysed yet); frame skipped");
        break;
      case FlameKey::State:
        if (explicit_)
          out.notes.push_back(
              "--flame-by state: no scheduler-state data yet (the VPN-process analysis does not provide it "
              "yet); frame skipped");
        break;
    }
  }
  return out;
}

FlameData::Proc& FlameData::find_proc(Dir d, uint32_t pid, const char* comm) {
  const int di = static_cast<int>(d);
  auto it = procs_.find({di, pid});
  if (it == procs_.end()) {
    if (pid && procs_.size() >= kMaxProcesses) return find_proc(d, 0, "");
    it = procs_.emplace(std::make_pair(di, pid), Proc{}).first;
  }
  if (it->second.comm.empty() && comm) it->second.comm.assign(comm, strnlen(comm, TL_COMM_LEN));
  last_[di] = {pid, &it->second};  // std::map: the pointer stays valid
  return it->second;
}

std::string folded_frame(std::string s) {
  for (char& c : s)
    if (c == ';' || c == '\n' || c == '\r') c = '_';
  return s;
}

std::vector<FlameLeaf> flame_leaves(const FlameData& data, const std::string& device, DeviceKind kind,
                                    const std::vector<FlameKey>& by) {
  std::map<std::vector<std::string>, FlameLeaf> paths;  // a std::map: leaves in path order
  for (const auto& [key, proc] : data.procs()) {
    const Dir d = key.first == 1 ? Dir::Rx : Dir::Tx;
    const auto spans = spans_of(d, kind);
    for (size_t i = 0; i < proc.cells.size(); i++) {
      const Histogram& h = proc.cells[i];
      if (!h.count()) continue;
      const size_t span = i % kMaxSpans, cpu = i / kMaxSpans;
      std::vector<std::string> frames{folded_frame(device), std::string(dir_name(d))};
      for (FlameKey k : by) {
        if (k == FlameKey::Span) frames.emplace_back(spans[span].name);
        if (k == FlameKey::Process)
          frames.push_back(key.second ? folded_frame(fmt::format("{} (pid {})", proc.comm, key.second))
                                      : std::string("no process"));
        if (k == FlameKey::Cpu) frames.push_back(fmt::format("cpu {}", cpu));
      }
      FlameLeaf& leaf = paths[frames];
      if (leaf.frames.empty()) {
        leaf.frames = frames;
        leaf.span = static_cast<int>(span);
        leaf.dir = d;
      } else if (leaf.span != static_cast<int>(span)) {
        leaf.span = -1;
      }
      leaf.latency.merge(h);
    }
  }
  std::vector<FlameLeaf> out;
  for (auto& [frames, leaf] : paths) {
    leaf.us = static_cast<uint64_t>(std::llround(static_cast<double>(leaf.latency.sum()) / 1000.0));
    if (leaf.us) out.push_back(std::move(leaf));
  }
  return out;
}

}  // namespace tunlat
