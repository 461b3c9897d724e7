// SPDX-License-Identifier: MIT
// `tunlat trace`: attach to a live device, show live blocks, end with the final report.
#include "cli/trace_cmd.h"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "cli/final_report.h"
#include "cli/outputs.h"
#include "cli/trace_targets.h"
#include "core/filter/pcap_filter.h"
#include "core/format/format.h"
#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/flows_report.h"
#include "core/report/text_report.h"
#include "fatal.h"
#include "kernel/kernel_info.h"
#include "kernel/netns.h"
#include "kernel/tracer.h"
#include "version.h"

namespace tunlat {

namespace {

std::atomic<bool> g_stop{false};

// How late a point's pass may reach the analysis: polling, holdback, AddressJoin's hold
// and the pacing reorder window.
constexpr uint64_t kLiveLagNs = 400'000'000;

void on_signal(int) { g_stop = true; }

uint64_t now_ns(clockid_t clk) {
  timespec ts{};
  clock_gettime(clk, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: the poll returns at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // a closed terminal or ssh session: report and JSON as for SIGTERM
  signal(SIGPIPE, SIG_IGN);
}

// What is known of the trace before it starts: the device, its owners, the kernel's names.
TraceInfo describe(const Netns& ns, const Device& dev, const KernelBtf& btf, uint32_t sample) {
  TraceInfo info;
  info.tunlat_version = TUNLAT_VERSION;
  info.kernel = kernel_release();
  info.dev_name = dev.name;
  info.ifindex = dev.ifindex;
  info.netns_name = ns.name;
  info.netns_inode = ns.inode;
  info.kind = dev.kind;
  info.owners = find_owners(ns, dev);
  info.drop_reasons = btf.drop_reasons();
  info.sample = sample;
  return info;
}

// Where the events go: the analysis, and the recording if there is one. A recording that
// fails (disk full) stops with one line; the analysis, the report and the JSON go on.
struct Capture {
  explicit Capture(const PipelineOptions& o) : pipeline(o) {}
  Pipeline pipeline;
  std::unique_ptr<RecordingWriter> recorder;
  std::string record_path;
  bool record_failed = false;

  void push(const Event& e) {
    pipeline.push(e);
    if (!recorder) return;
    try {
      recorder->write(e);
    } catch (const RecordingError& err) {
      stop_recording(err.what());
    }
  }

  // Partial chunks reach the disk within a second (RecordingOptions::max_chunk_age_ms).
  void tick() {
    if (!recorder) return;
    try {
      recorder->tick();
    } catch (const RecordingError& err) {
      stop_recording(err.what());
    }
  }

  void stop_recording(const std::string& why) {
    fmt::print(stderr, "tunlat: recording stopped: {}; the trace goes on ({} kept in {}, without trailer)\n",
               term_safe(why), format_bytes(static_cast<double>(recorder->bytes_written())),
               term_safe(record_path));
    record_failed = true;
    recorder.reset();  // writes nothing more; the file reads as truncated
  }
};

// One traced device: its trace from the kernel to its report.
struct Traced {
  Traced(const PipelineOptions& o, std::string l) : label(std::move(l)), capture(o) {}
  std::string label;  // as the user named it: "tap0", "accA/tap0"
  Netns ns;
  Device dev;
  TraceInfo info;
  Capture capture;
  std::unique_ptr<Tracer> tracer;
  std::unique_ptr<DeviceWatch> watch;
  std::unique_ptr<TunnelEnd> tunnel;  // with two devices: an end of the tunnel
};

void announce(const TraceArgs& a, const Traced& t) {
  std::string owners;
  for (auto& o : t.info.owners)
    owners += fmt::format("{}{} (pid {})", owners.empty() ? "" : ", ", term_safe(o.comm), o.pid);
  fmt::print(stderr, "tunlat: tracing {} ({}, ifindex {}{}), held by {}; {}\n", term_safe(t.dev.name),
             device_kind_name(t.dev.kind), t.dev.ifindex,
             t.ns.name.empty() ? "" : ", netns " + term_safe(t.ns.name),
             owners.empty() ? "no process" : owners,
             a.duration_s > 0 ? fmt::format("for {:g} s", a.duration_s) : "Ctrl-C to stop");
}

// Live blocks every interval until the duration, a signal or a device's end (one block
// per device, each under its label when there are several). Returns the exit code: a
// device vanishing is a failure, whose report is printed all the same.
int live_loop(const TraceArgs& a, uint64_t start_ns, std::vector<std::unique_ptr<Traced>>& traced) {
  const uint64_t interval_ns = static_cast<uint64_t>(a.interval_s * 1e9);
  const uint64_t deadline = a.duration_s > 0 ? start_ns + static_cast<uint64_t>(a.duration_s * 1e9) : 0;
  uint64_t next_tick = start_ns + interval_ns, last_tick = start_ns;
  std::vector<std::array<DirStats, 2>> before(traced.size());  // totals at the last live block
  const int poll_ms = Tracer::kPollMs / static_cast<int>(traced.size());
  while (!g_stop) {
    for (auto& t : traced) {
      t->tracer->poll(poll_ms);
      t->capture.tick();
    }
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now >= next_tick) {
      for (size_t i = 0; i < traced.size() && !a.quiet; i++) {
        const Pipeline& pipeline = traced[i]->capture.pipeline;
        std::array<DirStats, 2> delta;
        for (Dir d : kDirs) {
          const DirStats& total = pipeline.analysis().total(d);
          delta[static_cast<int>(d)] = since(total, before[i][static_cast<int>(d)]);
          before[i][static_cast<int>(d)] = total;
        }
        if (traced.size() > 1) fmt::print(std::cout, "{}:\n", term_safe(traced[i]->label));
        // Passes reach the analysis up to ~0.3 s late (rings, holdback, reorder window).
        const LiveStall stall = pipeline.analysis().stuck_now(now, kLiveLagNs);
        render_live(std::cout, delta, (now - start_ns) / 1e9, (now - last_tick) / 1e9,
                    traced[i]->tracer->lost(), pipeline.analysis().device_kind(), stall);
        auto [flow, packets] = traced[i]->capture.pipeline.analysis().flows().busiest_since_last();
        if (flow) fmt::print(std::cout, "  {}\n", live_flow_line(*flow, packets));
      }
      last_tick = now;
      next_tick = now + interval_ns;
      for (auto& t : traced) {
        if (t->watch->alive()) continue;
        fmt::print(stderr, "tunlat: device {} vanished after {:.1f} s; reporting what was captured\n",
                   term_safe(t->label), (now - start_ns) / 1e9);
        t->info.device_vanished = true;
        return kExitFailure;
      }
    }
    if (deadline && now >= deadline) break;
  }
  return kExitOk;
}

// Collects what is still in the kernel, and what is known only at the end.
// The workqueue of each kernel worker among a kernel VPN's readers. WireGuard's tx worker,
// which queues its packets on the underlay, runs on its device's wg-crypt-DEV workqueue
// (drivers/net/wireguard/queueing.h: packet_crypt_wq); elsewhere, the one a worker ran
// last as /proc/PID/comm says it ("kworker/1:2-ovpn..."; '+' while it runs one).
std::map<uint32_t, std::string> workqueues_of(const std::map<uint32_t, ProcStat>& procs,
                                              const TraceInfo& info) {
  std::map<uint32_t, std::string> out;
  for (auto& [pid, p] : procs) {
    if (p.comm.rfind("kworker/", 0) != 0) continue;
    if (info.kind == DeviceKind::WireGuard) {
      out[pid] = "wg-crypt-" + info.dev_name;
      continue;
    }
    std::ifstream f(fmt::format("/proc/{}/comm", pid));
    std::string comm;
    if (!std::getline(f, comm)) continue;
    const size_t sep = comm.find_first_of("-+", sizeof("kworker/") - 1);
    if (sep != std::string::npos && sep + 1 < comm.size()) out[pid] = comm.substr(sep + 1);
  }
  return out;
}

void end_capture(const TraceArgs& a, TraceInfo& info, Tracer& tracer, Capture& capture) {
  tracer.poll(0);  // whatever is still in the rings
  tracer.flush_in_flight();
  info.end_ns = now_ns(CLOCK_MONOTONIC);
  info.events_lost = tracer.lost();
  if (a.verbose) {
    const AddressJoinStats& j = tracer.joins();
    fmt::print(stderr,
               "tunlat: {} events named by address joined; {} of packets not followed, {} stale; "
               "{} packets pushed out of the join table before their read, {} first records sent twice\n",
               j.joined, j.unmatched, j.stale, j.pushed_out, j.duplicates);
    fmt::print(stderr, "tunlat: {} records spilled (read late, not lost); rings read at {}\n",
               tracer.spilled(), tracer.reader_priority());
    if (a.sample > 1)
      fmt::print(stderr, "tunlat: {} packets passed over by --sample\n", tracer.sampled_out());
  }
  capture.pipeline.flush(info.end_ns, info.start_ns);
  std::vector<uint64_t> locations;
  for (Dir d : kDirs)
    for (auto& [key, ds] : capture.pipeline.analysis().total(d).drops) locations.push_back(key.second);
  for (auto& [key, ed] : capture.pipeline.analysis().drops_elsewhere()) locations.push_back(key.location);
  info.symbols = symbolize(locations);
  if (handoff_of(info.kind) == Handoff::KernelVpn)
    info.workqueues = workqueues_of(capture.pipeline.analysis().total(Dir::Tx).procs, info);
  if (capture.recorder) {
    try {
      capture.recorder->finish(info);
      fmt::print(stderr, "tunlat: recorded {} events ({:.1f} MB) to {}\n", capture.recorder->events_written(),
                 capture.recorder->bytes_written() / 1e6, term_safe(a.record_path));
    } catch (const RecordingError& err) {
      capture.stop_recording(err.what());
    }
  }
}

// Refused before anything is attached or written: a trace of hours must not find out at
// its end that its JSON cannot be written, or that the JSON would overwrite the recording.
void check_outputs(const TraceArgs& a) {
  check_distinct_outputs({{"--json", a.json_path, "the JSON summary"},
                          {"--record", a.record_path, "the recording"},
                          {"--folded", a.visual.folded_path, "the folded stacks"},
                          {"--svg", a.visual.svg_path, "the flame graph"},
                          {"--html", a.visual.html_path, "the HTML report"},
                          {"--perfetto", a.visual.perfetto_path, "the Perfetto trace"},
                          {"--pcapng", a.pcapng.path, "the pcapng file"}});
}

// Drop locations named as they come (a trace meets few distinct ones), as symbolize
// names them for the recording's trailer: `report --pcapng` writes the same comments.
LocationName live_location_names() {
  return [names = std::map<uint64_t, std::string>()](uint64_t addr) mutable {
    auto it = names.find(addr);
    if (it == names.end()) {
      const std::map<uint64_t, std::string> got = symbolize({addr});
      auto g = got.find(addr);
      it = names.emplace(addr, g != got.end() ? g->second : fmt::format("{:#x}", addr)).first;
    }
    return it->second;
  };
}

// What a user of a device other than tun/tap would otherwise have to guess from its columns.
void note_kind(const Device& dev) {
  const std::string name = term_safe(dev.name);
  switch (handoff_of(dev.kind)) {
    case Handoff::Reader:
      if (dev.kind == DeviceKind::Macvtap)
        fmt::print(
            stderr,
            "tunlat: note: {} is a macvtap: TX is what its VM reads, from the frame's arrival at "
            "the lower device (`xmit`) through the macvtap's queue (`ring`); RX is what the VM writes, "
            "from its write to the lower device's queue (`total`); broadcasts are not followed\n",
            name);
      return;
    case Handoff::KernelVpn:
      fmt::print(stderr,
                 "tunlat: note: {} is a kernel VPN device ({}): TX span `vpn` runs from its xmit to the same "
                 "packet's queue on the underlay (staging, encryption, the tx worker), its `read` point; the "
                 "kernel worker that sends it is its reader. RX starts at {}'s receive, after decryption\n",
                 name, device_kind_name(dev.kind), name);
      return;
    case Handoff::Peer:
      fmt::print(stderr,
                 "tunlat: note: {} is a veth: TX span `peer` runs from its xmit to the peer's receive of the "
                 "same packet (its `read` point: the peer's backlog); no process reads it\n",
                 name);
      return;
    case Handoff::None:
      fmt::print(stderr,
                 "tunlat: note: {} is not a tun/tap device: no VPN reads or writes it, so TX ends at the "
                 "driver (no handoff span, no reader) and RX starts where the driver hands a packet to the "
                 "stack (its writer is whichever process ran then)\n",
                 name);
      return;
  }
}

// What the BPF side takes as a TX packet's read on this kind of device.
uint32_t bpf_handoff(DeviceKind k) {
  if (k == DeviceKind::Macvtap) return TL_HO_MACVTAP;
  switch (handoff_of(k)) {
    case Handoff::KernelVpn:
      return TL_HO_UNDERLAY;
    case Handoff::Peer:
      return TL_HO_PEER;
    case Handoff::None:
      return TL_HO_NONE;
    default:
      return TL_HO_READER;
  }
}

// Several devices: what writes one device's events or pictures is refused before the trace.
void check_one_device_outputs(const TraceArgs& a) {
  for (auto [flag, path] :
       {std::pair<const char*, const std::string*>{"--record", &a.record_path}, {"--pcapng", &a.pcapng.path}})
    if (!path->empty())
      throw Fatal(fmt::format("{} takes one device: trace each end with its own {}, then `tunlat "
                              "report A.tlrec B.tlrec` for the tunnel",
                              flag, flag),
                  kExitUsage);
  for (auto [flag, path] : {std::pair<const char*, const std::string*>{"--svg", &a.visual.svg_path},
                            {"--folded", &a.visual.folded_path}})
    if (!path->empty())
      throw Fatal(fmt::format("{} draws one device: --html draws each of several", flag), kExitUsage);
}

// Loads and attaches the BPF side for one device; its events go to its own pipeline.
std::unique_ptr<Traced> attach(const TraceArgs& a, Target target, const KernelBtf& btf, bool tunnel_end) {
  PipelineOptions po;
  po.stall_ns = static_cast<uint64_t>(a.stall_ms * 1e6);
  po.kind = target.dev.kind;
  auto t = std::make_unique<Traced>(po, target.label);
  t->ns = std::move(target.ns);
  t->dev = std::move(target.dev);
  const Netns& ns = t->ns;
  const Device& dev = t->dev;
  Pipeline& pipeline = t->capture.pipeline;
  t->info = describe(ns, dev, btf, a.sample);
  if (tunnel_end) {
    t->tunnel = std::make_unique<TunnelEnd>(pipeline.analysis().flows(), dev.kind);
    pipeline.set_tunnel_end(t->tunnel.get());
  }
  // As tcpdump -i sees them: from Ethernet (tap, veth) or from IP (tun, WireGuard).
  const bool ether = carries_ethernet(dev.kind);
  std::vector<tl_cbpf_insn> filter;
  if (!a.filter.empty()) {
    std::string err;
    if (!compile_filter(a.filter, ether, filter, err)) throw Fatal("bad filter: " + err, kExitUsage);
    t->info.filter = a.filter;
  }

  std::vector<std::string> warnings;
  TracerOptions topts;
  topts.ifindex = dev.ifindex;
  topts.netns_inode = ns.inode;
  topts.sample = a.sample;
  topts.verbose = a.verbose;
  topts.tun_driver = dev.kind == DeviceKind::Tap || dev.kind == DeviceKind::Tun;
  topts.handoff = bpf_handoff(dev.kind);
  topts.mac = dev.mac;
  topts.sched = a.sched;
  for (const Owner& o : t->info.owners) {
    topts.owner_tgids.push_back(o.pid);
    topts.owner_sockets.insert(topts.owner_sockets.end(), o.sockets.begin(), o.sockets.end());
  }
  topts.ether = ether;
  topts.filter = filter;
  if (!a.pcapng.path.empty()) topts.pcap_snap = a.pcapng.snaplen;
  pipeline.set_underlay_sockets(topts.owner_sockets);
  Capture& capture = t->capture;
  t->tracer = std::make_unique<Tracer>(
      topts, btf, [&capture](const Event& e) { capture.push(e); }, warnings);
  for (auto& w : warnings) fmt::print(stderr, "tunlat: warning: {}\n", term_safe(w));
  t->info.sched = t->tracer->sched_status();
  t->info.host_retransmits = t->tracer->host_retransmits_status();
  if (a.verbose) fmt::print(stderr, "tunlat: the VPN's scheduling: {}\n", term_safe(t->info.sched));
  bool learnt = false;
  in_netns(ns, [&] { learnt = t->tracer->learn_device(); });
  if (a.verbose)
    fmt::print(stderr, "tunlat: {}\n",
               learnt ? "found the device's net_device before its first packet"
                      : "the device's net_device is learnt from its first packet");
  t->watch = std::make_unique<DeviceWatch>(ns, dev.ifindex);
  return t;
}

}  // namespace

int run_trace(const TraceArgs& a) {
  check_outputs(a);
  if (a.devs.empty() && !a.pid) throw Fatal("give the device to trace: --dev DEV, or --pid PID", kExitUsage);
  check_privileges();
  std::vector<Target> targets = resolve_targets(a.devs, a.netns, a.pid);
  if (targets.size() > 1) check_one_device_outputs(a);
  check_visuals(a.visual);
  KernelBtf btf;
  std::vector<std::unique_ptr<Traced>> traced;
  for (Target& target : targets) traced.push_back(attach(a, std::move(target), btf, targets.size() == 2));
  Traced& first = *traced.front();
  Capture& capture = first.capture;
  std::vector<std::unique_ptr<Visuals>> visuals;
  for (auto& t : traced) visuals.push_back(prepare_visuals(a.visual, t->capture.pipeline));
  install_signals();

  const uint64_t start_ns = now_ns(CLOCK_MONOTONIC);
  const int64_t clock_offset_ns =
      static_cast<int64_t>(now_ns(CLOCK_REALTIME)) - static_cast<int64_t>(start_ns);
  for (auto& t : traced) {
    t->info.start_ns = start_ns;
    t->info.clock_offset_ns = clock_offset_ns;
  }
  capture.record_path = a.record_path;
  if (!a.record_path.empty()) capture.recorder = std::make_unique<RecordingWriter>(a.record_path, first.info);
  std::unique_ptr<PcapngFile> pcapng;
  if (!a.pcapng.path.empty())
    pcapng = std::make_unique<PcapngFile>(a.pcapng, capture.pipeline, first.info, live_location_names());
  for (auto& t : traced) {
    announce(a, *t);
    note_kind(t->dev);
  }

  int rc = live_loop(a, start_ns, traced);
  for (auto& t : traced) end_capture(a, t->info, *t->tracer, t->capture);
  if (traced.size() == 1) {
    finish_report(first.info, capture.pipeline, a.json_path, a.visual, visuals.front().get());
  } else {
    std::vector<EndReport> ends;
    for (size_t i = 0; i < traced.size(); i++)
      ends.push_back({traced[i]->label, &traced[i]->info, &traced[i]->capture.pipeline,
                      traced[i]->tunnel.get(), visuals[i].get()});
    finish_reports(ends, true, static_cast<uint64_t>(a.stall_ms * 1e6), a.json_path, a.visual);
  }
  if (pcapng) pcapng->finish();
  for (auto& t : traced)
    if (t->info.events_lost)
      fmt::print(stderr, "tunlat: warning: {}{} events lost (kernel rings full)\n",
                 traced.size() > 1 ? term_safe(t->label) + ": " : "", t->info.events_lost);
  // The report is whole, but the recording asked for is not: a failure a script must see.
  if (capture.record_failed) rc = kExitFailure;
  return rc;
}

}  // namespace tunlat
