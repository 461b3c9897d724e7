// SPDX-License-Identifier: MIT
// The thin kernel-facing part: loads the BPF programs for one device and drains their events.
#include "kernel/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "fatal.h"
#include "kernel/filter_patch.h"
#include "kernel/kernel_info.h"
#include "kernel/libbpf_log.h"
#include "kernel/rings.h"
#include "tunlat_bpf.skel.h"
#include "tunlat_bpf_compat.skel.h"

namespace tunlat {

namespace {

// A program attached to a raw tracepoint, named by its section ("raw_tp/NAME").
struct ProgTp {
  bpf_program* prog;
  std::string tp;
  const char* since;  // the first Linux release that has it
};

// The first Linux release with each tracepoint (and the arguments a program takes) that
// not every kernel has; the others are far older (2.6).
const char* first_kernel(const std::string& tp) {
  static const std::pair<const char*, const char*> since[] = {
      {"qdisc_enqueue", "5.14"},           {"qdisc_dequeue", "4.16"},
      {"net_dev_start_xmit", "3.19"},      {"netif_rx_entry", "3.19"},
      {"netif_receive_skb_entry", "3.19"}, {"netif_receive_skb_list_entry", "4.19"},
      {"napi_gro_receive_entry", "3.19"},  {"tcp_probe", "4.16"},
      {"tcp_retransmit_skb", "4.15"},      {"sched_switch", "5.18"},  // its prev_state argument
      {"sock_recv_length", "6.3"},
  };
  for (const auto& [name, release] : since)
    if (tp == name) return release;
  return "2.6";
}

// The owners' scheduling (bpf/sched.bpf.c): all of these programs or none.
bool sched_tracepoint(const std::string& tp) { return tp.rfind("sched_", 0) == 0; }

}  // namespace

// What the tracer uses of a skeleton. Both variants are built from bpf/tunlat.bpf.c and
// have the same maps and programs, but each is its own C struct: this takes their parts.
struct TracerBpf {
  bpf_object_skeleton* skeleton = nullptr;  // loaded and attached with libbpf's generic calls
  bpf_map *ring_ctl = nullptr, *ring_records = nullptr, *counters = nullptr, *owners = nullptr;
  bpf_map* owner_socks = nullptr;           // the owners' socket inodes: their underlay drops
  bpf_program* kfree_skb_sk = nullptr;      // kfree_skb with the socket meant (6.11+)
  bpf_program* sock_recv_length = nullptr;  // the owners' underlay reads (6.3+, with --sched)
  std::vector<bpf_program*> run_once;       // run by the loader ("raw_tp" alone), not attached
  std::vector<ProgTp> programs;             // the packet path's, by tracepoint
  std::vector<ProgTp> sched_programs;       // the owners' scheduling: all or none
  bpf_program *learn_target_dev = nullptr, *flush_in_flight = nullptr;
  tl_config* config = nullptr;                    // the skeleton's .rodata tl_cfg: set whole before load
  std::function<uint64_t()> target_dev;           // .bss, read and written after load
  std::function<volatile uint8_t*()> owner_hint;  // TL_OWNER_HINTS bytes
  std::function<void()> destroy;
  ~TracerBpf() {
    if (destroy) destroy();
  }
};

namespace {

template <class Skel>
std::unique_ptr<TracerBpf> open_skeleton(Skel* (*open)(), void (*destroy)(Skel*)) {
  Skel* s = open();
  if (!s) throw Fatal(fmt::format("cannot open BPF object: {}", std::strerror(errno)));
  auto b = std::make_unique<TracerBpf>();
  b->destroy = [s, destroy] { destroy(s); };
  b->skeleton = s->skeleton;
  b->ring_ctl = s->maps.ring_ctl;
  b->ring_records = s->maps.ring_records;
  b->counters = s->maps.counters;
  b->owners = s->maps.owners;
  b->owner_socks = s->maps.owner_socks;
  b->kfree_skb_sk = s->progs.on_kfree_skb_sk;
  b->learn_target_dev = s->progs.learn_target_dev;
  b->flush_in_flight = s->progs.flush_in_flight;
  // Every other program by its section: "raw_tp/NAME" attaches to tracepoint NAME.
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, s->obj) {
    const std::string sec = bpf_program__section_name(p);
    const std::string prefix = "raw_tp/";
    if (sec.rfind(prefix, 0) != 0) {
      b->run_once.push_back(p);
      continue;
    }
    ProgTp prog{p, sec.substr(prefix.size()), nullptr};
    prog.since = first_kernel(prog.tp);
    if (p == b->kfree_skb_sk) continue;  // instead of kfree_skb's other program, where it can
    if (prog.tp == "sock_recv_length")
      b->sock_recv_length = p;  // with the scheduler part, where the kernel has it
    else if (sched_tracepoint(prog.tp))
      b->sched_programs.push_back(prog);
    else
      b->programs.push_back(prog);
  }
  b->config = &s->rodata->tl_cfg;
  b->target_dev = [s] { return s->bss->target_dev; };  // bss is mapped anew at load
  b->owner_hint = [s] { return reinterpret_cast<volatile uint8_t*>(s->bss->owner_hint); };
  return b;
}

// Tracepoints a tun/tap device never needs: each attached one costs a program call on
// every skb of the machine. tun_net_xmit frees a packet it drops before it returns, so
// net_dev_xmit's rc comes after the free that already told why; tun_get_user hands
// packets to netif_rx only on CONFIG_4KSTACKS kernels (arch/sh).
bool tun_never_needs(const std::string& tp) { return tp == "net_dev_xmit" || tp == "netif_rx_entry"; }

// A record is taken as sent once it is this old: one written on another CPU while we read
// the rings (its time is taken before it is published) must not be passed by later ones.
constexpr uint64_t kHoldbackNs = 10'000'000;

void* map_array(bpf_map* map, size_t len, int prot) {
  void* p = mmap(nullptr, len, prot, MAP_SHARED, bpf_map__fd(map), 0);
  if (p == MAP_FAILED)
    throw Fatal(fmt::format("cannot map BPF array {}: {}", bpf_map__name(map), std::strerror(errno)));
  return p;
}

size_t page_round(size_t n) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

}  // namespace

Tracer::Mapping::~Mapping() {
  if (addr) munmap(addr, len);
}

Tracer::Tracer(const TracerOptions& o, const KernelBtf& btf, EventSink out,
               std::vector<std::string>& warnings) {
  libbpf_log_to_stderr(o.verbose);

  btf.require_supported();
  // Reads through bpf_rdonly_cast views where the kernel has the kfunc (6.2+); before,
  // the same programs with CO-RE probe reads, a few tens of ns slower per field.
  const bool fast = btf.has_kfunc("bpf_rdonly_cast");
  if (fast) {
    bpf_ = open_skeleton(tunlat_bpf__open, tunlat_bpf__destroy);
  } else {
    bpf_ = open_skeleton(tunlat_bpf_compat__open, tunlat_bpf_compat__destroy);
    warnings.push_back(
        "kernel lacks the bpf_rdonly_cast kfunc (since Linux 6.2): kernel objects "
        "are read with probe reads, which cost more per packet");
  }
  if (o.verbose)
    fmt::print(stderr, "tunlat: BPF programs: {}\n",
               fast ? "tunlat_bpf (fast path: bpf_rdonly_cast views)"
                    : "tunlat_bpf_compat (fallback: CO-RE probe reads)");
  // The programs' settings, written whole into their .rodata before load.
  tl_config cfg{};
  cfg.ifindex = o.ifindex;
  cfg.netns = static_cast<uint32_t>(o.netns_inode);
  cfg.sample = o.sample > 0 ? o.sample : 1;
  cfg.ether = o.ether ? 1 : 0;
  cfg.handoff = o.handoff;
  cfg.mac = o.mac;
  if (o.filter.size() > TL_FILTER_MAX) throw Fatal("the filter is too long for the BPF programs");
  // Every program that asks the filter has its region (a packet's first point: queue,
  // inject, and the segments adopted at enqueue and xmit).
  if (!o.filter.empty()) {
    const int regions = patch_filter(*bpf_->skeleton->obj, o.filter);
    if (regions < TL_FILTER_SITES)
      throw Fatal("the BPF programs have fewer filter regions than the points that ask the filter");
    if (o.verbose)
      fmt::print(stderr, "tunlat: the filter ({} cBPF instructions) translated into {} programs' regions\n",
                 o.filter.size(), regions);
  }
  cfg.filter_len = static_cast<uint32_t>(o.filter.size());
  // The filter reads packets where they lie where the kernel allows loads anywhere (6.17+);
  // else from a copy, one helper call more per packet (the compat build always).
  const bool in_place = fast && !o.filter.empty() && btf.loads_anywhere();
  cfg.filter_in_place = in_place ? 1 : 0;
  if (o.verbose && !o.filter.empty())
    fmt::print(stderr, "tunlat: the filter reads {}\n",
               in_place ? "packets in place" : "a copy of each packet's first bytes (kernel before 6.17)");
  cfg.pcap_snap = std::min<uint32_t>(o.pcap_snap, TL_SNAP);
  cfg.filter_snap = tl_cbpf_snap(o.filter.data(), static_cast<uint32_t>(o.filter.size()));
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) throw Fatal(fmt::format("cannot count CPUs: {}", std::strerror(-ncpu)));
  rings_ = RingLayout::for_cpus(static_cast<uint32_t>(ncpu));
  cfg.ring_records = kRingRecords;
  cfg.spill_records = rings_.spill_records;
  bpf_map__set_max_entries(bpf_->ring_ctl, rings_.rings());
  bpf_map__set_max_entries(bpf_->ring_records, rings_.total_records());

  for (bpf_program* prog : bpf_->run_once) bpf_program__set_autoattach(prog, false);
  for (auto& [prog, tp, since] : bpf_->programs) {
    if (o.tun_driver && tun_never_needs(tp)) {
      bpf_program__set_autoload(prog, false);
      continue;
    }
    if (btf.has_tracepoint(tp)) continue;
    bpf_program__set_autoload(prog, false);
    warnings.push_back(
        fmt::format("kernel lacks tracepoint {} (since Linux {}): its point is skipped", tp, since));
  }

  host_retransmits_status_ =
      btf.has_tracepoint("tcp_retransmit_skb") ? "on" : "off: kernel lacks tracepoint tcp_retransmit_skb";
  // kfree_skb names the socket an skb was meant for from 6.11 on: the drops on the
  // owners' sockets are found by it, else by the skb's own socket (set on fewer drops).
  const bool drop_sk = btf.tracepoint_args("kfree_skb") >= 4;
  bpf_program__set_autoload(bpf_->kfree_skb_sk, drop_sk);
  if (drop_sk)
    for (auto& [prog, tp, since] : bpf_->programs)
      if (tp == "kfree_skb") bpf_program__set_autoload(prog, false);

  sched_status_ = !o.sched                ? "off (--no-sched)"
                  : o.owner_tgids.empty() ? "off: no process holds the device"
                                          : "on";
  if (sched_status_ == "on")
    for (auto& [prog, tp, since] : bpf_->sched_programs)
      if (!btf.has_tracepoint(tp) || (tp == "sched_switch" && btf.tracepoint_args(tp) < 4))
        sched_status_ =
            fmt::format("off: kernel lacks tracepoint {} with its arguments (since Linux {})", tp, since);
  cfg.sched = sched_status_ == "on";
  for (auto& [prog, tp, since] : bpf_->sched_programs) bpf_program__set_autoload(prog, sched_status_ == "on");
  // The VPN's underlay reads: one per message at sock_recv_length where it exists (6.3+),
  // else guessed from the skbs its threads copy and free (bpf/sched.bpf.h).
  const bool recv_tp = sched_status_ == "on" && btf.has_tracepoint("sock_recv_length");
  cfg.recv_tp = recv_tp ? 1 : 0;
  bpf_program__set_autoload(bpf_->sock_recv_length, recv_tp);
  cfg.owner_socks = static_cast<uint32_t>(o.owner_sockets.size());
  *bpf_->config = cfg;

  if (int err = bpf_object__load_skeleton(bpf_->skeleton)) throw Fatal(bpf_failure("load", err));
  if (sched_status_ == "on") set_owners(o.owner_tgids);  // before the first hit can ask
  for (uint64_t ino : o.owner_sockets) {
    uint8_t one = 1;
    bpf_map_update_elem(bpf_map__fd(bpf_->owner_socks), &ino, &one, BPF_ANY);  // full: not followed
  }
  if (int err = bpf_object__attach_skeleton(bpf_->skeleton)) throw Fatal(bpf_failure("attach", err));
  ctl_map_.len = page_round(sizeof(tl_ring_ctl) * rings_.rings());
  ctl_map_.addr = map_array(bpf_->ring_ctl, ctl_map_.len, PROT_READ | PROT_WRITE);
  ctl_ = static_cast<tl_ring_ctl*>(ctl_map_.addr);
  records_map_.len = page_round(sizeof(tl_record) * rings_.total_records());
  records_map_.addr = map_array(bpf_->ring_records, records_map_.len, PROT_READ);
  ring_ = static_cast<const tl_record*>(records_map_.addr);
  ingest_ = std::make_unique<Ingest>(rings_.rings(), std::move(out));
  reader_ = std::make_unique<RingReader>(rings_, ctl_, ring_, kReadMs);
  reader_->start();
}

Tracer::~Tracer() = default;

// The owners' tgids into the hash, then their hints: a hint without its entry costs a lookup.
void Tracer::set_owners(const std::vector<uint32_t>& tgids) {
  volatile uint8_t* hint = bpf_->owner_hint();
  for (uint32_t tgid : tgids) {
    uint8_t one = 1;
    if (bpf_map_update_elem(bpf_map__fd(bpf_->owners), &tgid, &one, BPF_ANY) != 0)
      throw Fatal(fmt::format("cannot set the device's owners in BPF: {}", std::strerror(errno)));
    hint[tgid % TL_OWNER_HINTS] = 1;
  }
}

// Runs a program that is not attached once, now (BPF_PROG_TEST_RUN); false on failure.
static bool run_once(bpf_program* prog) {
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  return bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) == 0;
}

bool Tracer::learn_device() { return run_once(bpf_->learn_target_dev) && bpf_->target_dev() != 0; }

void Tracer::flush_in_flight() {
  reader_->stop();  // from here this thread reads the rings
  for (const RecordBatch& b : reader_->pop_all(0)) analyse(b, false);
  // Packets still in flight have points not sent yet: a BPF program sends them now.
  if (!run_once(bpf_->flush_in_flight))
    fmt::print(stderr, "tunlat: warning: cannot collect the packets in flight: {}\n", std::strerror(errno));
  analyse(reader_->read_now(), true);
}

void Tracer::poll(int timeout_ms) {
  std::deque<RecordBatch> batches = reader_->pop_all(timeout_ms);
  for (const RecordBatch& b : batches) analyse(b, false);
  reader_->recycle(std::move(batches));
}

// Passes on a batch's records in the order they were sent. Records younger than
// kHoldbackNs when the batch was read wait for the next batch, unless this is the last.
void Tracer::analyse(const RecordBatch& b, bool final) {
  b.for_each([&](uint32_t ring, const tl_record& r) { ingest_->add(ring, r); });
  if (final)
    ingest_->finish();
  else
    ingest_->release(b.read_at - kHoldbackNs);
}

uint64_t Tracer::counter(int idx) const {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
  uint32_t key = idx;
  if (bpf_map_lookup_elem(bpf_map__fd(bpf_->counters), &key, vals.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : vals) sum += v;
  return sum;
}

uint64_t Tracer::lost() const { return counter(TL_CNT_LOST); }
uint64_t Tracer::spilled() const { return counter(TL_CNT_SPILLED); }
uint64_t Tracer::sampled_out() const { return counter(TL_CNT_SAMPLED_OUT); }

}  // namespace tunlat
