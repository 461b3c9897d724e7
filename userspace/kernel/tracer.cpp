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
#include <cstdarg>
#include <cstring>

#include <fmt/format.h>

#include "fatal.h"
#include "kernel/kernel_info.h"
#include "kernel/rings.h"
#include "tunlat_bpf.skel.h"

namespace tunlat {

namespace {

bool g_verbose = false;
std::string g_last_libbpf_error;  // libbpf's last warning: the reason behind a failure

int libbpf_print(enum libbpf_print_level level, const char* fmt_str, va_list args) {
  if (g_verbose) {  // whole: a verifier log is one message of many KiB
    va_list copy;
    va_copy(copy, args);
    vfprintf(stderr, fmt_str, copy);
    va_end(copy);
  }
  if (level == LIBBPF_WARN) {
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt_str, args);
    g_last_libbpf_error = buf;
    while (!g_last_libbpf_error.empty() && g_last_libbpf_error.back() == '\n')
      g_last_libbpf_error.pop_back();
  }
  return 0;
}

// Program -> tracepoint, for the "kernel lacks this tracepoint" check.
struct ProgTp {
  bpf_program* prog;
  const char* tp;
};

std::vector<ProgTp> programs(tunlat_bpf* s) {
  auto& p = s->progs;
  return {{p.on_net_dev_queue, "net_dev_queue"},
          {p.on_qdisc_enqueue, "qdisc_enqueue"},
          {p.on_qdisc_dequeue, "qdisc_dequeue"},
          {p.on_net_dev_start_xmit, "net_dev_start_xmit"},
          {p.on_net_dev_xmit, "net_dev_xmit"},
          {p.on_skb_copy_datagram_iovec, "skb_copy_datagram_iovec"},
          {p.on_netif_rx_entry, "netif_rx_entry"},
          {p.on_netif_receive_skb_entry, "netif_receive_skb_entry"},
          {p.on_netif_receive_skb_list_entry, "netif_receive_skb_list_entry"},
          {p.on_napi_gro_receive_entry, "napi_gro_receive_entry"},
          {p.on_netif_receive_skb, "netif_receive_skb"},
          {p.on_tcp_probe, "tcp_probe"},
          {p.on_consume_skb, "consume_skb"},
          {p.on_kfree_skb, "kfree_skb"}};
}

// Tracepoints a tun/tap device never needs: each attached one costs a program call on
// every skb of the machine. tun_net_xmit frees a packet it drops before it returns, so
// net_dev_xmit's rc comes after the free that already told why; tun_get_user hands
// packets to netif_rx only on CONFIG_4KSTACKS kernels (arch/sh).
bool tun_never_needs(const std::string& tp) { return tp == "net_dev_xmit" || tp == "netif_rx_entry"; }

// A record is taken as sent once it is this old: one written on another CPU while we read
// the rings (its time is taken before it is published) must not be passed by later ones.
constexpr uint64_t kHoldbackNs = 10'000'000;

uint64_t monotonic_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec);
}

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

std::string load_hint(int err) {
  if (err == -EPERM || err == -EACCES)
    return "hint: needs CAP_BPF+CAP_PERFMON (or root); a locked-down kernel or seccomp may forbid BPF";
  if (err == -ENOMEM) return "hint: raise RLIMIT_MEMLOCK (ulimit -l) or free memory";
  return "hint: run with -v for libbpf's full log";
}

}  // namespace

void Tracer::SkelDeleter::operator()(tunlat_bpf* s) const { tunlat_bpf__destroy(s); }
Tracer::Mapping::~Mapping() {
  if (addr) munmap(addr, len);
}

Tracer::Tracer(const TracerOptions& o, const KernelBtf& btf, EventSink out,
               std::vector<std::string>& warnings) {
  g_verbose = o.verbose;
  libbpf_set_print(libbpf_print);

  skel_.reset(tunlat_bpf__open());
  if (!skel_) throw Fatal(fmt::format("cannot open BPF object: {}", std::strerror(errno)));
  skel_->rodata->targ_ifindex = o.ifindex;
  skel_->rodata->targ_netns = static_cast<uint32_t>(o.netns_inode);
  skel_->rodata->targ_sample = o.sample > 0 ? o.sample : 1;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) throw Fatal(fmt::format("cannot count CPUs: {}", std::strerror(-ncpu)));
  rings_ = RingLayout::for_cpus(static_cast<uint32_t>(ncpu));
  skel_->rodata->targ_ring_records = kRingRecords;
  skel_->rodata->targ_spill_records = rings_.spill_records;
  // Every CPU's rings: where a CPU past the last would start.
  bpf_map__set_max_entries(skel_->maps.ring_ctl, rings_.rings());
  bpf_map__set_max_entries(skel_->maps.ring_records, rings_.total_records());

  bpf_program__set_autoattach(skel_->progs.flush_in_flight, false);  // run, not attached
  bpf_program__set_autoattach(skel_->progs.learn_target_dev, false);
  for (auto& [prog, tp] : programs(skel_.get())) {
    if (o.tun_driver && tun_never_needs(tp)) {
      bpf_program__set_autoload(prog, false);
      continue;
    }
    if (btf.has_tracepoint(tp)) continue;
    bpf_program__set_autoload(prog, false);
    warnings.push_back(fmt::format("kernel lacks tracepoint {}: its point is skipped", tp));
  }

  if (int err = tunlat_bpf__load(skel_.get()))
    throw Fatal(fmt::format("cannot load BPF programs: {} ({}); {}",
                            g_last_libbpf_error.empty() ? std::strerror(-err) : g_last_libbpf_error,
                            std::strerror(-err), load_hint(err)));
  if (int err = tunlat_bpf__attach(skel_.get()))
    throw Fatal(fmt::format("cannot attach BPF programs: {} ({}); {}",
                            g_last_libbpf_error.empty() ? std::strerror(-err) : g_last_libbpf_error,
                            std::strerror(-err), load_hint(err)));
  ctl_map_.len = page_round(sizeof(tl_ring_ctl) * rings_.rings());
  ctl_map_.addr = map_array(skel_->maps.ring_ctl, ctl_map_.len, PROT_READ | PROT_WRITE);
  ctl_ = static_cast<tl_ring_ctl*>(ctl_map_.addr);
  records_map_.len = page_round(sizeof(tl_record) * rings_.total_records());
  records_map_.addr = map_array(skel_->maps.ring_records, records_map_.len, PROT_READ);
  ring_ = static_cast<const tl_record*>(records_map_.addr);
  ingest_ = std::make_unique<Ingest>(rings_.rings(), std::move(out));
}

Tracer::~Tracer() = default;

// Runs a program that is not attached once, now (BPF_PROG_TEST_RUN); false on failure.
static bool run_once(bpf_program* prog) {
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  return bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) == 0;
}

bool Tracer::learn_device() {
  return run_once(skel_->progs.learn_target_dev) && skel_->bss->target_dev != 0;
}

void Tracer::flush_in_flight() {
  // Packets still in flight have points not sent yet: a BPF program sends them now.
  if (!run_once(skel_->progs.flush_in_flight))
    fmt::print(stderr, "tunlat: warning: cannot collect the packets in flight: {}\n",
               std::strerror(errno));
  drain(true);
}

void Tracer::poll(int timeout_ms) {
  if (timeout_ms > 0) {
    timespec t{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
    nanosleep(&t, nullptr);  // a signal ends it early: the caller looks at its flag
  }
  drain(false);
}

// Reads every ring, then passes records on in the order they were sent. Records younger
// than kHoldbackNs wait for the next drain, unless this is the last one.
void Tracer::drain(bool final) {
  const uint64_t read_at = monotonic_ns();
  for (uint32_t c = 0; c < rings_.rings(); c++) {
    tl_ring_ctl& ctl = ctl_[c];
    uint64_t head = __atomic_load_n(&ctl.head, __ATOMIC_ACQUIRE), tail = ctl.tail;
    const uint32_t mask = rings_.size(c) - 1;
    const tl_record* ring = ring_ + rings_.first(c);
    for (; tail < head; tail++) ingest_->add(c, ring[tail & mask]);
    __atomic_store_n(&ctl.tail, tail, __ATOMIC_RELEASE);
  }
  if (final)
    ingest_->finish();
  else
    ingest_->release(read_at - kHoldbackNs);
}

uint64_t Tracer::counter(int idx) const {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
  uint32_t key = idx;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &key, vals.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : vals) sum += v;
  return sum;
}

uint64_t Tracer::lost() const { return counter(TL_CNT_LOST); }
uint64_t Tracer::spilled() const { return counter(TL_CNT_SPILLED); }

}  // namespace tunlat
