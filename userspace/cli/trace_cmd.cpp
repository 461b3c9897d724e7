// `tunlat trace`: attach to a live device, show live blocks, end with the final report.
#include "cli/trace_cmd.h"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "core/pipeline.h"
#include "core/record/recording.h"
#include "core/report/summary.h"
#include "core/report/text_report.h"
#include "fatal.h"
#include "kernel/kernel_info.h"
#include "kernel/netns.h"
#include "kernel/tracer.h"
#include "version.h"

namespace tunlat {

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

uint64_t now_ns(clockid_t clk) {
  timespec ts{};
  clock_gettime(clk, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
}

void install_signals() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: the poll returns at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void write_json(const std::string& path, const Json& doc) {
  std::ofstream out(path);
  // comm is cut at 15 bytes by the kernel and may split a UTF-8 character.
  out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  if (!out) throw Fatal(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

}  // namespace

void finish_report(TraceInfo& info, Pipeline& pipeline, const std::string& json_path) {
  Json doc = summarize(info, pipeline);
  std::cout << "\n";
  render_report(std::cout, doc);
  std::cout.flush();
  if (!json_path.empty()) write_json(json_path, doc);
}

int run_report(const ReportArgs& a) {
  Pipeline pipeline;
  ReadResult r;
  try {
    r = read_recording_file(a.recording, [&](const Event& e) { pipeline.push(e); });
  } catch (const RecordingError& e) {
    throw Fatal(e.what());
  }
  if (r.truncated) fmt::print(stderr, "tunlat: warning: {}\n", r.warning);
  pipeline.flush();
  finish_report(r.info, pipeline, a.json_path);
  return kExitOk;
}

int run_trace(const TraceArgs& a) {
  check_privileges();
  Netns ns = resolve_netns(a.netns);
  Device dev = resolve_device(ns, a.dev);
  KernelBtf btf;

  TraceInfo info;
  info.tunlat_version = TUNLAT_VERSION;
  info.kernel = kernel_release();
  info.dev_name = dev.name;
  info.ifindex = dev.ifindex;
  info.netns_name = ns.name;
  info.netns_inode = ns.inode;
  info.kind = dev.kind;
  info.owners = find_owners(ns, dev.name);
  info.drop_reasons = btf.drop_reasons();

  Pipeline pipeline;
  std::unique_ptr<RecordingWriter> recorder;
  std::vector<std::string> warnings;
  info.sample = a.sample;
  TracerOptions topts{dev.ifindex, ns.inode, a.sample, a.verbose, dev.kind != "other"};
  Tracer tracer(
      topts, btf,
      [&](const Event& e) {
        pipeline.push(e);
        if (recorder) recorder->write(e);
      },
      warnings);
  for (auto& w : warnings) fmt::print(stderr, "tunlat: warning: {}\n", w);
  bool learnt = false;
  in_netns(ns, [&] { learnt = tracer.learn_device(); });
  if (a.verbose)
    fmt::print(stderr, "tunlat: {}\n", learnt ? "found the device's net_device before its first packet"
                                             : "the device's net_device is learnt from its first packet");
  DeviceWatch watch(ns, dev.ifindex);
  install_signals();

  info.start_ns = now_ns(CLOCK_MONOTONIC);
  info.clock_offset_ns = static_cast<int64_t>(now_ns(CLOCK_REALTIME)) - static_cast<int64_t>(info.start_ns);
  if (!a.record_path.empty()) recorder = std::make_unique<RecordingWriter>(a.record_path, info);
  std::string owners;
  for (auto& o : info.owners) owners += fmt::format("{}{} (pid {})", owners.empty() ? "" : ", ", o.comm, o.pid);
  fmt::print(stderr, "tunlat: tracing {} ({}, ifindex {}{}), held by {}; {}\n", dev.name, dev.kind,
             dev.ifindex, ns.name.empty() ? "" : ", netns " + ns.name,
             owners.empty() ? "no process" : owners,
             a.duration_s > 0 ? fmt::format("for {:g} s", a.duration_s) : "Ctrl-C to stop");

  const uint64_t interval_ns = static_cast<uint64_t>(a.interval_s * 1e9);
  const uint64_t deadline = a.duration_s > 0 ? info.start_ns + static_cast<uint64_t>(a.duration_s * 1e9) : 0;
  uint64_t next_tick = info.start_ns + interval_ns, last_tick = info.start_ns;
  int rc = kExitOk;
  std::array<DirStats, 2> before;  // totals at the last live block
  while (!g_stop) {
    tracer.poll(Tracer::kPollMs);
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (now >= next_tick) {
      if (!a.quiet) {
        std::array<DirStats, 2> delta;
        for (Dir d : kDirs) {
          const DirStats& total = pipeline.analysis().total(d);
          delta[static_cast<int>(d)] = since(total, before[static_cast<int>(d)]);
          before[static_cast<int>(d)] = total;
        }
        render_live(std::cout, delta, (now - info.start_ns) / 1e9, (now - last_tick) / 1e9, tracer.lost());
      }
      last_tick = now;
      next_tick = now + interval_ns;
      if (!watch.alive()) {
        fmt::print(stderr, "tunlat: device {} vanished after {:.1f} s; reporting what was captured\n",
                   dev.name, (now - info.start_ns) / 1e9);
        rc = kExitFailure;
        break;
      }
    }
    if (deadline && now >= deadline) break;
  }
  tracer.poll(0);  // whatever is still in the rings
  tracer.flush_in_flight();
  info.end_ns = now_ns(CLOCK_MONOTONIC);
  info.events_lost = tracer.lost();
  if (a.verbose) {
    const AddressJoinStats& j = tracer.joins();
    fmt::print(stderr, "tunlat: {} events named by address joined; {} of packets not followed, {} stale\n",
               j.joined, j.unmatched, j.stale);
    fmt::print(stderr, "tunlat: {} records spilled (read late, not lost)\n", tracer.spilled());
  }
  std::vector<uint64_t> locations;
  pipeline.flush();
  for (Dir d : kDirs)
    for (auto& [key, ds] : pipeline.analysis().total(d).drops) locations.push_back(key.second);
  info.symbols = symbolize(locations);
  if (recorder) {
    recorder->finish(info);
    fmt::print(stderr, "tunlat: recorded {} events ({:.1f} MB) to {}\n", recorder->events_written(),
               recorder->bytes_written() / 1e6, a.record_path);
  }
  finish_report(info, pipeline, a.json_path);
  if (info.events_lost)
    fmt::print(stderr, "tunlat: warning: {} events lost (kernel rings full)\n", info.events_lost);
  return rc;
}

}  // namespace tunlat
