// SPDX-License-Identifier: MIT
// tunlat's command line: parses arguments and maps every failure to one line and an exit code.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cmath>

#include "cli/monitor_cmd.h"
#include "cli/report_cmd.h"
#include "cli/trace_cmd.h"
#include "core/format/format.h"
#include "fatal.h"
#include "version.h"

using namespace tunlat;

namespace {
// Seconds become ns in a uint64_t: a year is far below its limit and above any trace.
constexpr double kMaxSeconds = 365 * 24 * 3600.0;

const CLI::Validator kSeconds(
    [](std::string& v) {
      try {
        size_t used = 0;
        double s = std::stod(v, &used);
        if (used == v.size() && std::isfinite(s) && s > 0 && s <= kMaxSeconds) return std::string();
      } catch (const std::exception&) {
      }
      return fmt::format("must be a number of seconds above 0 and at most {:.0f} (a year), got {}",
                         kMaxSeconds, v);
    },
    "SECONDS");

// `--json ''` from an unset shell variable must not silently mean "no JSON".
const CLI::Validator kNonEmpty(
    [](std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); }, "");

// The visual outputs, on `trace` and `report` alike (docs/visual.md).
void add_visual_options(CLI::App* cmd, VisualArgs& v) {
  cmd->add_option("--folded", v.folded_path, "write folded stacks to FILE (weight: us of packet-time)");
  cmd->add_option("--svg", v.svg_path, "write a flame graph of packet-time (SVG) to FILE");
  cmd->add_option("--html", v.html_path, "write a self-contained HTML report to FILE");
  cmd->add_option("--perfetto", v.perfetto_path, "write a Chrome/Perfetto trace (JSON) to FILE");
  cmd->add_option("--flame-by", v.flame_by, "frames under device;direction: span,flow,process,cpu,state")
      ->capture_default_str();
  cmd->add_option("--perfetto-packets", v.perfetto_packets, "--perfetto: slices for the first N packets only")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
}

// --pcapng and --snaplen, on `trace` and `report` alike (docs/pcapng.md).
void add_pcapng_options(CLI::App* cmd, PcapngArgs& p) {
  auto* pcapng = cmd->add_option("--pcapng", p.path,
                                 "write the followed packets to FILE (pcapng), each with its span times in a "
                                 "comment (tools/wireshark/tunlat.lua makes them fields)")
                     ->check(kNonEmpty);
  cmd->add_option("--snaplen", p.snaplen, "--pcapng: bytes of each packet kept, from its link-layer header")
      ->capture_default_str()
      ->check(CLI::Range(1u, kMaxPacketBytes))
      ->needs(pcapng);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tunlat: where packets wait on the kernel path of a tun/tap device"};
  // The version as the JSON's tunlat_version says it, then the full commit it names.
  app.set_version_flag("--version", fmt::format("tunlat {}\n{}", TUNLAT_VERSION, TUNLAT_COMMIT_TEXT));
  app.require_subcommand(1);
  app.footer(R"(Examples:
  tunlat trace --dev tap0                    trace until Ctrl-C, then report
  tunlat trace --netns vpn --dev tun0 -d 10  10 s on tun0 in netns "vpn"
  tunlat trace --dev tap0 --json out.json    also write the JSON summary
  tunlat trace --dev tap0 --record t.tlrec    record every event ...
  tunlat report t.tlrec                       ... and analyse it later, anywhere)");

  TraceArgs t;
  auto* trace = app.add_subcommand("trace", "trace a live tun/tap device");
  trace
      ->add_option("--dev", t.devs,
                   "device to trace (e.g. tap0), or NETNS/DEV; repeatable: two are the ends of a tunnel, "
                   "traced as one")
      ->check(kNonEmpty);
  trace->add_option("--pid", t.pid, "also trace every tun/tap device process PID holds (e.g. a VPN's)")
      ->check(CLI::Range(1u, 4194304u));
  trace
      ->add_option("--netns", t.netns,
                   "its network namespace: a name (ip netns), a path or a pid (default: own)")
      ->check(kNonEmpty);
  trace->add_option("-d,--duration", t.duration_s, "stop after SECONDS (default: Ctrl-C)")->check(kSeconds);
  trace->add_option("-i,--interval", t.interval_s, "live output every SECONDS")
      ->capture_default_str()
      ->check(kSeconds);
  trace->add_option("--json", t.json_path, "write the tunlat/v1 JSON summary to FILE")->check(kNonEmpty);
  trace->add_option("--record", t.record_path, "also write every event to FILE, for `tunlat report`")
      ->check(kNonEmpty);
  trace->add_option("--sample", t.sample, "follow 1 packet in N (per CPU and direction) at extreme rates")
      ->check(CLI::Range(1u, 1000000u));
  trace
      ->add_option("--stall-ms", t.stall_ms,
                   "a queue stage (qdisc, tun ring) releasing nothing this long while it holds packets, or a "
                   "TCP flow's data "
                   "unacknowledged this long, is a stall")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3.6e6));
  trace
      ->add_option(
          "--filter", t.filter,
          "follow only packets this pcap-filter expression takes (as tcpdump's), e.g. 'tcp port 5201'")
      ->check(kNonEmpty);
  std::vector<std::string> filter_words;
  trace->add_option("EXPR", filter_words, "the filter, as tcpdump takes it (instead of --filter)");
  trace->add_flag("-q,--quiet", t.quiet, "no live output, only the final report");
  bool no_sched = false, sched_flag = false;
  trace->add_flag("--no-sched", no_sched,
                  "do not follow the VPN's scheduling and underlay packets (its state while packets "
                  "wait, its CPU per packet), which is on by default: a few % more BPF work per "
                  "packet (docs/performance.md)");
  trace->add_flag("--sched", sched_flag, "follow the VPN's scheduling (the default; for older scripts)");
  trace->add_flag("-v,--verbose", t.verbose, "show libbpf's messages");
  add_visual_options(trace, t.visual);
  add_pcapng_options(trace, t.pcapng);
  trace->footer(R"(Examples:
  tunlat trace --dev tap99                         until Ctrl-C
  tunlat trace --netns vpnA --dev tap0 -d 10 -i 2  10 s, live every 2 s
  tunlat trace --netns 4252 --dev tun0 --json s.json  netns of pid 4252
  tunlat trace --dev tun0 'tcp port 5201'          one flow only
  tunlat trace --dev accA/tap0 --dev accB/tap0     both ends of a tunnel, one timeline
  tunlat trace --pid $(pidof openvpn)              the devices a VPN holds)");

  ReportArgs r;
  auto* report = app.add_subcommand("report", "analyse a recording made with trace --record");
  report->add_option("FILE", r.recording, "recording file")->required()->check(kNonEmpty);
  report
      ->add_option("OTHER", r.second,
                   "the recording of the tunnel's other end: both merged into one timeline")
      ->check(kNonEmpty);
  report->add_option("--json", r.json_path, "write the tunlat/v1 JSON summary to FILE")->check(kNonEmpty);
  report->add_option("--stall-ms", r.stall_ms, "as for trace")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3.6e6));
  add_visual_options(report, r.visual);
  add_pcapng_options(report, r.pcapng);
  report->footer(R"(Examples:
  tunlat report tap0.tlrec                    the same report as the live trace
  tunlat report tap0.tlrec --json out.json    and its JSON
  tunlat report tap0.tlrec --html r.html --svg f.svg --perfetto t.json
  tunlat report a.tlrec b.tlrec               a tunnel's two ends, recorded apart)");

  MonitorArgs m;
  auto* monitor =
      app.add_subcommand("monitor", "watch every tun/tap device, aggregated in the kernel, for Prometheus");
  monitor
      ->add_option("--dev", m.devs,
                   "watch only devices whose name matches GLOB, or NETNS/GLOB, NETNS a glob too (repeatable; "
                   "default: every tun/tap)")
      ->check(kNonEmpty);
  monitor
      ->add_option("--netns", m.netns,
                   "watch only namespaces of this name, or inode when it has none (repeatable)")
      ->check(kNonEmpty);
  monitor->add_option("--listen", m.listen, "serve /metrics on ADDR:PORT")->capture_default_str();
  monitor
      ->add_option(
          "--stall-ms", m.stall_ms,
          "a queue stage (qdisc, tun ring, backlog) holding packets and releasing none this long stalls")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3.6e6));
  monitor->add_option("--scan", m.scan_s, "look for devices that appeared or vanished every SECONDS")
      ->capture_default_str()
      ->check(kSeconds);
  monitor->add_option("-d,--duration", m.duration_s, "stop after SECONDS (default: SIGINT/SIGTERM)")
      ->check(kSeconds);
  monitor
      ->add_option("--sample", m.sample,
                   "follow 1 packet in N per CPU and direction (and every one at a trickle): later points, "
                   "spans, stages and drops are then estimates; queue, xmit, inject and bytes stay exact")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  monitor->add_flag("-v,--verbose", m.verbose, "show libbpf's messages and each device as it is watched");
  monitor->footer(R"(Examples:
  tunlat monitor                                  every tun/tap device, at 127.0.0.1:9477/metrics
  tunlat monitor --dev 'tap*' --listen 0.0.0.0:9477
  tunlat monitor --dev vpn/tun0                   tun0 in netns "vpn" only)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "tunlat: {} (see tunlat --help)\n", term_safe(e.what()));
    return kExitUsage;
  }
  if (!filter_words.empty()) {
    if (!t.filter.empty()) {
      fmt::print(stderr, "tunlat: give the filter either as --filter or as words, not both\n");
      return kExitUsage;
    }
    for (auto& w : filter_words) t.filter += (t.filter.empty() ? "" : " ") + w;
  }
  if (no_sched && sched_flag) {
    fmt::print(stderr, "tunlat: --sched and --no-sched contradict each other\n");
    return kExitUsage;
  }
  t.sched = !no_sched;
  try {
    if (*trace) return run_trace(t);
    if (*report) return run_report(r);
#ifdef TUNLAT_NO_MONITOR
    if (*monitor)
      throw Fatal(
          "this build has no monitor: Debian ships prometheus-cpp as shared libraries only, and this is "
          "the static build");
#else
    if (*monitor) return run_monitor(m);
#endif
  } catch (const Fatal& e) {
    // Messages name devices, paths and processes: one line, whatever those names hold.
    fmt::print(stderr, "tunlat: {}\n", term_safe(e.what()));
    return e.code;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tunlat: {}\n", term_safe(e.what()));
    return kExitFailure;
  }
  return kExitOk;
}
