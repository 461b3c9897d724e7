// SPDX-License-Identifier: MIT
#include "kernel/monitor_probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "fatal.h"
#include "kernel/kernel_info.h"
#include "kernel/libbpf_log.h"
#include "tunlat_monitor_bpf.skel.h"
#include "tunlat_monitor_bpf_compat.skel.h"

namespace tunlat {

// Either skeleton, by what both have.
struct MonitorProbe::Bpf {
  std::function<void()> destroy;
  bpf_object_skeleton* skeleton = nullptr;
  bpf_object* obj = nullptr;
  bpf_map *devs = nullptr, *devptr = nullptr, *stats = nullptr, *stages = nullptr, *drops = nullptr,
          *owner_socks = nullptr;
  bpf_program *kfree_skb = nullptr, *kfree_skb_sk = nullptr;  // one of the two is attached
  bpf_program* qdisc_dequeue = nullptr;                       // with --sample only
  volatile uint32_t* devgen = nullptr;  // the programs' generation of mon_devs (their device cache)
  ~Bpf() {
    if (destroy) destroy();
  }
};

namespace {

template <class Skel>
std::unique_ptr<MonitorProbe::Bpf> open_monitor(Skel* (*open)(), void (*destroy)(Skel*), uint32_t sample) {
  Skel* s = open();
  if (!s) throw Fatal(fmt::format("cannot open BPF object: {}", std::strerror(errno)));
  s->rodata->mon_sample = std::max<uint32_t>(1, sample);
  auto b = std::make_unique<MonitorProbe::Bpf>();
  b->destroy = [s, destroy] { destroy(s); };
  b->skeleton = s->skeleton;
  b->obj = s->obj;
  b->devs = s->maps.mon_devs;
  b->devptr = s->maps.mon_devptr;
  b->devgen = &s->bss->mon_devgen;
  b->stats = s->maps.mon_stats;
  b->stages = s->maps.mon_stages;
  b->drops = s->maps.mon_drops;
  b->owner_socks = s->maps.mon_owner_socks;
  b->kfree_skb = s->progs.mon_kfree_skb;
  b->kfree_skb_sk = s->progs.mon_kfree_skb_sk;
  b->qdisc_dequeue = s->progs.mon_qdisc_dequeue;
  return b;
}

// Tracepoints a tun/tap device never passes: tun_get_user hands packets to netif_rx only
// on CONFIG_4KSTACKS kernels (arch/sh). Each one attached costs a call on every skb.
bool never_needed(const std::string& tp) { return tp == "netif_rx_entry"; }

}  // namespace

MonitorProbe::MonitorProbe(const KernelBtf& btf, bool verbose, uint32_t sample) {
  libbpf_log_to_stderr(verbose);
  btf.require_supported();
  const bool fast = btf.has_kfunc("bpf_rdonly_cast");
  bpf_ = fast ? open_monitor(tunlat_monitor_bpf__open, tunlat_monitor_bpf__destroy, sample)
              : open_monitor(tunlat_monitor_bpf_compat__open, tunlat_monitor_bpf_compat__destroy, sample);
  variant_ =
      fast ? "tunlat_monitor_bpf (bpf_rdonly_cast views)" : "tunlat_monitor_bpf_compat (CO-RE probe reads)";
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, bpf_->obj) {
    const std::string sec = bpf_program__section_name(p), tp = sec.substr(sec.find('/') + 1);
    if (never_needed(tp) || !btf.has_tracepoint(tp)) bpf_program__set_autoload(p, false);
  }
  // kfree_skb names the socket an skb was meant for from 6.11 on: a full receive buffer of
  // the VPN's socket is found by it (as the tracer's drops elsewhere are).
  const bool drop_sk = btf.tracepoint_args("kfree_skb") >= 4;
  bpf_program__set_autoload(bpf_->kfree_skb_sk, drop_sk);
  if (drop_sk) bpf_program__set_autoload(bpf_->kfree_skb, false);
  // Every packet followed: no segment needs to know whether its parent is.
  if (sample <= 1) bpf_program__set_autoload(bpf_->qdisc_dequeue, false);
  if (int err = bpf_object__load_skeleton(bpf_->skeleton)) throw Fatal(bpf_failure("load", err));
  if (int err = bpf_object__attach_skeleton(bpf_->skeleton)) throw Fatal(bpf_failure("attach", err));
  ncpu_ = std::max(1, libbpf_num_possible_cpus());
}

MonitorProbe::~MonitorProbe() = default;

void MonitorProbe::watch(const std::vector<WatchedDevice>& devices) {
  const int devs = bpf_map__fd(bpf_->devs), stats = bpf_map__fd(bpf_->stats);
  auto key_of = [](const WatchedDevice& d) {
    return tl_mon_dev_key{static_cast<uint32_t>(d.netns), d.ifindex};
  };
  auto has = [](const std::vector<WatchedDevice>& set, const WatchedDevice& d) {
    return std::any_of(set.begin(), set.end(), [&](const WatchedDevice& o) {
      return o.netns == d.netns && o.ifindex == d.ifindex && o.index == d.index;
    });
  };
  for (const WatchedDevice& d : watched_) {
    if (has(devices, d)) continue;
    tl_mon_dev_key k = key_of(d);
    bpf_map_delete_elem(devs, &k);
  }
  std::vector<tl_mon_dev_stats> zero(static_cast<size_t>(ncpu_));
  std::memset(zero.data(), 0, zero.size() * sizeof(tl_mon_dev_stats));
  std::vector<tl_mon_stage_stats> zero_stages(static_cast<size_t>(ncpu_));
  std::memset(zero_stages.data(), 0, zero_stages.size() * sizeof(tl_mon_stage_stats));
  for (const WatchedDevice& d : devices) {
    if (has(watched_, d) || d.index >= TL_MON_DEVS) continue;
    // Before its first packet.
    bpf_map_update_elem(stats, &d.index, zero.data(), BPF_ANY);
    bpf_map_update_elem(bpf_map__fd(bpf_->stages), &d.index, zero_stages.data(), BPF_ANY);
    tl_mon_dev_key k = key_of(d);
    bpf_map_update_elem(devs, &k, &d.index, BPF_ANY);
  }
  // The drops of a device let go of, or of the one an index held before: a device that
  // comes back (a VPN restart gets the same lowest free index) starts without them.
  std::vector<bool> fresh(TL_MON_DEVS, false);
  for (const WatchedDevice& d : watched_)
    if (!has(devices, d) && d.index < TL_MON_DEVS) fresh[d.index] = true;
  for (const WatchedDevice& d : devices)
    if (!has(watched_, d) && d.index < TL_MON_DEVS) fresh[d.index] = true;
  const int drops = bpf_map__fd(bpf_->drops);
  std::vector<tl_mon_drop_key> stale;
  tl_mon_drop_key dk{}, dnext{};
  for (int r = bpf_map_get_next_key(drops, nullptr, &dnext); r == 0;
       r = bpf_map_get_next_key(drops, &dk, &dnext)) {
    if (dnext.dev < TL_MON_DEVS && fresh[dnext.dev]) stale.push_back(dnext);
    dk = dnext;
  }
  for (const tl_mon_drop_key& k : stale) bpf_map_delete_elem(drops, &k);
  // Every net_device is looked up afresh: one that went away may come back at the same
  // address as another device.
  const int ptr = bpf_map__fd(bpf_->devptr);
  uint64_t key = 0, next = 0;
  std::vector<uint64_t> keys;
  for (int r = bpf_map_get_next_key(ptr, nullptr, &next); r == 0;
       r = bpf_map_get_next_key(ptr, &key, &next)) {
    keys.push_back(next);
    key = next;
  }
  for (uint64_t k : keys) bpf_map_delete_elem(ptr, &k);
  *bpf_->devgen = *bpf_->devgen + 1;  // and every CPU's cache of them
  watched_ = devices;
}

void MonitorProbe::set_owner_sockets(const std::vector<std::pair<uint64_t, uint32_t>>& socks) {
  const int fd = bpf_map__fd(bpf_->owner_socks);
  std::set<uint64_t> keep;
  for (const auto& [ino, index] : socks) {
    if (keep.size() >= TL_MON_OWNER_SOCKS) break;
    keep.insert(ino);
    bpf_map_update_elem(fd, &ino, &index, BPF_ANY);
  }
  uint64_t key = 0, next = 0;
  std::vector<uint64_t> gone;
  for (int r = bpf_map_get_next_key(fd, nullptr, &next); r == 0; r = bpf_map_get_next_key(fd, &key, &next)) {
    if (!keep.count(next)) gone.push_back(next);
    key = next;
  }
  for (uint64_t k : gone) bpf_map_delete_elem(fd, &k);
}

tl_mon_dev_stats MonitorProbe::read(uint32_t index) const {
  std::vector<tl_mon_dev_stats> cpus(static_cast<size_t>(ncpu_));
  tl_mon_dev_stats sum{};
  if (bpf_map_lookup_elem(bpf_map__fd(bpf_->stats), &index, cpus.data()) != 0) return sum;
  for (const tl_mon_dev_stats& c : cpus) {
    for (int s = 0; s < TL_MON_SPANS; s++) {
      for (int b = 0; b < TL_MON_BUCKETS; b++) sum.hist[s][b] += c.hist[s][b];
      sum.span_ns[s] += c.span_ns[s];
    }
    for (int p = 0; p < TL_MON_POINTS; p++) sum.points[p] += c.points[p];
    for (int d = 0; d < 2; d++) sum.bytes[d] += c.bytes[d];
    sum.lost += c.lost;
  }
  return sum;
}

tl_mon_stage_stats MonitorProbe::read_stages(uint32_t index) const {
  std::vector<tl_mon_stage_stats> cpus(static_cast<size_t>(ncpu_));
  tl_mon_stage_stats sum{};
  if (bpf_map_lookup_elem(bpf_map__fd(bpf_->stages), &index, cpus.data()) != 0) return sum;
  for (const tl_mon_stage_stats& c : cpus)
    for (int q = 0; q < TL_MON_STAGES; q++) {
      sum.in[q] += c.in[q];
      sum.out[q] += c.out[q];
      sum.last_out_ns[q] = std::max(sum.last_out_ns[q], c.last_out_ns[q]);
    }
  return sum;
}

std::vector<MonitorDrop> MonitorProbe::drops() const {
  const int fd = bpf_map__fd(bpf_->drops);
  std::vector<MonitorDrop> out;
  std::vector<uint64_t> cpus(static_cast<size_t>(ncpu_));
  tl_mon_drop_key key{}, next{};
  for (int r = bpf_map_get_next_key(fd, nullptr, &next); r == 0; r = bpf_map_get_next_key(fd, &key, &next)) {
    key = next;
    if (bpf_map_lookup_elem(fd, &key, cpus.data()) != 0) continue;
    MonitorDrop d{key, 0};
    for (uint64_t c : cpus) d.count += c;
    out.push_back(d);
  }
  return out;
}

}  // namespace tunlat
