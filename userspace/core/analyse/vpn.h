// SPDX-License-Identifier: MIT
// The VPN process: its state while packets wait for it, its own time per packet, its CPUs.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/analyse/histogram.h"
#include "core/analyse/sched_timeline.h"
#include "core/correlate/correlator.h"

namespace tunlat {

// One way of pairing what a VPN takes in with what it passes on: in order (FIFO), per
// process or per thread.
struct Pairing {
  Histogram cost;  // ns, of the pairs
  uint64_t paired = 0;
  uint64_t same_thread = 0;    // pairs whose two ends ran on one thread
  uint64_t batched = 0;        // pairs made while more than one packet was waiting
  uint64_t unpaired_ins = 0;   // taken in, never passed on as far as the trace saw
  uint64_t unpaired_outs = 0;  // passed on with nothing waiting (the VPN's own: keepalives)
  // Between the two ends of each pair, the states of the thread that passed the packet
  // on (TX: the sender; RX: the writer into the device): busy with it, or not yet there.
  StateSplit passer;
};

// A VPN's time per packet in one direction: from taking a packet in (TX: its read of the
// device; RX: its read of its underlay socket) to passing it on (TX: its send on its
// underlay socket; RX: its write into the device). Paired in order two ways at once:
// per thread (a thread sends what it read: OpenVPN, or worker threads of their own) and
// per process (threads hand packets over: wireguard-go reads on one goroutine and sends
// on others, whatever threads they run on). The one that holds is told by the pairs:
// see by_thread().
struct PairStats {
  uint64_t ins = 0, outs = 0;
  // Sends (TX) or reads (RX) in an owner thread's time of a socket that is not the
  // owners' (a softirq sending another socket's TCP ACK while the VPN's thread ran): not
  // the VPN's, neither outs nor ins.
  uint64_t other_sockets = 0;
  std::array<Pairing, 2> by{};  // [0] per process, [1] per thread

  // Per thread when that pairs at least 90 % of both sides and its p50 is at most twice
  // per process's (a VPN whose threads hand packets over leaves per-thread queues waiting
  // for sends that never come, and pairs stale reads); per process otherwise.
  bool by_thread() const;
  const Pairing& chosen() const { return by[by_thread() ? 1 : 0]; }
};

struct VpnStats {
  // TX ring waits (xmit -> read) split by the reading thread's state, ns.
  StateSplit ring;
  uint64_t ring_packets = 0;
  std::array<PairStats, 2> cost;  // by Dir
  // Packets the owners moved: TX reads and RX writes (their threads' pids seen in TL_SCHED).
  uint64_t moved = 0;
  // CPUs: where packets were queued and read (TX), injected and received (RX softirq).
  uint64_t tx_crossed = 0, tx_both = 0, rx_crossed = 0, rx_both = 0;
  std::map<uint16_t, uint64_t> tx_read_cpus, rx_receive_cpus;
};

// What follows from VpnStats and the timeline over a trace of duration_ns: the numbers the
// JSON, the report and the findings share.
struct VpnFigures {
  uint64_t running_ns = 0;  // the owners' threads on a CPU, all together
  double cores = 0;         // running_ns / duration: CPUs' worth in use
  uint32_t busiest_tid = 0, busiest_pid = 0;
  double busiest_share = 0;                      // of one CPU: the busiest thread's running time / duration
  uint16_t busiest_cpu = 0;                      // where the owners ran most
  double busiest_cpu_share = 0;                  // of their running time
  uint64_t moved = 0;                            // packets the owners moved (TX reads, RX writes)
  double cpu_per_packet_ns = 0;                  // running_ns / moved
  double capacity_pps = 0;                       // 1 s / cpu_per_packet_ns: on one core, all of it
  double capacity_mbit_s = 0;                    // the trace's TX+RX Mbit/s scaled to that rate
  std::array<double, kTaskStates> ring_share{};  // of the TX ring wait
  uint64_t ring_ns = 0;
  int ring_state = kStateUnknown;  // the state holding most of the ring wait
  uint32_t top_other = 0;          // the task not the VPN's that ran most while the reader was runnable
  double top_other_share = 0;      // of the ring wait
  double own_threads_share = 0;    // of the ring wait: the VPN's other threads ran instead
};

// A pair as it is made: a packet's time at its VPN, for the tunnel (core/tunnel/). The
// device's side names the packet: TX its read (in_ts), RX its write (out_ts).
struct VpnPair {
  Dir dir;
  int way;  // as PairStats::by: 0 per process, 1 per thread
  uint64_t skb;
  uint32_t gen;
  uint64_t in_ts, out_ts;
};
class VpnPairSink {
 public:
  virtual ~VpnPairSink() = default;
  virtual void on_pair(const VpnPair& p) = 0;
};

class VpnAnalysis : public JourneySink {
 public:
  // In arrival order: the owners' doings, packets entering or leaving a VPN (passes at
  // TL_READ and TL_INJECT; others are passed over), and comms.
  void on_sched(const OwnerSched& s);
  void on_send(const UnderlaySend& s);
  void on_read(const UnderlayRead& r);
  void on_pass(const PacketPass& p);
  void on_comm(const CommRecord& c);
  void on_journey(const Journey& j, End how) override;
  void finish(uint64_t start_ns, uint64_t end_ns);

  // The inodes of the sockets the owners held when the trace started: their underlay.
  // Sends from other sockets are left out (PairStats::other_sockets); none known: all count.
  void set_underlay_sockets(const std::vector<uint64_t>& inodes);
  // Where each pair goes as it is made (nowhere unless set).
  void set_pair_sink(VpnPairSink* sink) { pair_sink_ = sink; }
  bool has_sched() const { return !timeline_.empty(); }
  const SchedTimeline& timeline() const { return timeline_; }
  const VpnStats& stats() const { return stats_; }
  std::string thread_comm(uint32_t tid) const;  // from TL_COMM, else ""
  // mbit_s: the device's TX+RX rate over the trace, for the capacity in Mbit/s.
  VpnFigures figures(uint64_t duration_ns, double mbit_s) const;

 private:
  // A packet taken in or passed on: when, and by whom.
  // skb, gen: the device's packet (TX read, RX write), else 0.
  struct Move {
    uint64_t ts_ns;
    uint32_t pid, tid;
    uint64_t skb = 0;
    uint32_t gen = 0;
  };
  // A packet taken in, waiting to be passed on (24 bytes: deques of them are the hot path).
  struct In {
    uint64_t ts_ns;
    uint64_t skb;
    uint32_t tid;
    uint32_t gen;
  };
  static constexpr size_t kMaxWaiting = 4096;                         // per queue
  static constexpr size_t kMaxQueues = 1024;                          // per way of pairing
  using Queues = std::map<std::pair<uint32_t, int>, std::deque<In>>;  // (pid or tid, dir)
  void take_in(Dir d, const Move& e);
  void pass_on(Dir d, const Move& e);
  static void queue_in(Queues& qs, std::pair<uint32_t, int> key, const Move& e, Pairing& p);
  void pair_out(Queues& qs, int way, std::pair<uint32_t, int> key, const Move& e, Pairing& p);
  void note_owner(uint32_t pid) {
    if (owner_pids_.size() < 1024) owner_pids_[pid] = true;
  }
  bool is_owner(uint32_t pid) const { return pid && owner_pids_.count(pid); }
  // A send or underlay read of the VPN's own sockets (or of a socket not recorded).
  bool of_underlay(const UnderlayIo& io) const {
    return !io.socket || underlay_.empty() || underlay_.count(*io.socket);
  }

  SchedTimeline timeline_;
  VpnStats stats_;
  std::map<uint32_t, bool> owner_pids_;  // pids seen in TL_SCHED/TL_SEND/TL_UREAD
  std::array<Queues, 2> waiting_;        // as PairStats::by: per (pid, dir), per (tid, dir)
  std::set<uint64_t> underlay_;
  std::map<uint32_t, std::array<char, TL_COMM_LEN>> comms_;
  VpnPairSink* pair_sink_ = nullptr;
};

}  // namespace tunlat
