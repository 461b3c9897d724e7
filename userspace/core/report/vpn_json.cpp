// SPDX-License-Identifier: MIT
// The summary's "vpn" object: the VPN process's state, time per packet, threads and CPUs.
#include "core/report/vpn_json.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/analyse/analysis.h"
#include "core/analyse/vpn_figures.h"
#include "core/format/format.h"
#include "core/format/units.h"

namespace tunlat {

namespace {

// How read and send were paired ("paired_by"): in order per thread, or per process.
const char* paired_by_name(bool by_thread) { return by_thread ? "thread" : "process"; }

// Shares of a split's time by state, and the task that ran most instead while runnable.
Json states_json(const StateSplit& s) {
  uint64_t total = 0;
  for (uint64_t ns : s.ns) total += ns;
  Json j = Json::object();
  if (!total) return j;
  for (int st = 0; st < kTaskStates; st++)
    if (s.ns[st]) j[std::string(task_state_name(st))] = round3(static_cast<double>(s.ns[st]) / total);
  return j;
}

Json pair_json(const PairStats& s) {
  const Pairing& p = s.chosen();
  const double in_share = s.ins ? static_cast<double>(p.paired) / s.ins : 0;
  const double out_share = s.outs ? static_cast<double>(p.paired) / s.outs : 0;
  // Reads and sends pair one to one only where the VPN moves one packet per read: many
  // more reads than writes (a UDP socket read, then its free, both counted) pair wrongly,
  // and their time apart is no packet's. Then no time is said.
  const bool one_to_one = in_share >= 0.9 && out_share >= 0.9;
  const auto q = [&](double v) { return one_to_one ? Json(v) : Json(nullptr); };
  return Json{{"in", s.ins},
              {"out", s.outs},
              {"one_to_one", one_to_one},
              {"paired_by", paired_by_name(s.by_thread())},
              {"paired", p.paired},
              {"paired_share_of_in", round3(in_share)},
              {"paired_share_of_out", round3(out_share)},
              {"same_thread", p.same_thread},
              {"same_thread_share", p.paired ? round3(static_cast<double>(p.same_thread) / p.paired) : 0.0},
              {"batched", p.batched},
              {"unpaired_in", p.unpaired_ins},
              {"unpaired_out", p.unpaired_outs},
              {"other_sockets", s.other_sockets},
              {"p50_us", q(us(p.cost.quantile(0.5)))},
              {"p90_us", q(us(p.cost.quantile(0.9)))},
              {"p99_us", q(us(p.cost.quantile(0.99)))},
              {"mean_us", q(us(p.cost.mean()))},
              {"passer_states", one_to_one ? states_json(p.passer) : Json(nullptr)}};
}

Json cpu_counts(const std::map<uint16_t, uint64_t>& m) {
  Json j = Json::object();
  for (auto& [cpu, n] : m) j[std::to_string(cpu)] = n;
  return j;
}

std::string comm_or(const VpnAnalysis& v, uint32_t tid) {
  std::string c = v.thread_comm(tid);
  return c.empty() ? v.timeline().comm_of(tid) : c;
}

}  // namespace

Json vpn_json(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v) {
  Json j;
  j["sched"] = info.sched.empty() ? "not recorded" : info.sched;
  if (!v.has_sched()) return j;
  const VpnStats& s = v.stats();
  const VpnFigures f = vpn_figures_of(info, a, v);
  Json states = Json::object();
  for (int st = 0; st < kTaskStates; st++)
    states[std::string(task_state_name(st))] = {{"ms", ms(s.ring.ns[st])},
                                                {"share", round3(f.ring_share[st])}};
  std::vector<std::pair<uint64_t, uint32_t>> others;
  for (auto& [tid, ns] : s.ring.ran_instead) others.emplace_back(ns, tid);
  std::sort(others.rbegin(), others.rend());
  Json ran = Json::array();
  for (size_t i = 0; i < others.size() && i < 5; i++)
    ran.push_back({{"tid", others[i].second},
                   {"comm", v.timeline().comm_of(others[i].second)},
                   {"ms", ms(others[i].first)},
                   {"share", f.ring_ns ? round3(static_cast<double>(others[i].first) / f.ring_ns) : 0.0},
                   {"vpn_thread", v.timeline().threads().count(others[i].second) > 0}});
  j["ring_wait"] = {{"packets", s.ring_packets},
                    {"ms", ms(f.ring_ns)},
                    {"states", states},
                    {"ran_instead", ran},
                    {"vpn_threads_share", round3(f.own_threads_share)}};
  j["per_packet"] = {{"tx", pair_json(s.cost[0])}, {"rx", pair_json(s.cost[1])}};
  j["cpu"] = {{"running_ms", ms(f.running_ns)},
              {"cores", round3(f.cores)},
              {"packets", f.moved},
              {"per_packet_us", us(f.cpu_per_packet_ns)},
              {"capacity_pps", std::round(f.capacity_pps)},
              {"capacity_mbit_s", round3(f.capacity_mbit_s)}};
  Json threads = Json::array();
  for (auto& [tid, t] : v.timeline().threads()) {
    Json on = Json::object();
    for (auto& [cpu, ns] : t.running_on) on[std::to_string(cpu)] = ms(ns);
    threads.push_back({{"pid", t.pid},
                       {"tid", tid},
                       {"comm", comm_or(v, tid)},
                       {"running_ms", ms(t.time[TL_TS_RUNNING])},
                       {"runnable_ms", ms(t.time[TL_TS_RUNNABLE])},
                       {"sleeping_ms", ms(t.time[TL_TS_SLEEPING])},
                       {"stopped_ms", ms(t.time[TL_TS_STOPPED])},
                       {"switches", t.switches},
                       {"preemptions", t.preemptions},
                       {"wakeups", t.wakeups},
                       {"sleep_p50_us", us(t.sleeps.quantile(0.5))},
                       {"running_ms_by_cpu", on}});
  }
  j["threads"] = threads;
  j["cpus"] = {{"tx_queue_read_crossed", s.tx_crossed},
               {"tx_queue_read_packets", s.tx_both},
               {"rx_inject_receive_crossed", s.rx_crossed},
               {"rx_inject_receive_packets", s.rx_both},
               {"tx_read", cpu_counts(s.tx_read_cpus)},
               {"rx_receive", cpu_counts(s.rx_receive_cpus)},
               {"vpn_busiest_cpu", f.running_ns ? Json(f.busiest_cpu) : Json(nullptr)},
               {"vpn_busiest_cpu_share", round3(f.busiest_cpu_share)}};
  return j;
}

namespace {
std::string text(const Json& j) { return j.is_string() ? term_safe(j.get<std::string>()) : ""; }
std::string pct(const Json& j) { return fmt::format("{:.0f} %", j.get<double>() * 100); }
}  // namespace

void render_vpn(std::ostream& out, const Json& doc) {
  if (!doc.contains("vpn") || !doc["vpn"].is_object()) return;
  const Json& v = doc["vpn"];
  if (!v.contains("ring_wait")) {
    fmt::print(out, "\nVPN scheduling: {}\n", text(v["sched"]));
    return;
  }
  const Json& rw = v["ring_wait"];
  fmt::print(out, "\nVPN while TX packets waited in the ring ({} packets, {:.1f} ms of waiting):\n",
             rw["packets"].get<uint64_t>(), rw["ms"].get<double>());
  std::string line;
  for (auto& [name, st] : rw["states"].items())
    if (st["share"].get<double>() >= 0.005)
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", term_safe(name), pct(st["share"]));
  fmt::print(out, "  reader {}\n", line.empty() ? "-" : line);
  for (auto& o : rw["ran_instead"])
    fmt::print(out, "  ran instead: {} (tid {}): {} of the wait{}\n", text(o["comm"]),
               o["tid"].get<uint32_t>(), pct(o["share"]),
               o.value("vpn_thread", false) ? " (a thread of the VPN's own)" : "");
  const Json& c = v["cpu"];
  fmt::print(out, "  CPU: {:.2f} cores over the trace; {} per packet moved ({} packets)",
             c["cores"].get<double>(), format_duration_us(c["per_packet_us"].get<double>()),
             c["packets"].get<uint64_t>());
  if (c["capacity_pps"].get<double>() > 0)
    fmt::print(out, " -> at most {} on one core ({:.0f} Mbit/s of this mix)",
               format_rate(c["capacity_pps"].get<double>()), c["capacity_mbit_s"].get<double>());
  fmt::print(out, "\n");
  for (Dir dir : kDirs) {
    const std::string d(dir_name(dir));
    const bool tx = dir == Dir::Tx;
    const Json& p = v["per_packet"][d];
    const std::string what = tx ? "read -> underlay send" : "underlay read -> write";
    // Sends (reads) in the owners' threads' time of sockets not theirs (a softirq's work).
    const uint64_t others = p.value("other_sockets", uint64_t{0});
    const std::string left_out =
        others ? fmt::format("; {} {} of sockets not the VPN's left out (softirq work in its time)", others,
                             tx ? "sends" : "reads")
               : "";
    if (!p["paired"].get<uint64_t>()) {
      if (others) fmt::print(out, "  {} {}: nothing paired{}\n", d, what, left_out);
      continue;
    }
    if (!p.value("one_to_one", true)) {
      fmt::print(out, "  {} {}: not one to one ({} in, {} out): no per-packet time{}\n", d, what,
                 p["in"].get<uint64_t>(), p["out"].get<uint64_t>(), left_out);
      continue;
    }
    // How the pairs were made, said with them: in read order per thread, or per process
    // where the VPN's threads hand packets over (wireguard-go's goroutines).
    const uint64_t paired = p["paired"].get<uint64_t>();
    std::string how;
    if (p["paired_by"] == paired_by_name(true))
      how = "in order per thread";
    else
      how = fmt::format("in order per process: its threads hand packets over, {} of the pairs on one thread",
                        pct(p["same_thread_share"]));
    fmt::print(out, "  {} {}: p50 {} p90 {} p99 {}; paired {} of {} in, {} of {} out, {} ({} batched){}\n", d,
               what, format_duration_us(p["p50_us"].get<double>()),
               format_duration_us(p["p90_us"].get<double>()), format_duration_us(p["p99_us"].get<double>()),
               paired, p["in"].get<uint64_t>(), paired, p["out"].get<uint64_t>(), how,
               p["batched"].get<uint64_t>(), left_out);
    // What the thread passing it on did meanwhile: the writer side's split (RX), the
    // sender's (TX).
    if (p.contains("passer_states") && p["passer_states"].is_object() && !p["passer_states"].empty()) {
      std::string parts;
      for (int st = 0; st < kTaskStates; st++) {  // in the states' own order
        const std::string name(task_state_name(st));
        if (p["passer_states"].contains(name))
          parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", name, pct(p["passer_states"][name]));
      }
      fmt::print(out, "      the {} thread meanwhile: {}\n", tx ? "sending" : "writing", parts);
    }
  }
  for (auto& t : v["threads"])
    fmt::print(out,
               "  thread {} {} (pid {}): running {:.1f} ms, runnable {:.1f} ms, sleeping {:.1f} ms, stopped "
               "{:.1f} ms, "
               "{} switches, {} preempted\n",
               t["tid"].get<uint32_t>(), text(t["comm"]), t["pid"].get<uint32_t>(),
               t["running_ms"].get<double>(), t["runnable_ms"].get<double>(), t["sleeping_ms"].get<double>(),
               t["stopped_ms"].get<double>(), t["switches"].get<uint64_t>(),
               t["preemptions"].get<uint64_t>());
  const Json& cp = v["cpus"];
  if (cp["tx_queue_read_packets"].get<uint64_t>() || cp["rx_inject_receive_packets"].get<uint64_t>())
    fmt::print(out, "  CPUs crossed: TX queue->read {} of {}, RX inject->receive {} of {}\n",
               cp["tx_queue_read_crossed"].get<uint64_t>(), cp["tx_queue_read_packets"].get<uint64_t>(),
               cp["rx_inject_receive_crossed"].get<uint64_t>(),
               cp["rx_inject_receive_packets"].get<uint64_t>());
}

}  // namespace tunlat
