// SPDX-License-Identifier: MIT
// The thin kernel-facing part: loads the BPF programs for one device and drains their events.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cbpf.h"
#include "core/ingest/ingest.h"
#include "kernel/ring_reader.h"
#include "kernel/rings.h"

struct tl_ring_ctl;
struct tl_record;

namespace tunlat {

class KernelBtf;
struct TracerBpf;

struct TracerOptions {
  uint32_t ifindex = 0;
  uint64_t netns_inode = 0;
  uint32_t sample = 1;                  // follow 1 packet in this many
  bool verbose = false;                 // let libbpf's messages through
  bool tun_driver = false;              // a tun/tap device: tracepoints tun never reaches stay detached
  bool sched = false;                   // follow the owners' scheduling (--sched)
  std::vector<uint32_t> owner_tgids;    // the device's owner processes
  std::vector<uint64_t> owner_sockets;  // their sockets' inodes: drops there are the tunnel's
  bool ether = true;                    // packets start with an Ethernet header (tap), else IP (tun)
  std::vector<tl_cbpf_insn> filter;     // the pcap filter, compiled (core/filter): none if empty
  uint32_t pcap_snap = 0;               // --pcapng: each followed packet's first bytes (TL_BYTES)
  uint32_t handoff = TL_HO_READER;      // what a TX packet's read is (enum tl_handoff)
  uint64_t mac = 0;                     // TL_HO_MACVTAP: the device's address (Device::mac)
};

class Tracer {
 public:
  // Opens, loads and attaches. Points whose tracepoint the kernel lacks are skipped and
  // named in warnings. The records read go to an Ingest that passes its events to out.
  // Throws Fatal with libbpf's reason and a hint on failure.
  Tracer(const TracerOptions& o, const KernelBtf& btf, EventSink out, std::vector<std::string>& warnings);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Finds the device's kernel object before its first packet, so that until then the
  // machine's other skbs cost a pointer compare, not a read of a net_device. Must run in
  // the device's netns. Returns whether it was found; if not, its first packet learns it.
  bool learn_device();
  // How often the reading thread reads at the most: often enough that the kernel's main
  // rings, small so that they stay in cache, do not fill (they spill into bigger rings if
  // they do). It reads less often while they fill slowly (RingReader::next_period).
  static constexpr int kReadMs = 10;
  // How long the analysis waits for records at the most: it is woken earlier only when
  // many wait (RingReader::kWakeRecords).
  static constexpr int kPollMs = 50;
  // Waits up to timeout_ms for the reading thread, then passes on the records it read
  // that were sent more than a moment ago.
  void poll(int timeout_ms);
  // At the end: sends the points of packets still in flight and passes on everything.
  void flush_in_flight();
  uint64_t lost() const;         // events not sent: their record found its CPU's rings full
  uint64_t spilled() const;      // records that found both small rings full: read late, not lost
  uint64_t sampled_out() const;  // packets --sample passed over
  const AddressJoinStats& joins() const { return ingest_->joins(); }
  // How the thread reading the rings is scheduled (for -v).
  const std::string& reader_priority() const { return reader_->priority(); }
  // "on", "off", or why the owners' scheduling is not followed (TraceInfo::sched).
  const std::string& sched_status() const { return sched_status_; }
  // "on", or why the host's own retransmissions are not counted (TraceInfo).
  const std::string& host_retransmits_status() const { return host_retransmits_status_; }

 private:
  void analyse(const RecordBatch& b, bool final);
  uint64_t counter(int idx) const;

  // One mmapped BPF array.
  struct Mapping {
    void* addr = nullptr;
    size_t len = 0;
    ~Mapping();
  };

  // The skeleton loaded: tunlat_bpf, or tunlat_bpf_compat on kernels without its kfuncs.
  std::unique_ptr<TracerBpf> bpf_;
  Mapping ctl_map_, records_map_;
  tl_ring_ctl* ctl_ = nullptr;       // per ring
  const tl_record* ring_ = nullptr;  // each CPU's rings, as tl_ring_first lays them out
  RingLayout rings_;
  std::unique_ptr<Ingest> ingest_;      // records -> events: the core's side
  std::unique_ptr<RingReader> reader_;  // empties the rings on its own thread
  std::string sched_status_;
  std::string host_retransmits_status_;
  void set_owners(const std::vector<uint32_t>& tgids);
};

}  // namespace tunlat
