// SPDX-License-Identifier: MIT
// Findings about the VPN process: stopped, starved of CPU, CPU-bound, paced by a timer.
#include <fmt/format.h>

#include <cmath>

#include "core/analyse/vpn.h"
#include "core/analyse/vpn_figures.h"
#include "core/diagnose/findings.h"
#include "core/format/format.h"
#include "core/format/units.h"

namespace tunlat {

namespace {

// Shares of the TX ring wait that make a state the answer to "why did packets wait".
constexpr double kStateShare = 0.3;
constexpr double kSleepShare = 0.5;
// A thread on a CPU this much of the trace is CPU-bound: it has no time to spare.
constexpr double kCpuBound = 0.85;
constexpr uint64_t kMinPackets = 100;
// A reader that waited for a CPU this long per packet, on average, is raised; less is
// said (a prompt reader on a busy machine: a kworker cleaning up a netns took its CPU for
// 34 % of ring waits of tens of us, and no one would feel it).
constexpr uint64_t kContentionWaitNs = 100'000;

std::string pct(double share) { return fmt::format("{:.0f} %", share * 100); }
std::string dur_ns(double ns) { return format_duration_us(ns / 1e3); }

// "openvpn (pid 4252)": the owner's name from the trace's owners, else its thread's.
std::string process_name(const TraceInfo& info, const VpnAnalysis& v, uint32_t pid, uint32_t tid) {
  for (const Owner& o : info.owners)
    if (o.pid == pid) return fmt::format("{} (pid {})", o.comm, pid);
  const std::string c = v.thread_comm(tid);
  return fmt::format("{} (pid {})", c.empty() ? "the VPN" : c, pid);
}

std::string short_name(const TraceInfo& info, uint32_t pid) {
  for (const Owner& o : info.owners)
    if (o.pid == pid) return o.comm;
  return "the VPN";
}

Json where_tx(const std::string& who, DeviceKind kind) {
  return Json{{"direction", dir_name(Dir::Tx)},
              {"stage", std::string(span_name(Span::Ring, kind))},
              {"process", who.empty() ? Json(nullptr) : Json(who)}};
}

}  // namespace

void vpn_findings(const TraceInfo& info, const Analysis& a, const VpnAnalysis& v, std::vector<Finding>& out) {
  if (!v.has_sched()) return;
  const VpnFigures f = vpn_figures_of(info, a, v);
  const VpnStats& s = v.stats();
  // The reader: the thread that read most of the waiting packets is not known here; the
  // busiest owner thread stands for the process.
  const std::string who = process_name(info, v, f.busiest_pid, f.busiest_tid);
  const bool waited = s.ring_packets >= kMinPackets || f.ring_share[TL_TS_STOPPED] > 0;
  // Stopped while packets waited: a share of the ring's waiting, or on its own as long as a
  // stall (a stop when few packets were in flight is no less a stop).
  constexpr uint64_t kStoppedWaitNs = 200'000'000;
  if (f.ring_ns && waited &&
      (f.ring_share[TL_TS_STOPPED] >= 0.05 || s.ring.ns[TL_TS_STOPPED] >= kStoppedWaitNs)) {
    uint64_t stopped = 0;
    for (auto& [tid, t] : v.timeline().threads()) stopped += t.time[TL_TS_STOPPED];
    Finding x;
    x.kind = FindingKind::StoppedReader;
    x.severity = stopped >= 1'000'000'000 ? Severity::Critical : Severity::Warning;
    x.weight = static_cast<double>(stopped);
    x.verdict = fmt::format(
        "the reader {} was stopped (SIGSTOP, a debugger) for {} while packets waited: {} of the "
        "TX ring wait",
        who, dur_ns(static_cast<double>(stopped)), pct(f.ring_share[TL_TS_STOPPED]));
    x.evidence = {{"stopped_ms", round3(stopped / 1e6)},
                  {"share_of_ring_wait", round3(f.ring_share[TL_TS_STOPPED])}};
    x.where = where_tx(who, info.kind);
    x.remedy = "find what stops it: a debugger, a job-control stop (SIGSTOP/SIGTSTP), a supervisor";
    out.push_back(std::move(x));
  }
  if (f.ring_ns && s.ring_packets >= kMinPackets && f.ring_share[TL_TS_RUNNABLE] >= kStateShare) {
    const std::string other = v.timeline().comm_of(f.top_other);
    const bool softirq = other.rfind("ksoftirqd", 0) == 0;
    // A multi-threaded VPN (wireguard-go) waits behind its own threads as well: when they
    // ran instead more than anyone else, its threads compete for the CPUs it has.
    const bool own = f.own_threads_share > 0 && f.own_threads_share >= f.top_other_share;
    Finding x;
    x.kind = FindingKind::CpuContention;
    const double runnable_per_packet =
        f.ring_share[TL_TS_RUNNABLE] * static_cast<double>(f.ring_ns) / static_cast<double>(s.ring_packets);
    x.severity = runnable_per_packet >= kContentionWaitNs ? Severity::Warning : Severity::Info;
    x.weight = f.ring_share[TL_TS_RUNNABLE];
    x.verdict = fmt::format(
        "TX packets waited for the reader {} to get a CPU: it was runnable but not running for {} "
        "of the ring wait",
        who, pct(f.ring_share[TL_TS_RUNNABLE]));
    if (own)
      x.verdict +=
          fmt::format("; its own other threads ran instead for {} (its threads compete for the CPUs it has)",
                      pct(f.own_threads_share));
    if (f.top_other)
      x.verdict +=
          fmt::format("{} {} (tid {}){} for {}{}", own ? "," : ";", other.empty() ? "another task" : other,
                      f.top_other, own ? "" : " ran instead", pct(f.top_other_share),
                      softirq ? ": the packets' own softirq work competes with the VPN for its CPU" : "");
    x.evidence = {
        {"share_of_ring_wait", round3(f.ring_share[TL_TS_RUNNABLE])},
        {"runnable_us_per_packet", round3(runnable_per_packet / 1e3)},
        {"vpn_threads_share", round3(f.own_threads_share)},
        {"ran_instead", {{"tid", f.top_other}, {"comm", other}, {"share", round3(f.top_other_share)}}}};
    x.where = where_tx(who, info.kind);
    x.remedy =
        own ? "its threads need more CPU than they get: let it run on more CPUs (a wider cpuset, fewer "
              "other tasks there), or make each packet cost less"
        : softirq
            ? "spread the packets' softirq work to another CPU (RPS: "
              "/sys/class/net/<dev>/queues/rx-0/rps_cpus)"
            : "give the VPN a CPU of its own (taskset, a cpuset) or lower the other task's priority (nice)";
    out.push_back(std::move(x));
  }
  if (f.moved >= kMinPackets && f.capacity_pps > 0) {
    const bool bound = f.busiest_share >= kCpuBound;
    Finding x;
    x.kind = FindingKind::VpnCpu;
    x.severity = bound ? Severity::Warning : Severity::Info;
    x.weight = f.busiest_share;
    const std::string name = short_name(info, f.busiest_pid);
    const std::string cost = fmt::format("≈ {} of {} CPU per packet → at most ≈ {} on one core",
                                         dur_ns(f.cpu_per_packet_ns), name, format_rate(f.capacity_pps));
    x.verdict = bound ? fmt::format("{} is CPU-bound: its busiest thread ran {} of the trace; {}", who,
                                    pct(f.busiest_share), cost)
                      : fmt::format("{} used {:.2f} CPUs: {}", who, f.cores, cost);
    x.evidence = {{"cpu_per_packet_us", round3(f.cpu_per_packet_ns / 1e3)},
                  {"capacity_pps", std::round(f.capacity_pps)},
                  {"capacity_mbit_s", round3(f.capacity_mbit_s)},
                  {"busiest_thread_share", round3(f.busiest_share)},
                  {"cores", round3(f.cores)}};
    x.where = Json{{"direction", nullptr}, {"stage", nullptr}, {"process", who}};
    if (bound) x.remedy = "a faster cipher or offload, a multi-threaded VPN (wireguard), or a faster CPU";
    out.push_back(std::move(x));
    // The VPN's CPU is also where the packets it writes are received (netif_rx queues
    // them to its own CPU's backlog, unless RPS steers them elsewhere).
    uint64_t rx_total = 0, rx_there = 0;
    for (auto& [cpu, n] : s.rx_receive_cpus) {
      rx_total += n;
      if (cpu == f.busiest_cpu) rx_there += n;
    }
    if (bound && f.busiest_cpu_share >= 0.75 && rx_total >= kMinPackets && rx_there >= 0.75 * rx_total) {
      Finding y;
      y.kind = FindingKind::SoftirqCpu;
      y.severity = Severity::Info;
      y.weight = f.busiest_cpu_share;
      y.verdict = fmt::format(
          "{} and the softirq work of the packets it writes share CPU {}: {} of its CPU time and {} "
          "of RX protocol processing ran there",
          who, f.busiest_cpu, pct(f.busiest_cpu_share), pct(static_cast<double>(rx_there) / rx_total));
      y.evidence = {{"cpu", f.busiest_cpu},
                    {"vpn_share", round3(f.busiest_cpu_share)},
                    {"rx_receive_share", round3(static_cast<double>(rx_there) / rx_total)}};
      y.where = Json{{"direction", dir_name(Dir::Rx)},
                     {"stage", std::string(span_name(Span::Backlog, info.kind))},
                     {"process", who}};
      y.remedy = "steer RX processing to another CPU: RPS (/sys/class/net/" + info.dev_name +
                 "/queues/rx-0/rps_cpus)";
      out.push_back(std::move(y));
    }
  }
  // Asleep while packets waited: not woken by them, so something else paces its reads.
  if (f.ring_ns && s.ring_packets >= kMinPackets && f.ring_share[TL_TS_SLEEPING] >= kSleepShare) {
    const ThreadSched* t = nullptr;
    for (auto& [tid, th] : v.timeline().threads())
      if (!t || th.sleeps.count() > t->sleeps.count()) t = &th;
    const double p10 = t ? static_cast<double>(t->sleeps.quantile(0.1)) : 0,
                 p50 = t ? static_cast<double>(t->sleeps.quantile(0.5)) : 0,
                 p90 = t ? static_cast<double>(t->sleeps.quantile(0.9)) : 0;
    const bool regular = p50 >= 500'000 && p10 > 0 && p90 <= 2 * p10;
    Finding x;
    x.kind = FindingKind::TimerPaced;
    x.severity = Severity::Warning;
    x.weight = f.ring_share[TL_TS_SLEEPING];
    x.verdict = fmt::format(
        "the reader {} slept for {} of the TX ring wait, not woken by the packets{}", who,
        pct(f.ring_share[TL_TS_SLEEPING]),
        regular ? fmt::format(": it sleeps {} at a time (p10 {}, p90 {}), a timer paces its reads",
                              dur_ns(p50), dur_ns(p10), dur_ns(p90))
                : "");
    x.evidence = {{"share_of_ring_wait", round3(f.ring_share[TL_TS_SLEEPING])},
                  {"sleep_p50_us", round3(p50 / 1e3)},
                  {"sleep_p10_us", round3(p10 / 1e3)},
                  {"sleep_p90_us", round3(p90 / 1e3)},
                  {"regular", regular}};
    x.where = where_tx(who, info.kind);
    x.remedy =
        "the reader waits on a timer between reads (a sleep, a poll timeout, a shaper): let it wait on the "
        "device's fd instead";
    out.push_back(std::move(x));
  }
}

}  // namespace tunlat
