// SPDX-License-Identifier: MIT
// Chrome trace-event JSON of the packets' spans, for ui.perfetto.dev and chrome://tracing.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <set>

#include "core/analyse/span.h"
#include "core/report/visual.h"

namespace tunlat {

namespace {

// One synthetic process per device and direction holds the span tracks; far above any
// pid_max, so they never collide with the real processes named in the metadata.
struct Tracks {
  uint64_t pid[2];
  explicit Tracks(size_t end) : pid{1'000'000'001 + 2 * end, 1'000'000'002 + 2 * end} {}
};

std::string quoted(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

class Writer {
 public:
  Writer(std::ostream& out, uint64_t base_ns) : out_(out), base_(base_ns) {}
  // ts in microseconds from the base, with ns precision (the format's unit is the us).
  std::string ts(uint64_t ns) const {
    const uint64_t d = ns > base_ ? ns - base_ : 0;
    return fmt::format("{}.{:03d}", d / 1000, static_cast<int>(d % 1000));
  }
  void event(const std::string& body) {
    out_ << (first_ ? "\n" : ",\n") << '{' << body << '}';
    first_ = false;
  }

 private:
  std::ostream& out_;
  uint64_t base_;
  bool first_ = true;
};

std::string who(const Visuals& v, uint32_t pid, uint32_t tid) {
  auto it = v.threads().find(tid);
  const std::string comm = it != v.threads().end() ? it->second.second : "";
  return fmt::format("{} (pid {}, tid {})", comm, pid, tid);
}

void packet_events(Writer& w, const VisualInput& in, const Tracks& tr, const PacketTrace& p, uint64_t id) {
  const int d = static_cast<int>(p.dir);
  const auto spans = spans_of(p.dir, in.info.kind);
  const std::string_view cat = dir_name(p.dir);
  bool first = true;
  for (size_t i = 0; i < spans.size(); i++) {
    const SpanDef& sd = spans[i];
    if (span_at(p.dir, i) == Span::Total) continue;  // the spans are the track; total is their sum
    const uint64_t from = p.ts[sd.from], to = p.span_end[i];
    if (!from || !to || to < from) continue;
    // Async slices keyed by packet: overlapping packets never break nesting. Perfetto puts
    // each (cat, id) on a track of its own and groups a process's async tracks by name:
    // a cat per direction and span keeps a packet's spans apart, so that each span is
    // one group ("ring" holds the ring waits of every packet).
    const std::string track = fmt::format("{}.{}", cat, sd.name);
    std::string args;
    if (first) {
      args = fmt::format(",\"args\":{{\"len\":{}", p.len);
      if (p.pid) args += fmt::format(",\"by\":{}", quoted(who(in.visuals, p.pid, p.tid)));
      args += "}";
      first = false;
    }
    w.event(
        fmt::format("\"ph\":\"b\",\"cat\":\"{}\",\"name\":\"{}\",\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{}{}",
                    track, sd.name, id, tr.pid[d], tr.pid[d], w.ts(from), args));
    w.event(
        fmt::format("\"ph\":\"e\",\"cat\":\"{}\",\"name\":\"{}\",\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{}",
                    track, sd.name, id, tr.pid[d], tr.pid[d], w.ts(to)));
  }
  // The VPN's read() (TX) or write() (RX) on its own thread's track.
  const int at = p.dir == Dir::Tx ? TL_READ : TL_INJECT;
  if (p.tid && p.ts[at])
    w.event(
        fmt::format("\"ph\":\"i\",\"s\":\"t\",\"cat\":\"{}\",\"name\":\"{}\",\"pid\":{},\"tid\":{},\"ts\":{}",
                    cat, p.dir == Dir::Tx ? "read" : "write", p.pid, p.tid, w.ts(p.ts[at])));
}

// A counter holds its value until the next sample: only changes are written, which keeps
// quiet stretches (and an idle direction) out of the file.
void counters(Writer& w, const Tracks& tr, const Timeline& t, DeviceKind kind) {
  const double secs = t.bin_ns() / 1e9;
  std::string last[2][2];
  for (size_t b = 0; b < t.bins().size(); b++) {
    const TimeBin& bin = t.bins()[b];
    const uint64_t at = t.start_ns() + b * t.bin_ns();
    for (Dir d : kDirs) {
      const int di = static_cast<int>(d);
      std::string pps, waiting;
      for (int p : points_of(d))
        pps +=
            fmt::format("{}\"{}\":{:.0f}", pps.empty() ? "" : ",", point_name(p), bin.passed[di][p] / secs);
      const auto spans = spans_of(d, kind);
      for (size_t s = 0; s + 1 < spans.size(); s++)  // total is the sum of the others
        waiting += fmt::format("{}\"{}\":{:.2f}", waiting.empty() ? "" : ",", spans[s].name,
                               bin.waiting_ns[di][s] / static_cast<double>(t.bin_ns()));
      if (pps != last[di][0])
        w.event(fmt::format("\"ph\":\"C\",\"name\":\"packets/s\",\"pid\":{},\"ts\":{},\"args\":{{{}}}",
                            tr.pid[di], w.ts(at), pps));
      if (waiting != last[di][1])
        w.event(fmt::format("\"ph\":\"C\",\"name\":\"packets waiting\",\"pid\":{},\"ts\":{},\"args\":{{{}}}",
                            tr.pid[di], w.ts(at), waiting));
      last[di][0] = std::move(pps);
      last[di][1] = std::move(waiting);
    }
  }
}

// The earliest time any of the ends saw: the trace's zero.
uint64_t base_of(const std::vector<VisualInput>& ins) {
  uint64_t base = 0;
  for (const VisualInput& in : ins) {
    const Timeline& t = in.visuals.timeline();
    auto earlier = [&](uint64_t ts) {
      if (ts && (!base || ts < base)) base = ts;
    };
    earlier(in.info.start_ns);
    if (!t.empty()) earlier(t.start_ns());
    for (const PacketTrace& p : in.visuals.packets())
      for (uint64_t ts : p.ts) earlier(ts);
  }
  return base;
}

// One device's tracks; label (several devices) starts their names.
void end_events(Writer& w, const VisualInput& in, const Tracks& tr, const std::string& label, uint64_t base,
                const std::string& limit_note, uint64_t& id) {
  const Visuals& v = in.visuals;
  const size_t left_out = v.packets_not_kept();
  const std::string& dev = in.info.dev_name;
  const std::string prefix = label.empty() ? "" : label + " ";
  // Names: the direction processes, and the VPN's processes and threads.
  for (int d = 0; d < 2; d++) {
    const Dir dir = d ? Dir::Rx : Dir::Tx;
    w.event(fmt::format("\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"args\":{{\"name\":{}}}",
                        tr.pid[d],
                        quoted(prefix + (d ? "RX: " : "TX: ") + path_label(dir, in.info.kind, dev))));
    w.event(
        fmt::format("\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{},\"args\":{{\"sort_index\":{}}}",
                    tr.pid[d], static_cast<int64_t>(tr.pid[d] - 1'000'000'001) - 10));
  }
  std::set<uint32_t> named;  // a VPN is often both the reader and the writer
  for (const char* dir : {"tx", "rx"})
    for (const Json& p : in.summary["directions"][dir]["processes"])
      if (named.insert(p["pid"].get<uint32_t>()).second)
        w.event(fmt::format("\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"args\":{{\"name\":{}}}",
                            p["pid"].get<uint32_t>(), quoted(p["comm"].get<std::string>())));
  for (const auto& [tid, pc] : v.threads())
    w.event(
        fmt::format("\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}",
                    pc.first, tid, quoted(pc.second)));
  // The limit, stated where the trace is looked at too: an instant at the start.
  w.event(fmt::format("\"ph\":\"i\",\"s\":\"p\",\"name\":\"tunlat: {}\",\"pid\":{},\"tid\":{},\"ts\":{}",
                      left_out ? "packet limit" : "all packets", tr.pid[0], tr.pid[0], w.ts(base)) +
          ",\"args\":{\"note\":" + quoted(limit_note) + "}");

  for (const PacketTrace& p : v.packets()) packet_events(w, in, tr, p, id++);
  counters(w, tr, v.timeline(), in.info.kind);
  for (const DropMark& d : v.drops())
    w.event(
        fmt::format("\"ph\":\"i\",\"s\":\"p\",\"cat\":\"drop\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{},"
                    "\"args\":{{\"location\":{}}}",
                    quoted("drop " + in.info.drop_reason_name(d.reason)), tr.pid[static_cast<int>(d.dir)],
                    tr.pid[static_cast<int>(d.dir)], w.ts(d.ts), quoted(in.info.location_name(d.location))));
  // Stalls (summary "stalls": whatever objects with start_s and duration_ms it holds).
  for (const Json& s : in.summary["stalls"]) {
    if (!s.is_object() || !s.contains("start_s") || !s.contains("duration_ms")) continue;
    if (!s["start_s"].is_number() || !s["duration_ms"].is_number()) continue;
    const int d = s.contains("direction") && s["direction"] == dir_name(Dir::Rx) ? 1 : 0;
    const double start_us = s["start_s"].get<double>() * 1e6 + (in.info.start_ns - base) / 1e3;
    w.event(
        fmt::format("\"ph\":\"X\",\"cat\":\"stall\",\"name\":\"stall\",\"pid\":{},\"tid\":{},\"ts\":{:.3f},"
                    "\"dur\":{:.3f},\"args\":{}",
                    tr.pid[d], tr.pid[d], std::max(0.0, start_us), s["duration_ms"].get<double>() * 1e3,
                    s.dump(-1, ' ', false, Json::error_handler_t::replace)));
    // An idle stall's phases, nested in it, and each send of the hole by TCP's timer.
    const double shift_us = (in.info.start_ns - base) / 1e3;
    if (s.contains("phases") && s["phases"].is_array())
      for (const Json& ph : s["phases"]) {
        if (!ph.is_object() || !ph.contains("start_s") || !ph["start_s"].is_number() ||
            !ph.contains("duration_ms") || !ph["duration_ms"].is_number() || !ph.contains("kind") ||
            !ph["kind"].is_string())
          continue;
        w.event(fmt::format(
            "\"ph\":\"X\",\"cat\":\"stall_phase\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{:.3f},\"dur\":{:."
            "3f},"
            "\"args\":{}",
            quoted(ph["kind"].get<std::string>()), tr.pid[d], tr.pid[d],
            std::max(0.0, ph["start_s"].get<double>() * 1e6 + shift_us),
            ph["duration_ms"].get<double>() * 1e3, ph.dump(-1, ' ', false, Json::error_handler_t::replace)));
      }
    if (s.contains("timer") && s["timer"].is_object() && s["timer"].contains("hole_resent_s") &&
        s["timer"]["hole_resent_s"].is_array())
      for (const Json& t : s["timer"]["hole_resent_s"])
        if (t.is_number())
          w.event(fmt::format(
              "\"ph\":\"i\",\"s\":\"t\",\"cat\":\"stall_phase\",\"name\":\"hole sent again\",\"pid\":{},"
              "\"tid\":{},\"ts\":{:.3f}",
              tr.pid[d], tr.pid[d], std::max(0.0, t.get<double>() * 1e6 + shift_us)));
  }
}

}  // namespace

size_t write_perfetto(std::ostream& out, const VisualInput& in) { return write_perfetto(out, {in}, {""}); }

size_t write_perfetto(std::ostream& out, const std::vector<VisualInput>& ins,
                      const std::vector<std::string>& labels) {
  const uint64_t base = base_of(ins);
  size_t left_out = 0, limit = 0, kept = 0;
  Json devices = Json::array();
  for (size_t i = 0; i < ins.size(); i++) {
    left_out += ins[i].visuals.packets_not_kept();
    kept += ins[i].visuals.packets().size();
    limit = ins[i].visuals.packet_limit();
    devices.push_back(labels[i].empty() ? ins[i].info.dev_name : labels[i]);
  }
  const std::string limit_note =
      left_out ? fmt::format(
                     "per-packet slices for the first {} packets only ({} more left out: "
                     "--perfetto-packets N raises the limit); counters cover the whole trace",
                     limit, left_out)
               : std::string("every packet of the trace has its slices");
  fmt::print(
      out,
      "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"tool\":\"tunlat {}\",\"{}\":{},\"packet_limit\":{},"
      "\"packets_kept\":{},\"packets_left_out\":{},\"note\":{}}},\n\"traceEvents\":[",
      ins.front().info.tunlat_version, ins.size() == 1 ? "device" : "devices",
      ins.size() == 1 ? quoted(ins.front().info.dev_name) : devices.dump(), limit, kept, left_out,
      quoted(limit_note));
  Writer w(out, base);
  uint64_t id = 1;
  for (size_t i = 0; i < ins.size(); i++) end_events(w, ins[i], Tracks(i), labels[i], base, limit_note, id);
  out << "\n]}\n";
  return left_out;
}

}  // namespace tunlat
