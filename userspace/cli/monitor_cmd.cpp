// SPDX-License-Identifier: MIT
#include "cli/monitor_cmd.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include "core/format/format.h"
#include "core/monitor/metrics.h"
#include "core/monitor/stall_watch.h"
#include "fatal.h"
#include "kernel/kernel_info.h"
#include "kernel/monitor_probe.h"
#include "kernel/netns.h"
#include "version.h"

namespace tunlat {

namespace {

// How often stages are polled for stalls: a stall's length is known to within this.
constexpr int kPollMs = 100;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

uint64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec);
}

// A device watched: where it is, its counters' index, its stages' stalls, its owners.
struct Watched {
  NetnsDevice where;
  uint32_t index = 0;
  std::vector<StallWatch> stalls;
  std::vector<Owner> owners;
};

// Packets a stage holds now: its ins less its outs (read apart, CPU by CPU: never below 0).
uint64_t held(const tl_mon_stage_stats& q, int stage) {
  return q.in[stage] - std::min(q.in[stage], q.out[stage]);
}

std::string netns_label(const Netns& ns) { return ns.name.empty() ? std::to_string(ns.inode) : ns.name; }

bool wanted(const MonitorArgs& a, const NetnsDevice& d) {
  const std::string label = netns_label(d.ns);
  if (!a.netns.empty() && std::find(a.netns.begin(), a.netns.end(), label) == a.netns.end()) return false;
  if (a.devs.empty()) return true;
  for (const std::string& spec : a.devs) {
    const auto slash = spec.find('/');
    const std::string ns = slash == std::string::npos ? "" : spec.substr(0, slash);
    const std::string glob = slash == std::string::npos ? spec : spec.substr(slash + 1);
    if (!ns.empty() && fnmatch(ns.c_str(), label.c_str(), 0) != 0) continue;
    if (fnmatch(glob.c_str(), d.dev.name.c_str(), 0) == 0) return true;
  }
  return false;
}

// User + system CPU seconds of a process, or -1 once it is gone.
double cpu_seconds(uint32_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto close = line.rfind(')');  // the comm may hold spaces and parentheses
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; i++) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class Monitor : public prometheus::Collectable {
 public:
  Monitor(const MonitorArgs& a, const KernelBtf& btf)
      : args_(a), probe_(btf, a.verbose, a.sample), reasons_(btf.drop_reasons()) {}

  // Looks for devices: new ones are watched, gone ones let go.
  void rescan() {
    std::vector<NetnsDevice> found = scan_tun_devices();
    std::lock_guard lock(mu_);
    std::map<std::pair<uint64_t, uint32_t>, Watched> next;
    std::set<uint32_t> used;
    for (const NetnsDevice& d : found) {
      if (!wanted(args_, d)) continue;
      const auto key = std::make_pair(d.ns.inode, d.dev.ifindex);
      auto it = watched_.find(key);
      if (it != watched_.end() && it->second.where.dev.name == d.dev.name) {
        used.insert(it->second.index);
        next.emplace(key, std::move(it->second));
      }
    }
    for (const NetnsDevice& d : found) {
      const auto key = std::make_pair(d.ns.inode, d.dev.ifindex);
      if (!wanted(args_, d) || next.count(key)) continue;
      uint32_t index = 0;
      while (used.count(index)) index++;
      if (index >= TL_MON_DEVS) {
        if (!warned_full_)
          fmt::print(stderr, "tunlat: monitor: more than {} devices; the rest are not watched\n",
                     TL_MON_DEVS);
        warned_full_ = true;
        continue;
      }
      used.insert(index);
      Watched w{d, index, {}, {}};
      for (int s = 0; s < TL_MON_STAGES; s++)
        w.stalls.emplace_back(static_cast<uint64_t>(args_.stall_ms * 1e6));
      if (args_.verbose)
        fmt::print(stderr, "tunlat: monitor: watching {} (netns {}, ifindex {})\n", term_safe(d.dev.name),
                   term_safe(netns_label(d.ns)), d.dev.ifindex);
      next.emplace(key, std::move(w));
    }
    std::vector<WatchedDevice> devices;
    for (const auto& [key, w] : next) devices.push_back({w.where.ns.inode, w.where.dev.ifindex, w.index});
    if (next.size() != watched_.size() || devices.size() != used.size()) owners_stale_ = true;
    probe_.watch(devices);
    watched_ = std::move(next);
  }

  // Polls every stage for stalls.
  void poll() {
    const uint64_t now = monotonic_ns();
    std::lock_guard lock(mu_);
    for (auto& [key, w] : watched_) {
      const tl_mon_stage_stats q = probe_.read_stages(w.index);
      for (int i = 0; i < TL_MON_STAGES; i++)
        w.stalls[static_cast<size_t>(i)].poll(now, held(q, i), q.last_out_ns[i]);
    }
  }

  // Looks for the devices' owners now and then: a walk of every process's open files,
  // done without the lock, so that a scrape meanwhile is not kept waiting.
  void find_owners() {
    const uint64_t now = monotonic_ns();
    std::vector<NetnsDevice> devs;
    {
      std::lock_guard lock(mu_);
      if (owners_at_ && now - owners_at_ < kOwnersEveryNs && !owners_stale_) return;
      owners_stale_ = false;
      for (const auto& [key, w] : watched_) devs.push_back(w.where);
    }
    auto owners = find_all_owners(devs);
    std::lock_guard lock(mu_);
    std::vector<std::pair<uint64_t, uint32_t>> socks;  // the owners' sockets: their drops are the tunnel's
    for (auto& [key, w] : watched_) {
      w.owners = owners[{w.where.ns.inode, w.where.dev.name}];
      for (const Owner& o : w.owners)
        for (uint64_t ino : o.sockets) socks.emplace_back(ino, w.index);
    }
    probe_.set_owner_sockets(socks);
    owners_at_ = now;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    MonitorSnapshot snap;
    snap.version = TUNLAT_VERSION;
    snap.sample = args_.sample;
    std::lock_guard lock(mu_);
    std::map<uint32_t, size_t> row_of;  // a device's index -> its row
    for (const auto& [key, w] : watched_) {
      MonitoredDevice d;
      d.device = w.where.dev.name;
      d.netns = netns_label(w.where.ns);
      d.stats = probe_.read(w.index);
      const tl_mon_stage_stats q = probe_.read_stages(w.index);
      for (int i = 0; i < TL_MON_STAGES; i++) {
        const StallWatch& sw = w.stalls[static_cast<size_t>(i)];
        d.stages[static_cast<size_t>(i)] = {held(q, i), sw.stalls(), sw.stall_seconds()};
      }
      for (const Owner& o : w.owners) {
        const double cpu = cpu_seconds(o.pid);
        if (cpu >= 0) d.owners.push_back({o.pid, o.comm, cpu});
      }
      row_of[w.index] = snap.devices.size();
      snap.devices.push_back(std::move(d));
    }
    std::vector<MonitorDrop> drops = probe_.drops();
    std::vector<uint64_t> unknown;
    for (const MonitorDrop& d : drops)
      if (!symbols_.count(d.key.location)) unknown.push_back(d.key.location);
    if (!unknown.empty()) {  // once per location: reading /proc/kallsyms takes ~0.3 s
      const std::map<uint64_t, std::string> named = symbolize(unknown);
      for (uint64_t addr : unknown) {
        auto it = named.find(addr);
        symbols_[addr] = it != named.end() ? it->second : fmt::format("{:#x}", addr);
      }
    }
    for (const MonitorDrop& d : drops) {
      auto row = row_of.find(d.key.dev);
      if (row == row_of.end()) continue;  // a device let go of
      auto reason = reasons_.find(static_cast<int32_t>(d.key.reason));
      std::string why = reason != reasons_.end() ? reason->second : std::to_string(d.key.reason);
      if (why.rfind("SKB_DROP_REASON_", 0) == 0) why.erase(0, 16);
      auto sym = symbols_.find(d.key.location);  // named above
      snap.drops.push_back(
          {row->second, d.key.dir, d.key.scope == TL_MON_SCOPE_UNDERLAY ? "underlay" : "device", why,
           sym != symbols_.end() ? sym->second : fmt::format("{:#x}", d.key.location), d.count});
    }
    return monitor_metrics(snap, births_);
  }

  size_t devices() const {
    std::lock_guard lock(mu_);
    return watched_.size();
  }

 private:
  static constexpr uint64_t kOwnersEveryNs = 10'000'000'000;  // a VPN restarts rarely

  const MonitorArgs args_;
  MonitorProbe probe_;
  const std::map<int32_t, std::string> reasons_;
  mutable std::mutex mu_;
  std::map<std::pair<uint64_t, uint32_t>, Watched> watched_;  // by (netns inode, ifindex)
  uint64_t owners_at_ = 0;                                    // when owners were looked for
  bool owners_stale_ = true;                                  // devices came or went since
  mutable std::map<uint64_t, std::string> symbols_;           // drop locations named
  mutable SeriesBirths births_;                               // late series, born at zero
  bool warned_full_ = false;
};

}  // namespace

std::string check_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    throw Fatal(fmt::format("--listen {}: want ADDR:PORT, e.g. 127.0.0.1:9477", listen), kExitUsage);
  const std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) == 0 ||
      std::stoul(port) > 65535)
    throw Fatal(fmt::format("--listen {}: the port must be a number from 1 to 65535", listen), kExitUsage);
  in_addr a4{};
  in6_addr a6{};
  const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (!(v6 ? inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) == 1
           : inet_pton(AF_INET, host.c_str(), &a4) == 1))
    throw Fatal(fmt::format("--listen {}: {} is not an IPv4 address or a bracketed IPv6 one", listen, host),
                kExitUsage);
  return listen;
}

int run_monitor(const MonitorArgs& a) {
  const std::string listen = check_listen(a.listen);
  check_privileges();
  KernelBtf btf;
  auto monitor = std::make_shared<Monitor>(a, btf);
  monitor->rescan();
  monitor->poll();
  monitor->find_owners();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    throw Fatal(fmt::format("cannot listen on {}: {}", listen, e.what()), kExitUsage);
  }
  exposer->RegisterCollectable(monitor);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  fmt::print(stderr, "tunlat: monitoring {} device(s); metrics at http://{}/metrics\n", monitor->devices(),
             listen);
  const uint64_t start = monotonic_ns(),
                 deadline = a.duration_s > 0 ? start + static_cast<uint64_t>(a.duration_s * 1e9) : 0;
  uint64_t next_scan = start + static_cast<uint64_t>(a.scan_s * 1e9);
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    const uint64_t now = monotonic_ns();
    if (now >= next_scan) {
      monitor->rescan();
      next_scan = now + static_cast<uint64_t>(a.scan_s * 1e9);
    }
    monitor->poll();
    monitor->find_owners();
    if (deadline && now >= deadline) break;
  }
  return kExitOk;
}

}  // namespace tunlat
