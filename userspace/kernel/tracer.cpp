// The thin kernel-facing part: loads the BPF programs for one device and drains their events.
#include "kernel/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include <fmt/format.h>

#include "kernel/errors.h"
#include "kernel/kernel_info.h"
#include "tunlat_bpf.skel.h"

namespace tunlat {

namespace {

bool g_verbose = false;
std::string g_last_libbpf_error;  // libbpf's last warning: the reason behind a failure

int libbpf_print(enum libbpf_print_level level, const char* fmt_str, va_list args) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt_str, args);
  if (level == LIBBPF_WARN) {
    g_last_libbpf_error = buf;
    while (!g_last_libbpf_error.empty() && g_last_libbpf_error.back() == '\n')
      g_last_libbpf_error.pop_back();
  }
  if (g_verbose) fputs(buf, stderr);
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
          {p.on_consume_skb, "consume_skb"},
          {p.on_kfree_skb, "kfree_skb"}};
}

std::string load_hint(int err) {
  if (err == -EPERM || err == -EACCES)
    return "hint: needs CAP_BPF+CAP_PERFMON (or root); a locked-down kernel or seccomp may forbid BPF";
  if (err == -ENOMEM) return "hint: raise RLIMIT_MEMLOCK (ulimit -l) or free memory";
  return "hint: run with -v for libbpf's full log";
}

}  // namespace

void Tracer::SkelDeleter::operator()(tunlat_bpf* s) const { tunlat_bpf__destroy(s); }
void Tracer::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

Tracer::Tracer(const TracerOptions& o, const KernelBtf& btf, Sink sink,
               std::vector<std::string>& warnings)
    : sink_(std::move(sink)) {
  g_verbose = o.verbose;
  libbpf_set_print(libbpf_print);

  skel_.reset(tunlat_bpf__open());
  if (!skel_) throw Fatal(fmt::format("cannot open BPF object: {}", std::strerror(errno)));
  skel_->rodata->targ_ifindex = o.ifindex;
  skel_->rodata->targ_netns = static_cast<uint32_t>(o.netns_inode);
  skel_->rodata->targ_sample = o.sample > 0 ? o.sample : 1;

  bpf_program__set_autoattach(skel_->progs.flush_in_flight, false);  // run, not attached
  for (auto& [prog, tp] : programs(skel_.get())) {
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
  ring_.reset(ring_buffer__new(bpf_map__fd(skel_->maps.events), on_sample, this, nullptr));
  if (!ring_) throw Fatal(fmt::format("cannot create ring buffer: {}", std::strerror(errno)));
}

Tracer::~Tracer() = default;

int Tracer::on_sample(void* ctx, void* data, size_t size) {
  // One record: one or more events (a packet's points, sent together when its path ends).
  auto* self = static_cast<Tracer*>(ctx);
  for (size_t off = 0; off + sizeof(Event) <= size; off += sizeof(Event)) {
    Event e;
    std::memcpy(&e, static_cast<char*>(data) + off, sizeof e);
    self->sink_(e);
  }
  return 0;
}

void Tracer::flush_in_flight() {
  // Packets still in flight have points not sent yet: a BPF program sends them now.
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.flush_in_flight), &opts) != 0)
    fmt::print(stderr, "tunlat: warning: cannot collect the packets in flight: {}\n",
               std::strerror(errno));
  poll(0);
}

void Tracer::poll(int timeout_ms) {
  // The BPF side wakes us only when a lot is waiting (batched wake-ups), so drain after
  // every wait whether or not it was woken.
  ring_buffer__poll(ring_.get(), timeout_ms);
  ring_buffer__consume(ring_.get());
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

}  // namespace tunlat
